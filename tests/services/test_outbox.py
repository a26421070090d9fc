"""The outbox against the loopback fake Slack: every invitation goes out once, whatever Slack
answers and wherever the sender dies, and the leader hears once about what could not be
delivered."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest

from bot.outbox import LEASE, RATE_LIMITED_TRIES, OutboxSender
from bot.pacing import Limit, Pacer
from bot.services import fanout
from bot.slack_client import outbox_client
from storage import outbox, rounds, templates
from storage.db import Database
from tests.fakeslack import FakeSlack

from .conftest import NOW, TEAM, Clock

STAFF = [f"U0OUT{i:02d}" for i in range(12)]
LEADER = "U0LEAD"


@pytest.fixture
def fake():
    slack = FakeSlack().start()
    slack.add_user(LEADER, "lead", is_admin=True)
    for user in STAFF:
        slack.add_user(user, user.lower())
    try:
        yield slack
    finally:
        slack.stop()


@pytest.fixture
def clock():
    return Clock()


def _sender(db: Database, fake: FakeSlack, clock: Clock) -> OutboxSender:
    client = outbox_client(fake.api_url, fake.bot_token)
    return OutboxSender(db, lambda team_id: client, pacer=Pacer(rate_per_second=1000, burst=1000), clock=clock,
                        inline=True)


def _round_with_invitations(db: Database, people: list[str]) -> int:
    with db.session() as s:
        stored = templates.latest_template(s, TEAM, "icp-core")
        rnd = rounds.create_round(s, TEAM, stored.id, title="Q1", created_by=LEADER, opened_at=NOW)
        rounds.add_participants(s, rnd.id, [(u, None) for u in people])
        fanout.enqueue_invitations(s, rnd, stored.template, people, notify_user=LEADER, now=NOW)
        return rnd.id


def _invitations(fake: FakeSlack) -> dict[str, int]:
    counts: dict[str, int] = {}
    for call in fake.calls_to("chat.postMessage"):
        if call.response.get("ok") and call.params.get("channel") in STAFF:
            counts[call.params["channel"]] = counts.get(call.params["channel"], 0) + 1
    return counts


def _invited(db: Database, round_id: int) -> set[str]:
    with db.session(read_only=True) as s:
        return {p.user_id for p in rounds.list_participants(s, round_id) if p.invite_ts}


def test_each_invitation_once_and_each_participant_marked(db, fake, clock):
    round_id = _round_with_invitations(db, STAFF)
    result = _sender(db, fake, clock).drain()
    assert result.sent == 12 and _invitations(fake) == dict.fromkeys(STAFF, 1)
    assert _invited(db, round_id) == set(STAFF)
    assert _sender(db, fake, clock).drain().sent == 0  # nothing left, nothing doubled
    with db.session() as s:  # enqueueing the same invitations again is a no-op
        rnd = rounds.require_round(s, round_id)
        template = templates.get_template(s, rnd.template_id)
        assert fanout.enqueue_invitations(s, rnd, template, STAFF, notify_user=LEADER, now=NOW) == 0


def test_a_server_error_mid_fan_out_is_retried_and_the_rest_go_on(db, fake, clock):
    round_id = _round_with_invitations(db, STAFF)
    sender = _sender(db, fake, clock)
    assert sender.drain(max_messages=4).sent == 4
    fake.fail_next("chat.postMessage", status=503)
    first = sender.drain()
    assert (first.sent, first.retried) == (7, 1)
    assert len(_invited(db, round_id)) == 11
    clock.now += timedelta(minutes=1)  # past the backoff
    assert sender.drain().sent == 1
    assert _invitations(fake) == dict.fromkeys(STAFF, 1) and _invited(db, round_id) == set(STAFF)


def test_a_sender_killed_mid_fan_out_is_resumed_by_the_next_one(db, fake, clock):
    round_id = _round_with_invitations(db, STAFF)
    assert _sender(db, fake, clock).drain(max_messages=3).sent == 3
    with db.session() as s:  # a fourth one claimed, then the process died (kill -9)
        dying = outbox.claim(s, outbox.due(s, clock.now)[0], clock.now, LEASE)
        assert dying is not None
    restarted = _sender(db, fake, clock)
    assert restarted.drain().sent == 8  # the others at once
    clock.now += LEASE + timedelta(seconds=1)  # the dead sender's lease runs out
    assert restarted.drain().sent == 1
    assert _invitations(fake) == dict.fromkeys(STAFF, 1) and _invited(db, round_id) == set(STAFF)


def test_a_429_holds_the_workspace_for_its_retry_after_and_the_message_goes_out_once(db, fake, clock):
    _round_with_invitations(db, STAFF[:1])
    fake.fail_next("chat.postMessage", status=429, retry_after=0, times=2)
    sender = _sender(db, fake, clock)
    assert sender.drain().sent == 1  # tried again in the same pass, after the Retry-After
    bucket = sender.pacer.bucket(f"{TEAM}:chat.postMessage")
    assert bucket.rate < bucket.configured_rate  # and slower for a while
    assert _invitations(fake) == dict.fromkeys(STAFF[:1], 1)


def test_rate_limited_again_and_again_goes_back_to_the_outbox_then_sent_once(db, fake, clock):
    _round_with_invitations(db, STAFF[:1])
    fake.fail_next("chat.postMessage", status=429, retry_after=0, times=RATE_LIMITED_TRIES)
    sender = _sender(db, fake, clock)
    first = sender.drain()
    assert (first.retried, first.sent) == (1, 0)
    assert sender.drain().sent == 0  # due again only after the backoff
    clock.now += timedelta(seconds=30)
    assert sender.drain().sent == 1
    assert _invitations(fake) == dict.fromkeys(STAFF[:1], 1)


def test_a_retry_after_longer_than_half_the_lease_is_waited_for_in_the_outbox_not_holding_the_claim(db, fake, clock):
    _round_with_invitations(db, STAFF[:1])
    fake.fail_next("chat.postMessage", status=429, retry_after=int(LEASE.total_seconds()))
    first = _sender(db, fake, clock).drain()  # returns at once: nothing waits two minutes holding the claim
    assert (first.sent, first.retried) == (0, 0)
    with db.session(read_only=True) as s:
        message = outbox.find(s, f"{TEAM}:invite:{STAFF[0]}:round-1")
        assert message.status == "pending" and message.due_at >= NOW + LEASE / 2
    clock.now += LEASE + timedelta(seconds=1)
    assert _sender(db, fake, clock).drain().sent == 1  # another process, past the Retry-After
    assert _invitations(fake) == dict.fromkeys(STAFF[:1], 1)


def test_messages_to_one_conversation_arrive_in_the_order_enqueued(db, fake, clock):
    _round_with_invitations(db, STAFF)  # calls in flight to the others meanwhile
    with db.session() as s:
        for n in range(6):
            outbox.enqueue(s, key=f"{TEAM}:note:{LEADER}:{n}", team_id=TEAM, kind="note", method="chat.postMessage",
                           target=LEADER, payload={"args": {"channel": LEADER, "text": f"note {n}"}}, at=NOW)
    assert _sender(db, fake, clock).drain().sent == 18
    assert [m.text for m in fake.messages(LEADER)] == [f"note {n}" for n in range(6)]


def test_unreachable_people_are_given_up_and_the_leader_told_once(db, fake, clock):
    gone = ["U0GONE1", "U0GONE2"]  # not in the workspace: chat.postMessage answers channel_not_found
    round_id = _round_with_invitations(db, STAFF[:3] + gone)
    sender = _sender(db, fake, clock)
    result = sender.drain()
    assert (result.sent, result.gave_up, result.reported) == (4, 2, 1)  # 3 invitations + the notice
    notices = [m.text for m in fake.messages(LEADER)]
    assert len(notices) == 1
    assert notices[0].startswith(f"2 of 5 invitations of round {round_id} could not be delivered")
    assert sender.drain().sent == 0 and len(fake.messages(LEADER)) == 1


def test_two_senders_at_once_send_each_message_once(db, fake, clock):
    round_id = _round_with_invitations(db, STAFF)
    senders = [_sender(db, fake, clock) for _ in range(2)]
    barrier = threading.Barrier(2)

    def run(sender):
        barrier.wait(timeout=10)
        sender.drain()

    threads = [threading.Thread(target=run, args=(s,)) for s in senders]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert _invitations(fake) == dict.fromkeys(STAFF, 1) and _invited(db, round_id) == set(STAFF)


def test_a_started_sender_stops_when_asked_after_sending(db, fake, clock):
    _round_with_invitations(db, STAFF[:3])
    client = outbox_client(fake.api_url, fake.bot_token)
    sender = OutboxSender(db, lambda team_id: client, pacer=Pacer(rate_per_second=1000, burst=1000))
    sender.kick()  # starts the thread
    fake.wait_for(lambda: _invitations(fake) == dict.fromkeys(STAFF[:3], 1), timeout=10)
    sender.stop(timeout=5)
    assert not sender._thread.is_alive()  # not asleep for its idle 30 s


def test_on_postgresql_a_kick_wakes_the_senders_of_the_other_processes(db, fake, clock):
    """Another process's sender, asleep for its idle 30 s, sends at once when this one kicks."""
    if db.dialect != "postgresql":
        pytest.skip("LISTEN/NOTIFY: PostgreSQL only")
    client = outbox_client(fake.api_url, fake.bot_token)
    elsewhere = OutboxSender(db, lambda team_id: client, pacer=Pacer(rate_per_second=1000, burst=1000))
    here = OutboxSender(db, lambda team_id: None)  # this process: it only enqueues and kicks
    here._thread = threading.current_thread()  # as if started: kick() must not start a sender here
    elsewhere.start()
    try:
        fake.wait_for(lambda: not elsewhere._drain_lock.locked()  # its first pass is over: asleep
                      and any("LISTEN" in (q or "") for q in _queries(db)), timeout=10)
        _round_with_invitations(db, STAFF[:2])
        here.kick()
        fake.wait_for(lambda: _invitations(fake) == dict.fromkeys(STAFF[:2], 1), timeout=10)
    finally:
        elsewhere.stop()


