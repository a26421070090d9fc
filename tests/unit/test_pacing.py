"""The pacer books slots at Slack's rates, holds a workspace for a 429's Retry-After and slows
it down, and comes back to the configured rate as calls go through (a fake clock: no sleeping)."""

from __future__ import annotations

import pytest

from bot.pacing import POST_MESSAGE, SLOW_DOWN, Limit, Pacer, TokenBucket, limit_of


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def test_a_burst_then_one_slot_every_interval():
    clock = Clock()
    bucket = TokenBucket(5.0, 3, clock=clock)
    assert [bucket.reserve() for _ in range(3)] == [0.0, 0.0, 0.0]
    assert [round(bucket.reserve(), 6) for _ in range(3)] == [0.2, 0.4, 0.6]  # booked ahead
    clock.now += 0.6
    assert bucket.reserve() == pytest.approx(0.2)
    assert bucket.backlog() == pytest.approx(0.4)  # what the next one would wait; nothing booked


def test_wait_sleeps_until_the_slot():
    clock = Clock()
    bucket = TokenBucket(2.0, 1, clock=clock, sleep=clock.sleep)
    assert bucket.wait() == 0.0
    assert bucket.wait() == pytest.approx(0.5)
    assert clock.now == pytest.approx(100.5)


def test_a_429_holds_the_key_for_the_retry_after_then_slower_then_back_up():
    clock = Clock()
    bucket = TokenBucket(10.0, 10, clock=clock)
    bucket.penalize(2.0)
    assert bucket.reserve() == pytest.approx(2.0 + 1 / (10 * SLOW_DOWN))  # nothing before the Retry-After
    assert bucket.rate == pytest.approx(10 * SLOW_DOWN)
    for _ in range(100):
        bucket.went_through()
    assert bucket.rate == pytest.approx(10.0)  # never above the configured rate


def test_repeated_429s_never_stop_a_key():
    bucket = TokenBucket(8.0, 1, clock=Clock())
    for _ in range(50):
        bucket.penalize(0)
    assert bucket.rate == pytest.approx(1.0)  # an eighth of the configured rate at worst


def test_slacks_limits_by_method_and_the_settings_override_them():
    assert limit_of("T1:chat.postMessage") == POST_MESSAGE
    assert limit_of("T1:chat.postMessage:D123") == Limit(60, 3)  # 1 a second to one channel
    assert limit_of("T1:users.list") == Limit(20, 20)  # Tier 2
    assert limit_of("T1:usergroups.users.list") == Limit(20, 20)
    assert limit_of("T1:chat.update") == Limit(50, 50)  # Tier 3
    pacer = Pacer(limits={"chat.postMessage": Limit(120, 2)}, clock=Clock())
    assert pacer.bucket("T1:chat.postMessage").rate == pytest.approx(2.0)
    assert pacer.bucket("T1:chat.postMessage").burst == 2


def test_each_workspace_and_channel_has_its_own_bucket():
    pacer = Pacer(clock=Clock())
    channel = Limit(60, 3)
    for _ in range(channel.burst):
        assert pacer.reserve("T1:chat.postMessage", "T1:chat.postMessage:C1") == 0.0
    assert pacer.reserve("T1:chat.postMessage", "T1:chat.postMessage:C1") == pytest.approx(1.0)  # the channel
    assert pacer.reserve("T1:chat.postMessage", "T1:chat.postMessage:C2") == 0.0
    assert pacer.reserve("T2:chat.postMessage", "T2:chat.postMessage:C1") == 0.0


def test_a_limit_needs_a_rate_and_a_burst():
    with pytest.raises(ValueError, match="positive rate"):
        Limit(0, 5)
    with pytest.raises(ValueError, match="both a rate and a burst"):
        Pacer(5.0)
