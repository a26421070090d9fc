"""StrategyCheck pulses: the topic is the last round's biggest split, DMs go in each person's
working hours, one click saves an answer, and the team's answers show only above the threshold."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.services import pulses, survey_steps, workspace_settings
from storage import outbox, rounds, templates
from storage.db import Database
from storage.models import OutboxMessage
from survey.pulse import one_click_options
from survey.template import load_builtin
from tests.e2e.helpers import designed_answers

TEAM = "T0001"
TEMPLATE = load_builtin("icp-core")
PEOPLE = [f"U0P{i:02d}" for i in range(10)]
# Wednesday 4 March 2026, 22:00 UTC: 17:00 in New York, so past its working hours
NIGHT_IN_NEW_YORK = datetime(2026, 3, 4, 22, 0, tzinfo=UTC)


def _closed_round(db: Database, now: datetime) -> int:
    with db.session() as s:
        stored = templates.latest_template(s, TEAM, "icp-core")
        rnd = rounds.create_round(s, TEAM, stored.id, title="Q1", created_by="U0LEAD",
                                  opened_at=now - timedelta(days=10))
        rounds.add_participants(s, rnd.id, [(u, None) for u in PEOPLE],
                                time_zones={u: "America/New_York" for u in PEOPLE})
        round_id = rnd.id
    for i, user in enumerate(PEOPLE):
        answers = designed_answers(i)
        for section, part in enumerate(TEMPLATE.sections):
            raw = {q.id: answers[q.id] for q in part.questions if q.id in answers}
            survey_steps.record_step(db, TEAM, user, round_id, section, raw, now=now - timedelta(days=9))
    with db.session() as s:
        rounds.close_round(s, round_id, at=now - timedelta(days=1))
    return round_id


def _pulse_messages(db: Database, round_id: int) -> list[OutboxMessage]:
    with db.session(read_only=True) as s:
        return list(s.query(OutboxMessage).filter(OutboxMessage.round_id == round_id, OutboxMessage.kind == "pulse"))


def test_now_means_now_and_otherwise_the_next_working_morning(db):
    _closed_round(db, NIGHT_IN_NEW_YORK)
    now = pulses.start_pulse(db, TEAM, NIGHT_IN_NEW_YORK, immediate=True, started_by="U0LEAD")
    assert now.people == 10
    assert {m.due_at for m in _pulse_messages(db, now.round_id)} == {NIGHT_IN_NEW_YORK}
    with pytest.raises(pulses.NoPulse, match="open already"):
        pulses.start_pulse(db, TEAM, NIGHT_IN_NEW_YORK, immediate=False, started_by=None)
    with db.session() as s:
        rounds.close_round(s, now.round_id, at=NIGHT_IN_NEW_YORK)
    later = pulses.start_pulse(db, TEAM, NIGHT_IN_NEW_YORK, immediate=False, started_by=None)
    # Thursday 09:00 in New York (EST, UTC-5)
    assert {m.due_at for m in _pulse_messages(db, later.round_id)} == {datetime(2026, 3, 5, 14, 0, tzinfo=UTC)}


def test_the_topic_is_one_the_team_did_not_agree_on(db):
    _closed_round(db, NIGHT_IN_NEW_YORK)
    started = pulses.start_pulse(db, TEAM, NIGHT_IN_NEW_YORK, immediate=True, started_by="U0LEAD")
    with db.session(read_only=True) as s:
        pulse = rounds.require_round(s, started.round_id)
        question = TEMPLATE.question(pulse.audience["question"])
    assert pulse.kind == "pulse" and question.kind in ("single", "scale")
    assert started.prompt in (question.short, question.prompt)


def test_one_click_answers_and_feedback_above_the_threshold(db):
    _closed_round(db, NIGHT_IN_NEW_YORK)
    started = pulses.start_pulse(db, TEAM, NIGHT_IN_NEW_YORK, immediate=True, started_by="U0LEAD")
    with db.session(read_only=True) as s:
        question_id = rounds.require_round(s, started.round_id).audience["question"]
    value = one_click_options(TEMPLATE, question_id)[0][0]
    first = pulses.record_answer(db, TEAM, PEOPLE[0], started.round_id, value, NIGHT_IN_NEW_YORK)
    assert first.shares is None  # one answer: not shown
    pulses.record_answer(db, TEAM, PEOPLE[1], started.round_id, value, NIGHT_IN_NEW_YORK)
    third = pulses.record_answer(db, TEAM, PEOPLE[2], started.round_id, value, NIGHT_IN_NEW_YORK)
    assert third.shares == [(first.chosen, 1.0)]
    with db.session(read_only=True) as s:
        done = [p for p in rounds.list_participants(s, started.round_id) if p.completed_at]
    assert len(done) == 3
    with pytest.raises(pulses.NoPulse, match="not one of the answers"):
        pulses.record_answer(db, TEAM, PEOPLE[3], started.round_id, "no-such-option", NIGHT_IN_NEW_YORK)
    with pytest.raises(pulses.NoPulse, match="not part"):
        pulses.record_answer(db, TEAM, "U0STRANGER", started.round_id, value, NIGHT_IN_NEW_YORK)
    with pytest.raises(pulses.NoPulse, match="closed"):
        pulses.record_answer(db, TEAM, PEOPLE[3], started.round_id, value, NIGHT_IN_NEW_YORK + timedelta(days=4))


def test_the_cadence_starts_pulses_off_until_turned_on(db):
    _closed_round(db, NIGHT_IN_NEW_YORK)
    assert pulses.start_due_pulses(db, NIGHT_IN_NEW_YORK) == []  # off by default
    workspace_settings.set_pulse_cadence(db, TEAM, 14)
    first = pulses.start_due_pulses(db, NIGHT_IN_NEW_YORK)
    assert len(first) == 1
    assert pulses.start_due_pulses(db, NIGHT_IN_NEW_YORK + timedelta(days=1)) == []  # one is open
    with db.session() as s:
        rounds.close_round(s, first[0], at=NIGHT_IN_NEW_YORK + timedelta(days=3))
    assert pulses.start_due_pulses(db, NIGHT_IN_NEW_YORK + timedelta(days=13)) == []  # not yet two weeks
    assert len(pulses.start_due_pulses(db, NIGHT_IN_NEW_YORK + timedelta(days=14))) == 1
    with db.session(read_only=True) as s:
        assert outbox.pending_count(s, kind="pulse") == 20


def test_no_closed_round_no_pulse(db):
    with pytest.raises(pulses.NoPulse, match="no round has closed"):
        pulses.start_pulse(db, TEAM, NIGHT_IN_NEW_YORK, immediate=True, started_by="U0LEAD")
    assert pulses.next_pulse_at(db, TEAM, NIGHT_IN_NEW_YORK) is None  # off: never due


def test_the_feedback_moves_in_steps_of_the_threshold(db):
    """A person who clicks again sees the team's answers change only when three more have
    answered: two looks never differ by one person's answer."""
    _closed_round(db, NIGHT_IN_NEW_YORK)
    started = pulses.start_pulse(db, TEAM, NIGHT_IN_NEW_YORK, immediate=True, started_by="U0LEAD")
    with db.session(read_only=True) as s:
        question_id = rounds.require_round(s, started.round_id).audience["question"]
    first, second = (value for value, _ in one_click_options(TEMPLATE, question_id)[:2])
    for i, user in enumerate(PEOPLE[:3]):  # one after the other, a minute apart
        pulses.record_answer(db, TEAM, user, started.round_id, first, NIGHT_IN_NEW_YORK + timedelta(minutes=i))
    later = NIGHT_IN_NEW_YORK + timedelta(minutes=10)
    seen = pulses.record_answer(db, TEAM, PEOPLE[0], started.round_id, first, later).shares
    pulses.record_answer(db, TEAM, PEOPLE[3], started.round_id, second, later)  # a 4th answer
    again = pulses.record_answer(db, TEAM, PEOPLE[0], started.round_id, first, later).shares
    assert seen == again and len(again) == 1  # the 4th answer does not show
