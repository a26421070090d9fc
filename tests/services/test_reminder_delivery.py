"""Reminders and closed notices between the services and the outbox sender: the queue's
answer to the leader, a reminder that reaches Slack while its round closes, and what a
close leaves to send."""

from __future__ import annotations

import threading
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
from slack_sdk import WebClient

from bot.outbox import OutboxSender
from bot.pacing import Pacer
from bot.services import closing, delivery, reminders
from bot.slack_client import outbox_client
from storage import outbox, rounds, templates, workspaces
from storage.db import Database
from tests.fakeslack import FakeSlack

from .conftest import TEAM

LEADER = "U0LEAD"
PEOPLE = ["U0REM01", "U0REM02", "U0REM03", "U0REM04"]
# Wednesday 2 December 2026, 23:00 UTC: 18:00 in New York (after hours), 08:00 on Thursday in Tokyo.
WEDNESDAY = datetime(2026, 12, 2, 23, 0, tzinfo=UTC)


@pytest.fixture
def fake():
    slack = FakeSlack().start()
    slack.add_user(LEADER, "lead", is_admin=True)
    for user in PEOPLE:
        slack.add_user(user, user.lower())
    try:
        yield slack
    finally:
        slack.stop()


def _sender(db: Database, client: WebClient, now: datetime) -> OutboxSender:
    return OutboxSender(db, lambda team_id: client, pacer=Pacer(1000, 1000), clock=lambda: now, inline=True)


def _invited_round(db: Database, fake: FakeSlack, zones: dict[str, str]) -> int:
    """A round whose invitations reached everyone (posted for real in the fake)."""
    with db.session() as s:
        stored = templates.latest_template(s, TEAM, "icp-core")
        rnd = rounds.create_round(s, TEAM, stored.id, title="Q4", created_by=LEADER, opened_at=WEDNESDAY,
                                  closes_at=WEDNESDAY + timedelta(days=7))
        rounds.add_participants(s, rnd.id, [(u, None) for u in PEOPLE], time_zones=zones)
        from bot.services import fanout

        fanout.enqueue_invitations(s, rnd, stored.template, PEOPLE, notify_user=LEADER, now=WEDNESDAY)
        round_id = rnd.id
    assert _sender(db, outbox_client(fake.api_url, fake.bot_token), WEDNESDAY).drain().sent == 4
    return round_id


def test_the_reply_says_how_many_go_now_and_how_many_wait(db, fake):
    round_id = _invited_round(db, fake, {u: "Asia/Tokyo" if u == PEOPLE[0] else "America/New_York"
                                         for u in PEOPLE})
    now = WEDNESDAY + timedelta(hours=1, minutes=30)  # 09:30 Thursday in Tokyo, 19:30 in New York
    first = reminders.remind(db, TEAM, round_id, now=now, requested_by=LEADER)
    assert (first.queued.now, first.queued.later) == (1, 3)
    assert first.reply == "4 reminders queued; 1 goes out now, 3 in their working hours (from 09:00 their time)."
    # again before they went out: nobody gets a second reminder queued behind the first
    again = reminders.remind(db, TEAM, round_id, now=now + timedelta(minutes=1), requested_by=LEADER)
    assert again.queued.queued == 0 and again.queued.already == 4
    assert again.reply == "Nobody new to remind: 4 already have a reminder waiting for their working hours."
    with db.session(read_only=True) as s:
        assert [p.reminders_sent for p in rounds.list_participants(s, round_id)] == [1, 1, 1, 1]
        assert outbox.pending_count(s, round_id=round_id, kind="reminder") == 4

    with db.session() as s:  # working hours off: now for everyone
        workspaces.update_workspace(s, TEAM, working_hours=None)
    client = outbox_client(fake.api_url, fake.bot_token)
    assert _sender(db, client, now + timedelta(days=1)).drain().sent == 4
    off = reminders.remind(db, TEAM, round_id, now=now + timedelta(days=1), requested_by=LEADER)
    assert off.reply == "4 reminders queued; they go out now."


