"""Pacing: call Slack at the rate it allows instead of hammering it and retrying.

Slack's limits apply per method, per workspace, per app (docs.slack.dev/apis/web-api/rate-limits):

- ``chat.postMessage`` is "special": about 1 message per second to one channel (short bursts
  allowed), and a workspace-wide limit of "several hundred messages per minute", with
  "generous burst behavior". Every DM is its own channel, so during a fan-out the workspace
  limit binds; a digest channel that gets two posts at once is held by the channel limit;
- ``chat.update`` is Tier 3 (50+ a minute), ``users.info`` Tier 4 (100+),
  ``users.list`` and ``usergroups.users.list`` Tier 2 (20+ a minute, occasional bursts).

A ``TokenBucket`` per key (``"<team>:<method>"``, and ``"<team>:chat.postMessage:<channel>"``)
hands out *slots*: ``reserve()`` takes a token now or books the next one and says how long to
wait for it, so a sender can keep many calls in flight and start each at its slot without a
thread asleep per call. The limits are settings (``bot.settings``: ``ICP_POST_PER_MINUTE``...)
because Slack does not publish its exact burst; when Slack answers 429 anyway, ``penalize``
holds the key for the Retry-After and slows the key down (multiplicative decrease), and every
call that goes through speeds it up again towards the configured rate (additive increase).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Limit:
    per_minute: float
    burst: int

    def __post_init__(self) -> None:
        if self.per_minute <= 0 or self.burst < 1:
            raise ValueError(f"a rate limit needs a positive rate and a burst of at least 1, not {self}")


# Slack's documented rates, and the bursts the fake Slack of the tests models
# (tests/fakeslack/ratelimit.py). The workspace burst of chat.postMessage is not published:
# override it (ICP_POST_BURST) where Slack answers 429 before it.
POST_MESSAGE = Limit(300, 300)  # workspace-wide
POST_MESSAGE_CHANNEL = Limit(60, 3)  # 1 a second to one channel, short bursts
TIERS = {1: Limit(1, 3), 2: Limit(20, 20), 3: Limit(50, 50), 4: Limit(100, 100)}
METHOD_TIERS = {"chat.update": 3, "chat.delete": 3, "conversations.open": 3, "conversations.history": 3,
                "users.info": 4, "users.list": 2, "usergroups.list": 2, "usergroups.users.list": 2,
                "conversations.members": 4, "views.publish": 4}

SLOWEST_FRACTION = 0.125  # a key is never slowed below 1/8 of its configured rate
SLOW_DOWN = 0.75  # each 429: rate x 0.75
SPEED_UP = 0.02  # each call that went through: + 2% of the configured rate


class TokenBucket:
    """``burst`` tokens, refilled at ``rate_per_second``; ``reserve`` may book tokens ahead."""

    def __init__(self, rate_per_second: float, burst: int, clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep):
        if rate_per_second <= 0 or burst < 1:
            raise ValueError("rate must be positive and burst at least 1")
        self.configured_rate = self.rate = rate_per_second
        self.burst = burst
        self._tokens = float(burst)
        self._clock = clock
        self._sleep = sleep
        self._updated = clock()
        self._blocked_until = float("-inf")
        self._lock = threading.Lock()

    def _refill(self, now: float) -> None:
        start = max(self._updated, self._blocked_until)
        if now > start:
            self._tokens = min(self.burst, self._tokens + (now - start) * self.rate)
            self._updated = now

    def _delay(self, now: float) -> float:
        """Seconds from ``now`` until the tokens booked so far are all paid back."""
        return max(0.0, self._blocked_until - now) + max(0.0, -self._tokens) / self.rate

    def reserve(self) -> float:
        """Book one token: 0 when it is free now, else the seconds until its slot."""
        with self._lock:
            now = self._clock()
            self._refill(now)
            self._tokens -= 1
            return self._delay(now)

    def backlog(self) -> float:
        """Seconds a call booked now would wait (nothing is booked)."""
        with self._lock:
            now = self._clock()
            self._refill(now)
            return max(0.0, self._blocked_until - now) + max(0.0, 1 - self._tokens) / self.rate

    def wait(self) -> float:
        """Take one token, sleeping until its slot; returns the time slept."""
        delay = self.reserve()
        if delay > 0:
            self._sleep(delay)
        return delay

    def release(self) -> None:
        """Give back a token booked with ``reserve`` and not used."""
        with self._lock:
            self._tokens = min(self.burst, self._tokens + 1)

    def penalize(self, retry_after: float) -> None:
        """Slack answered 429: nothing goes out for ``retry_after`` s, then at a lower rate."""
        with self._lock:
            now = self._clock()
            self._refill(now)
            self._blocked_until = max(self._blocked_until, now + max(0.0, retry_after))
            self._tokens = min(self._tokens, 0.0)
            self.rate = max(self.configured_rate * SLOWEST_FRACTION, self.rate * SLOW_DOWN)

    def went_through(self) -> None:
        """A call paced by this bucket succeeded: back towards the configured rate."""
        if self.rate < self.configured_rate:
            with self._lock:
                self.rate = min(self.configured_rate, self.rate + self.configured_rate * SPEED_UP)


def limit_of(key: str, limits: dict[str, Limit] | None = None) -> Limit:
    """The limit for ``"<team>:<method>"`` or ``"<team>:chat.postMessage:<channel>"``."""
    parts = key.split(":")
    method = parts[1] if len(parts) > 1 else parts[0]
    per_channel = method == "chat.postMessage" and len(parts) > 2
    name = "chat.postMessage:channel" if per_channel else method
    if limits and name in limits:
        return limits[name]
    if per_channel:
        return POST_MESSAGE_CHANNEL
    if method == "chat.postMessage":
        return POST_MESSAGE
    return TIERS[METHOD_TIERS.get(method, 3)]


class Pacer:
    """One bucket per key, created on first use.

    ``Pacer()`` paces each method at Slack's limits (``limits`` overrides them by method name,
    ``"chat.postMessage:channel"`` for the per-channel one); ``Pacer(rate, burst)`` gives every
    key that one rate, for tests and one-off commands."""

    def __init__(self, rate_per_second: float | None = None, burst: int | None = None, *,
                 limits: dict[str, Limit] | None = None, clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep):
        if (rate_per_second is None) != (burst is None):
            raise ValueError("give both a rate and a burst, or neither")
        self.uniform = Limit(rate_per_second * 60, burst) if rate_per_second is not None and burst else None
        self.limits = dict(limits or {})
        self._clock, self._sleep = clock, sleep
        self._buckets: dict[str, TokenBucket] = {}
        self._lock = threading.Lock()

    def bucket(self, key: str) -> TokenBucket:
        with self._lock:
            bucket = self._buckets.get(key)
            if bucket is None:
                limit = self.uniform or limit_of(key, self.limits)
                bucket = self._buckets[key] = TokenBucket(limit.per_minute / 60, limit.burst,
                                                          clock=self._clock, sleep=self._sleep)
            return bucket

    def reserve(self, *keys: str) -> float:
        """Book a slot on every one of ``keys`` (a workspace's method and a channel); the
        seconds until all of them allow the call."""
        return max(self.bucket(key).reserve() for key in keys)

    def backlog(self, key: str) -> float:
        return self.bucket(key).backlog()

    def wait(self, key: str) -> float:
        return self.bucket(key).wait()

    def release(self, *keys: str) -> None:
        for key in keys:
            self.bucket(key).release()

    def penalize(self, key: str, retry_after: float) -> None:
        self.bucket(key).penalize(retry_after)

    def went_through(self, key: str) -> None:
        self.bucket(key).went_through()
