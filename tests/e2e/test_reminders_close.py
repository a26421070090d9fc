"""7. Reminders go to those who have not finished, at most max_reminders each, never after
close; closing refuses late submissions and turns open invitations into closed notices."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import update

from bot.app import create_app
from bot.outbox import OutboxSender
from bot.pacing import Pacer
from bot.settings import Mode, Settings
from bot.slack_client import outbox_client
from storage.models import SurveyRound
from tests.fakeslack import InlineExecutor, SlackClientSim

from .helpers import (
    LEADER,
    SECRET,
    SECTION_CALLBACK,
    STAFF,
    action_ids,
    answer_round,
    blocks_text,
    command,
    designed_answers,
    message_with,
    open_modal,
    participants,
    reminders_go_out_now,
    round_status,
    start_round,
    stored_answers,
)
from .leader_steps import close_round


def _posts_since(fake, before: int) -> list:
    return fake.calls_to("chat.postMessage")[before:]


def test_reminders_then_close(world, open_round):
    fake, sim, db = world.fake, world.sim, world.db
    reminders_go_out_now(db)
    finished, pending = STAFF[:6], STAFF[6:]
    for i, user in enumerate(finished):
        answer_round(sim, fake, user, designed_answers(i))
    # one of the four has started but not finished
    answer_round(sim, fake, pending[0], designed_answers(6), stop_after=2, expect_done=False)
    sim.close_view(pending[0])

    for n in (1, 2):
        before = len(fake.calls_to("chat.postMessage"))
        response = command(fake, sim, LEADER, "remind")
        assert response["text"] == "4 reminders queued; they go out now."
        posts = _posts_since(fake, before)
        assert sorted(c.params["channel"] for c in posts) == sorted("D" + u for u in pending)
        assert all(c.response["ok"] for c in posts)
        assert all(p.reminders_sent == (n if u in pending else 0)
                   for u, p in participants(db, open_round).items())
    # what the reminders say: "Continue" for the one who started, "Start" for the others
    started_reminder = fake.messages(pending[0])[-1]
    assert "pick up where you left off" in blocks_text(started_reminder.blocks)
    assert "Reminder" in started_reminder.text
    assert "pick up where you left off" not in blocks_text(fake.messages(pending[1])[-1].blocks)
    assert all(len(fake.messages(u)) == 3 for u in pending)  # invitation + 2 reminders
    assert all(len(fake.messages(u)) == 1 for u in finished)  # just the receipt

    before = len(fake.calls_to("chat.postMessage"))
    response = command(fake, sim, LEADER, "remind")  # max_reminders (2) reached
    assert response["text"].startswith("Nobody to remind")
    assert _posts_since(fake, before) == []

    # someone has a section open when the round closes
    late = pending[1]
    sim.click(late, message_with(fake, late, "survey_start"), "survey_start")
    open_modal(sim, late, SECTION_CALLBACK)

    updates_before = len(fake.calls_to("chat.update"))
    response = close_round(fake, sim)  # asks first (Slack's confirmation dialog), then closes
    assert response["text"].startswith("Closed *") and "6 of 10 finished" in response["text"]
    assert round_status(db, open_round) == "closed"
    # every invitation (10) and every reminder DM (4 x 2) is updated once the round is closed
    updates = Counter((c.params["channel"], c.params["ts"]) for c in fake.calls_to("chat.update")[updates_before:])
    assert len(updates) == 18 and set(updates.values()) == {1}
    assert {(m.channel, m.ts) for u in STAFF for m in fake.messages(u)} == set(updates)
    for user in pending:
        for dm in fake.messages(user):  # the invitation and both reminders
            assert "is closed" in dm.text and action_ids(dm.blocks) == []
    for user in finished:
        receipt = fake.messages(user)[0]
        assert "saved" in receipt.text and action_ids(receipt.blocks) == []  # no Edit any more
        assert "The round is closed" in blocks_text(receipt.blocks)

    before = len(fake.calls_to("chat.postMessage"))
    response = command(fake, sim, LEADER, "remind")
    assert response["text"] == "No round is open, so there is nobody to remind."
    assert _posts_since(fake, before) == []

    # the late submission is refused with a notice, and nothing is stored
    ack = sim.submit(late, values={"q:value_drivers": ["spend"], "q:top20_revenue_share": "60"})
    assert ack.response_action == "update"
    assert ack["view"]["callback_id"] == "notice"
    assert "closed" in blocks_text(ack["view"]["blocks"])
    assert stored_answers(db, late, open_round) == {}

    # closing again is harmless
    response = close_round(fake, sim, open_round)
    assert response["text"] == f"Round {open_round} was already closed."


def test_no_answers_after_the_close_date(world, open_round):
    fake, sim, db = world.fake, world.sim, world.db
    with db.session() as s:
        s.execute(update(SurveyRound).where(SurveyRound.id == open_round)
                  .values(closes_at=datetime.now(UTC) - timedelta(hours=1)))
    # no reminders past the close date, and the leader is told why
    response = command(fake, sim, LEADER, "remind")
    assert "past its close date" in response["text"]
    user = STAFF[0]
    sim.click(user, message_with(fake, user, "survey_start"), "survey_start")
    assert fake.current_view(user).callback_id == "notice"


# -- a leader's reminders in each person's working hours, with a clock the test sets ---------

# Friday 4 December 2026, 16:00 UTC: 11:00 in New York, 01:00 on Saturday in Tokyo.
FRIDAY = datetime(2026, 12, 4, 16, 0, tzinfo=UTC)
MONDAY_9_TOKYO = datetime(2026, 12, 7, 0, 0, tzinfo=UTC)
TOKYO = STAFF[:3]


class Clock:
    def __init__(self, now: datetime):
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def frozen(fake, db):
    """The app and its outbox on one clock the test moves; three of the staff in Tokyo."""
    for user in TOKYO:
        fake.add_user(user, user.lower(), tz="Asia/Tokyo")
    clock = Clock(FRIDAY)
    settings = Settings(_env_file=None, slack_bot_token=fake.bot_token, slack_signing_secret=SECRET,
                        slack_api_url=fake.api_url)
    client = outbox_client(fake.api_url, fake.bot_token)
    sender = OutboxSender(db, lambda team_id: client, pacer=Pacer(1000, 1000), clock=clock, inline=True)
    app = create_app(settings, db=db, mode=Mode.HTTP, listener_executor=InlineExecutor(), clock=clock,
                     outbox=sender)
    sim = SlackClientSim(fake, app=app, signing_secret=SECRET, command="/icp-check")
    return clock, sender, sim


def _reminders_to(fake, users) -> dict[str, int]:
    return {u: sum(1 for m in fake.messages(u) if "reminder:" in str(m.metadata)) for u in users}


def test_the_leaders_reminders_reach_each_person_in_working_hours_and_close_once(fake, db, frozen):
    clock, sender, sim = frozen
    round_id = start_round(fake, sim)
    new_york = [u for u in STAFF if u not in TOKYO]
    assert {u: p.tz for u, p in participants(db, round_id).items()} == {
        u: "Asia/Tokyo" if u in TOKYO else "America/New_York" for u in STAFF}

    response = command(fake, sim, LEADER, "remind")
    assert response["text"] == ("10 reminders queued; 7 go out now, 3 in their working hours "
                                "(from 09:00 their time).")
    assert _reminders_to(fake, STAFF) == {u: 0 if u in TOKYO else 1 for u in STAFF}

    clock.now = MONDAY_9_TOKYO - timedelta(seconds=1)  # Sunday night... and 08:59:59 on Monday in Tokyo
    assert sender.drain().sent == 0
    clock.now = MONDAY_9_TOKYO
    assert sender.drain().sent == 3
    assert _reminders_to(fake, STAFF) == {u: 1 for u in STAFF}

    clock.now = MONDAY_9_TOKYO + timedelta(minutes=30)  # 09:30 in Tokyo, Sunday 19:30 in New York
    response = command(fake, sim, LEADER, "remind")
    assert response["text"] == ("10 reminders queued; 3 go out now, 7 in their working hours "
                                "(from 09:00 their time).")
    assert _reminders_to(fake, TOKYO) == {u: 2 for u in TOKYO}

    clock.now = MONDAY_9_TOKYO + timedelta(hours=1)
    updates_before = len(fake.calls_to("chat.update"))
    assert close_round(fake, sim)["text"].startswith("Closed *")
    # each invitation (10) and each reminder DM that went out (10 + 3) turned closed, once
    updates = Counter((c.params["channel"], c.params["ts"]) for c in fake.calls_to("chat.update")[updates_before:])
    assert len(updates) == 23 and set(updates.values()) == {1}
    assert all("is closed" in m.text for u in STAFF for m in fake.messages(u))

    # the 7 reminders that waited for Monday 09:00 in New York never go out
    clock.now = datetime(2026, 12, 7, 15, 0, tzinfo=UTC)
    assert sender.drain().sent == 0
    assert _reminders_to(fake, new_york) == {u: 1 for u in new_york}
    assert not [m for m in fake.messages(LEADER) if "could not be delivered" in m.text]
    assert sender.drain().sent == 0 and len(fake.calls_to("chat.update")) == updates_before + 23