class ClosesDuringTheCall(WebClient):
    """A client whose first chat.postMessage lets a leader close the round while Slack has the
    reminder: the sender checked the round before the call, and the close saw nothing sent."""

    def __init__(self, db: Database, round_id: int, **kwargs):
        super().__init__(**kwargs)
        self.db, self.round_id, self.closed = db, round_id, None
        self._lock = threading.Lock()  # the sender has several calls in flight at once

    def chat_postMessage(self, **kwargs):  # noqa: N802 - slack_sdk's name
        with self._lock:
            if self.closed is None:
                self.closed = closing.close_round(self.db, TEAM, self.round_id, WEDNESDAY + timedelta(hours=2))
        return super().chat_postMessage(**kwargs)


def test_invitations_that_reach_slack_while_the_round_closes_get_their_closed_notices(db, fake):
    """The sender settles a batch of invitations together and reads their round once for the
    batch: each one that reached Slack after the close still gets its notice, exactly once."""
    with db.session() as s:
        stored = templates.latest_template(s, TEAM, "icp-core")
        rnd = rounds.create_round(s, TEAM, stored.id, title="Q4", created_by=LEADER, opened_at=WEDNESDAY,
                                  closes_at=WEDNESDAY + timedelta(days=7))
        rounds.add_participants(s, rnd.id, [(u, None) for u in PEOPLE])
        from bot.services import fanout

        fanout.enqueue_invitations(s, rnd, stored.template, PEOPLE, notify_user=LEADER, now=WEDNESDAY)
        round_id = rnd.id
    client = ClosesDuringTheCall(db, round_id, base_url=fake.api_url, token=fake.bot_token)

    _sender(db, client, WEDNESDAY + timedelta(hours=2)).drain()
    assert client.closed is not None and client.closed.was_open and client.closed.notices == 0
    posted = [c for c in fake.calls_to("chat.postMessage") if "invite:" in str(c.params.get("metadata"))]
    assert len(posted) >= 1 and len(posted) + client.closed.cancelled == 4
    updates = Counter((c.params["channel"], c.params["ts"]) for c in fake.calls_to("chat.update"))
    assert set(updates) == {(c.response["channel"], c.response["ts"]) for c in posted}
    assert set(updates.values()) == {1}
    with db.session(read_only=True) as s:  # each marked invited, with the DM its notice replaced
        invited = {p.user_id: p.invite_ts for p in rounds.list_participants(s, round_id) if p.invite_ts}
    assert sorted(invited.values()) == sorted(c.response["ts"] for c in posted)


def test_a_reminder_that_reaches_slack_while_the_round_closes_gets_its_closed_notice(db, fake):
    round_id = _invited_round(db, fake, {u: "America/New_York" for u in PEOPLE})
    with db.session() as s:
        workspaces.update_workspace(s, TEAM, working_hours=None)
    assert reminders.remind(db, TEAM, round_id, now=WEDNESDAY, requested_by=LEADER).queued.now == 4
    client = ClosesDuringTheCall(db, round_id, base_url=fake.api_url, token=fake.bot_token)

    _sender(db, client, WEDNESDAY + timedelta(hours=2)).drain()
    assert client.closed is not None and client.closed.was_open
    # The sender claims a few messages ahead: the reminders it already held went to Slack during
    # the close; the close cancelled those still queued. Each one that reached Slack, and each
    # invitation, got its closed notice exactly once.
    posted = [c for c in fake.calls_to("chat.postMessage") if "reminder:" in str(c.params.get("metadata"))]
    assert len(posted) >= 1 and len(posted) + client.closed.cancelled == 4
    assert client.closed.notices == 4
    updates = Counter((c.params["channel"], c.params["ts"]) for c in fake.calls_to("chat.update"))
    assert all((c.response["channel"], c.response["ts"]) in updates for c in posted)
    assert len(updates) == 4 + len(posted) and set(updates.values()) == {1}
    assert all("is closed" in m.text for u in PEOPLE for m in fake.messages(u))
    assert _sender(db, client, WEDNESDAY + timedelta(hours=3)).drain().sent == 0
    with db.session(read_only=True) as s:  # the skipped ones are not "undelivered": the leader hears nothing
        assert outbox.undelivered_to_report(s) == []
    assert not [m for m in fake.messages(LEADER) if "could not be delivered" in m.text]