def _queries(db: Database) -> list[str]:
    from sqlalchemy import text

    with db.engine.connect() as conn:
        return list(conn.execute(text("SELECT query FROM pg_stat_activity WHERE datname = current_database()"))
                    .scalars())


def test_a_method_paced_far_ahead_holds_back_neither_other_methods_nor_their_claims(db, fake):
    """A close's chat.updates at Tier 3 (here 1 every 10 s) waiting for their slots: the same
    workspace's next invitation is claimed and posted meanwhile, not after the last update."""
    with db.session() as s:
        for n in range(6):
            outbox.enqueue(s, key=f"{TEAM}:closed:U{n}:round-1", team_id=TEAM, kind="closed", method="chat.update",
                           target=f"U{n}", payload={"args": {"channel": f"D{n}", "ts": "1.000001", "text": "closed"}},
                           at=NOW - timedelta(minutes=1))
        outbox.enqueue(s, key=f"{TEAM}:invite:{STAFF[0]}:round-2", team_id=TEAM, kind="invite-test",
                       method="chat.postMessage", target=STAFF[0], payload={"args": {"channel": STAFF[0], "text": "hi"}},
                       at=NOW)
    client = outbox_client(fake.api_url, fake.bot_token)
    sender = OutboxSender(db, lambda team_id: client, pacer=Pacer(limits={"chat.update": Limit(6, 1)}), workers=1)
    sender.start()
    try:
        posted = fake.wait_for(lambda: fake.messages(STAFF[0]) or None, timeout=8)
        assert posted[0].text == "hi"
        assert len(fake.calls_to("chat.update")) <= 2  # the updates still keep to their pace
    finally:
        sender.stop(timeout=5)


