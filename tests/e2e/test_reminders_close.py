"""7. Reminders go to those who have not finished, at most max_reminders each, never after
close; closing refuses late submissions and turns open invitations into closed notices."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import update

from storage.models import SurveyRound

from .helpers import (
    LEADER,
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
    round_status,
    stored_answers,
)
from .leader_steps import close_round


def _posts_since(fake, before: int) -> list:
    return fake.calls_to("chat.postMessage")[before:]


def test_reminders_then_close(world, open_round):
    fake, sim, db = world.fake, world.sim, world.db
    finished, pending = STAFF[:6], STAFF[6:]
    for i, user in enumerate(finished):
        answer_round(sim, fake, user, designed_answers(i))
    # one of the four has started but not finished
    answer_round(sim, fake, pending[0], designed_answers(6), stop_after=2, expect_done=False)
    sim.close_view(pending[0])

    for n in (1, 2):
        before = len(fake.calls_to("chat.postMessage"))
        response = command(fake, sim, LEADER, "remind")
        assert response["text"] == "Reminded 4 people who have not finished."
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
    # every invitation (10) is updated once the round is closed
    updates = fake.calls_to("chat.update")[updates_before:]
    assert sorted(c.params["channel"] for c in updates) == sorted("D" + u for u in STAFF)
    for user in pending:
        invitation = fake.messages(user)[0]
        assert "is closed" in invitation.text and action_ids(invitation.blocks) == []
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

    # clicking Start on a reminder of the closed round opens the notice too
    sim.click(pending[2], message_with(fake, pending[2], "survey_start"), "survey_start")
    notice = open_modal(sim, pending[2], "notice")
    assert "closed" in blocks_text(notice.blocks)

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