def test_a_receipt_goes_out_once_and_a_close_before_it_leaves_only_the_closed_receipt(db, fake):
    round_id = _invited_round(db, fake, {u: "America/New_York" for u in PEOPLE})
    client = outbox_client(fake.api_url, fake.bot_token)
    with db.session() as s:
        for user in PEOPLE[:2]:
            rounds.mark_completed(s, round_id, user, at=WEDNESDAY)
        invitations = {p.user_id: (p.dm_channel, p.invite_ts) for p in rounds.list_participants(s, round_id)}
    now = WEDNESDAY + timedelta(minutes=5)
    first, second = PEOPLE[:2]
    assert delivery.queue_receipt(db, TEAM, round_id, first, *invitations[first], now=now)
    assert not delivery.queue_receipt(db, TEAM, round_id, first, *invitations[first], now=now)  # once
    assert not delivery.queue_receipt(db, "T0OTHER", round_id, first, *invitations[first], now=now)
    fake.fail_next("chat.update", status=500, retry_after=None)  # a passing fault: tried again later
    assert _sender(db, client, now).drain().retried == 1
    assert _sender(db, client, now + timedelta(minutes=5)).drain().sent == 1
    assert "Edit my answers" in str(fake.messages(first)[0].blocks)

    # the second finisher's receipt is still queued when the round closes: the close cancels it
    assert delivery.queue_receipt(db, TEAM, round_id, second, *invitations[second], now=now)
    closed = closing.close_round(db, TEAM, round_id, now + timedelta(minutes=6))
    assert closed is not None and closed.cancelled == 1 and closed.notices == 4
    assert not delivery.queue_receipt(db, TEAM, round_id, second, *invitations[second], now=now)
    assert _sender(db, client, now + timedelta(minutes=7)).drain().sent == 4
    updates = Counter((c.params["channel"], c.params["ts"]) for c in fake.calls_to("chat.update")
                      if c.response.get("ok"))
    assert updates[invitations[second]] == 1 and updates[invitations[first]] == 2  # its receipt, then closed
    for user in (first, second):
        receipt = fake.messages(user)[0]
        assert "The round is closed" in str(receipt.blocks) and "Edit my answers" not in str(receipt.blocks)


def test_nobody_is_queued_a_reminder_that_would_arrive_after_the_close(db, fake):
    """Friday 16:00 UTC, the round closes at 20:00 UTC: Tokyo's next working morning is
    Monday, after the close, so Tokyo is not reminded; New York (11:00) is, at once."""
    round_id = _invited_round(db, fake, {u: "Asia/Tokyo" if u in PEOPLE[:2] else "America/New_York"
                                         for u in PEOPLE})
    friday = datetime(2026, 12, 4, 16, 0, tzinfo=UTC)
    with db.session() as s:
        rounds.require_round(s, round_id).closes_at = friday + timedelta(hours=4)
    reminded = reminders.remind(db, TEAM, round_id, now=friday, requested_by=LEADER)
    assert (reminded.queued.now, reminded.queued.later, reminded.queued.too_late) == (2, 0, 2)
    assert reminded.reply == ("2 reminders queued; they go out now. 2 would only get it after the round closes "
                              "(their working hours start later), so were not reminded.")
    with db.session(read_only=True) as s:
        assert {p.user_id: p.reminders_sent for p in rounds.list_participants(s, round_id)} == {
            u: 0 if u in PEOPLE[:2] else 1 for u in PEOPLE}
    nobody = reminders.remind(db, TEAM, round_id, now=friday + timedelta(minutes=1), requested_by=LEADER)
    assert nobody.reply == ("Nobody reminded. 2 already had one waiting. 2 would only get it after the round "
                            "closes (their working hours start later), so were not reminded.")
