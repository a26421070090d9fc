"""The outbox against a Slack that really misbehaves (tests/fakeslack's fault modes): a post
that Slack accepted but whose answer was a 500, was dropped or timed out is in the
conversation once after the sender finishes; a 429 is waited out and sent once; a digest
channel the bot cannot post to is given up at once and the leader told once how to fix it."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest

from bot.outbox import OutboxSender
from bot.pacing import Pacer
from bot.services import digest, fanout, workspace_settings
from bot.slack_client import outbox_client
from storage import outbox, rounds, templates
from storage.db import Database
from storage.models import OutboxMessage
from tests.fakeslack import FakeSlack

from .conftest import NOW, TEAM, Clock

STAFF = ["U0FLT01", "U0FLT02", "U0FLT03"]
LEADER = "U0LEAD"
DIGEST_CHANNEL = "C0DIGEST"


@pytest.fixture
def fake():
    slack = FakeSlack().start()
    slack.add_user(LEADER, "lead", is_admin=True)
    for user in STAFF:
        slack.add_user(user, user.lower())
    slack.add_channel(DIGEST_CHANNEL, "leadership", members=[LEADER])
    try:
        yield slack
    finally:
        slack.stop()


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def slept(monkeypatch) -> list[float]:
    """slack_sdk's Retry-After waits, recorded instead of slept."""
    waits: list[float] = []
    monkeypatch.setattr(time, "sleep", waits.append)
    return waits


def _sender(db: Database, fake: FakeSlack, clock: Clock, timeout: int = 15) -> OutboxSender:
    client = outbox_client(fake.api_url, fake.bot_token, timeout=timeout)
    return OutboxSender(db, lambda team_id: client, pacer=Pacer(rate_per_second=1000, burst=1000), clock=clock,
                        inline=True)


def _invite(db: Database, people: list[str]) -> int:
    with db.session() as s:
        stored = templates.latest_template(s, TEAM, "icp-core")
        rnd = rounds.create_round(s, TEAM, stored.id, title="Q1", created_by=LEADER, opened_at=NOW)
        rounds.add_participants(s, rnd.id, [(u, None) for u in people])
        fanout.enqueue_invitations(s, rnd, stored.template, people, notify_user=LEADER, now=NOW)
        return rnd.id


def _digest_channel(db: Database, channel: str = DIGEST_CHANNEL) -> None:
    current = workspace_settings.read(db, TEAM)
    workspace_settings.set_digest(db, TEAM, workspace_settings.parse_digest_args([f"<#{channel}>"], current), LEADER)


def _drain_until_settled(sender: OutboxSender, db: Database, clock: Clock, rounds_left: int = 10) -> None:
    """Drain, moving the clock past each backoff, until nothing is pending (bounded)."""
    for _ in range(rounds_left):
        sender.drain()
        with db.session(read_only=True) as s:
            if outbox.pending_count(s) == 0:
                return
        clock.now += timedelta(minutes=20)  # past the longest backoff
    raise AssertionError("the outbox did not settle")


FAULTS = {
    "accepted then 500": lambda fake, after: fake.accept_then_fail("chat.postMessage", after=after),
    "accepted then dropped": lambda fake, after: fake.accept_then_drop("chat.postMessage", after=after),
    # held past the sender's client timeout (1 s here)
    "accepted then timed out": lambda fake, after: fake.accept_then_drop("chat.postMessage", hold=None, after=after),
}


@pytest.mark.parametrize("fault", FAULTS)
def test_an_invitation_accepted_but_unanswered_is_in_the_dm_once(db, fake, clock, fault):
    round_id = _invite(db, STAFF)
    FAULTS[fault](fake, 1)  # the second invitation is posted, its answer lost
    sender = _sender(db, fake, clock, timeout=1)
    first = sender.drain()
    assert (first.sent, first.retried) == (2, 1)
    clock.now += timedelta(minutes=1)  # past the backoff
    again = sender.drain()
    assert (again.sent, again.found_sent) == (0, 1)  # found in the DM by its metadata, not posted again
    assert {user: len(fake.messages(user)) for user in STAFF} == dict.fromkeys(STAFF, 1)
    with db.session(read_only=True) as s:
        marked = {p.user_id: p.invite_ts for p in rounds.list_participants(s, round_id)}
    assert marked == {user: fake.messages(user)[0].ts for user in STAFF}  # the real message's ts
    clock.now += timedelta(days=1)
    assert sender.drain().sent == 0 and all(len(fake.messages(u)) == 1 for u in STAFF)