def test_a_full_queue_waiting_for_its_slots_does_not_spin_on_kicks(db, fake, monkeypatch):
    """Every step kicks the sender (something new is due). While the pass's queue is full of
    chat.updates waiting for their Tier 3 slots, nothing can be claimed, so a kick must not wake
    it again and again: it waits for the next slot (it used to spin, scanning its queue, for as
    long as the kicks kept coming: a third of the bot's CPU under load)."""
    from bot import outbox_pass

    with db.session() as s:
        for n in range(12):
            outbox.enqueue(s, key=f"{TEAM}:closed:U{n}:round-1", team_id=TEAM, kind="closed", method="chat.update",
                           target=f"U{n}", payload={"args": {"channel": f"D{n}", "ts": "1.000001", "text": "closed"}},
                           at=NOW - timedelta(minutes=1))
    waits = []
    real = outbox_pass.SendPass._wait_and_settle

    def counted(self):
        waits.append(len(self.queue))
        return real(self)

    monkeypatch.setattr(outbox_pass.SendPass, "_wait_and_settle", counted)
    client = outbox_client(fake.api_url, fake.bot_token)
    sender = OutboxSender(db, lambda team_id: client, pacer=Pacer(limits={"chat.update": Limit(60, 1)}), workers=2)
    sender.start()
    try:
        fake.wait_for(lambda: fake.calls_to("chat.update") or None, timeout=8)
        before, stop = len(waits), threading.Event()

        def kicks():
            while not stop.wait(0.002):
                sender.kick()

        kicker = threading.Thread(target=kicks)
        kicker.start()
        stop.wait(1.0)
        stop.set()
        kicker.join()
        # at 1 update a second, about one slot falls due in that second: a few waits, not hundreds
        assert len(waits) - before < 40, len(waits) - before  # it was 333,091
        assert len(fake.calls_to("chat.update")) <= 3  # and the updates keep to their pace
    finally:
        sender.stop(timeout=5)