@pytest.mark.parametrize("fault", FAULTS)
def test_a_digest_accepted_but_unanswered_is_in_the_channel_once(db, fake, clock, fault):
    _digest_channel(db)
    assert digest.enqueue_now(db, TEAM, LEADER, NOW)
    FAULTS[fault](fake, 0)
    sender = _sender(db, fake, clock, timeout=1)
    assert sender.drain().retried == 1
    clock.now += timedelta(minutes=1)
    assert sender.drain().found_sent == 1
    posted = fake.messages(DIGEST_CHANNEL)
    assert len(posted) == 1 and posted[0].text.startswith("ICP alignment digest")
    with db.session(read_only=True) as s:
        (message,) = s.query(OutboxMessage).filter_by(kind="digest").all()
        assert (message.status, message.sent_ts) == ("sent", posted[0].ts)
    clock.now += timedelta(days=1)
    assert sender.drain().sent == 0 and len(fake.messages(DIGEST_CHANNEL)) == 1


def test_a_post_that_never_reached_slack_is_sent_again_once(db, fake, clock):
    """A 503 before Slack acted: nothing in the DM, so the check finds nothing and posts once."""
    _invite(db, STAFF[:1])
    fake.fail_next("chat.postMessage", status=503)
    sender = _sender(db, fake, clock)
    assert sender.drain().retried == 1 and fake.messages(STAFF[0]) == []
    clock.now += timedelta(minutes=1)
    assert sender.drain().sent == 1
    assert len(fake.messages(STAFF[0])) == 1
    assert len(fake.calls_to("conversations.history")) == 1  # it looked before re-posting


def test_a_429_is_waited_out_and_sent_once(db, fake, clock):
    """A 429 is certain (Slack did nothing): the sender waits its Retry-After (0 here; the long
    ones are in tests/services/test_outbox.py) and sends once, without looking in the channel."""
    _invite(db, STAFF[:1])
    _digest_channel(db)
    assert digest.enqueue_now(db, TEAM, LEADER, NOW)
    fake.fail_next("chat.postMessage", status=429, retry_after=0)
    sender = _sender(db, fake, clock)
    assert sender.drain().sent == 2
    assert len(fake.messages(STAFF[0])) == 1 and len(fake.messages(DIGEST_CHANNEL)) == 1
    assert len(fake.calls_to("chat.postMessage")) == 3  # the refused one, then each once
    assert fake.calls_to("conversations.history") == []


@pytest.mark.parametrize("setup, fix", [
    ("archived", "/icp-check digest #channel"),
    ("bot not in it", "/invite @ICP Align"),
    ("deleted", "/icp-check digest #channel"),
])
def test_a_digest_channel_it_cannot_post_to_is_given_up_and_the_leader_told_how_to_fix_it(db, fake, clock,
                                                                                            setup, fix):
    channel = "C0BROKEN"
    if setup != "deleted":
        fake.add_channel(channel, "old-leadership", members=[LEADER], archived=setup == "archived",
                         bot_member=setup != "bot not in it")
    _digest_channel(db, channel)
    assert digest.enqueue_now(db, TEAM, LEADER, NOW)
    sender = _sender(db, fake, clock)
    _drain_until_settled(sender, db, clock)
    for _ in range(3):  # days later: nothing is retried, nobody told twice
        clock.now += timedelta(days=1)
        sender.drain()
    posts_to_channel = [c for c in fake.calls_to("chat.postMessage") if c.params.get("channel") == channel]
    assert len(posts_to_channel) == 1
    (notice,) = [m.text for m in fake.messages(LEADER)]
    assert "digest" in notice and fix in notice


def _answered_round(db: Database, people: int = 4) -> None:
    """A round that ``people`` answered in full (the designed answers): a digest with figures."""
    from bot.services import survey_steps
    from survey.template import load_builtin
    from tests.e2e.helpers import designed_answers

    template = load_builtin("icp-core")
    with db.session() as s:
        stored = templates.latest_template(s, TEAM, "icp-core")
        rnd = rounds.create_round(s, TEAM, stored.id, title="Q1", created_by=LEADER,
                                  opened_at=NOW - timedelta(days=3))
        users = [f"U0ANS{i}" for i in range(people)]
        rounds.add_participants(s, rnd.id, [(u, None) for u in users])
        round_id = rnd.id
    for i, user in enumerate(users):
        answers = designed_answers(i)
        for section, part in enumerate(template.sections):
            raw = {q.id: answers[q.id] for q in part.questions if q.id in answers}
            survey_steps.record_step(db, TEAM, user, round_id, section, raw, now=NOW - timedelta(days=2))


@pytest.fixture
def chart_png(monkeypatch):
    """ICP_DIGEST_CHART_PNG=1: the digest's chart also as a PNG in its thread."""
    monkeypatch.setattr(digest, "CHART_PNG", True)


def _thread_files(fake: FakeSlack, parent_ts: str) -> list[dict]:
    return [f for m in fake.messages(DIGEST_CHANNEL) if m.thread_ts == parent_ts for f in m.files]


def test_the_digests_chart_goes_to_its_thread_as_a_png_with_alt_text(db, fake, clock, chart_png):
    _answered_round(db)
    _digest_channel(db)
    assert digest.enqueue_now(db, TEAM, LEADER, NOW)
    _drain_until_settled(_sender(db, fake, clock), db, clock)
    top = [m for m in fake.messages(DIGEST_CHANNEL) if m.thread_ts is None]
    assert len(top) == 1 and any(b["type"] == "data_visualization" for b in top[0].blocks)
    (png,) = _thread_files(fake, top[0].ts)
    stored = fake.files[png["id"]]
    assert stored["content"].startswith(b"\x89PNG\r\n\x1a\n") and stored["completed"]
    assert stored["alt_txt"].startswith("Bar chart of agreement per trait") and len(stored["alt_txt"]) <= 1000
    complete = fake.calls_to("files.completeUploadExternal")[0].params
    assert complete["channel_id"] == DIGEST_CHANNEL and complete["thread_ts"] == top[0].ts
    assert complete["initial_comment"]


def test_a_chart_upload_accepted_but_answered_500_is_in_the_thread_once(db, fake, clock, chart_png):
    _answered_round(db)
    _digest_channel(db)
    assert digest.enqueue_now(db, TEAM, LEADER, NOW)
    fake.accept_then_fail("files.completeUploadExternal")  # shared, then a 500
    sender = _sender(db, fake, clock)
    first = sender.drain()
    assert (first.sent, first.retried) == (1, 1)  # the digest, then its chart uncertain
    clock.now += timedelta(minutes=1)
    assert sender.drain().found_sent == 1  # found in the thread by its file name
    (top,) = [m for m in fake.messages(DIGEST_CHANNEL) if m.thread_ts is None]
    assert len(_thread_files(fake, top.ts)) == 1
    assert len(fake.calls_to("files.completeUploadExternal")) == 1


def test_without_the_setting_or_for_a_hidden_digest_there_is_no_chart(db, fake, clock):
    _answered_round(db)
    _digest_channel(db)
    assert digest.enqueue_now(db, TEAM, LEADER, NOW)  # ICP_DIGEST_CHART_PNG is off by default
    _drain_until_settled(_sender(db, fake, clock), db, clock)
    assert len(fake.messages(DIGEST_CHANNEL)) == 1 and fake.calls_to("files.getUploadURLExternal") == []


def test_a_hidden_digest_has_no_chart(db, fake, clock, chart_png):
    _answered_round(db, people=2)  # below the anonymity threshold
    _digest_channel(db)
    assert digest.enqueue_now(db, TEAM, LEADER, NOW)
    _drain_until_settled(_sender(db, fake, clock), db, clock)
    assert len(fake.messages(DIGEST_CHANNEL)) == 1 and fake.calls_to("files.getUploadURLExternal") == []
