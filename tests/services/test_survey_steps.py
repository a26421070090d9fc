"""Recording survey steps: validation, one write per step, completion with the last step,
and refusals that change nothing."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import event, func, select, update

from bot.services import survey_steps
from storage.db import Database
from storage.models import Answer, RoundParticipant, SurveyRound
from survey.template import load_builtin
from tests.e2e.helpers import designed_answers

from .conftest import NOW, TEAM

TEMPLATE = load_builtin("icp-core")


def _raw(section: int, i: int = 0) -> dict:
    answers = designed_answers(i)
    return {q.id: answers[q.id] for q in TEMPLATE.sections[section].questions if q.id in answers}


def _answer_count(db: Database, user: str) -> int:
    with db.session(read_only=True) as s:
        return s.scalar(select(func.count()).select_from(Answer).where(Answer.user_id == user))


def _completed(db: Database, round_id: int, user: str) -> bool:
    with db.session(read_only=True) as s:
        return s.get(RoundParticipant, (round_id, user)).completed_at is not None


def _write_transactions(db: Database) -> list[str]:
    """Record every BEGIN the engine issues that is not read-only (SQLite: BEGIN IMMEDIATE)."""
    begun: list[str] = []

    @event.listens_for(db.engine, "begin")
    def _on_begin(conn):
        if not conn.get_execution_options().get("icp_read_only", False):
            begun.append("write")

    return begun


def test_open_step_prefills_the_assigned_team_and_starts_at_the_first_open_step(db, round_id):
    step = survey_steps.open_step(db, TEAM, "U1", round_id, mode="answer", now=NOW)
    assert step.section == 0 and step.shown == {"team": "sales"}
    survey_steps.record_step(db, TEAM, "U1", round_id, 0, _raw(0), now=NOW)
    assert survey_steps.open_step(db, TEAM, "U1", round_id, mode="answer", now=NOW).section == 1
    assert survey_steps.open_step(db, TEAM, "U1", round_id, mode="edit", now=NOW).section == 0


def test_each_step_is_one_write_and_the_last_one_completes(db, round_id):
    writes = _write_transactions(db)
    for section in range(len(TEMPLATE.sections)):
        before = len(writes)
        result = survey_steps.record_step(db, TEAM, "U2", round_id, section, _raw(section, 6), now=NOW)
        assert len(writes) - before == 1, f"step {section} opened {len(writes) - before} write transactions"
    assert result.outcome == "done" and result.completed_now and result.invitation == ("DU2", "1700000000.000100")
    assert _completed(db, round_id, "U2")
    again = survey_steps.record_step(db, TEAM, "U2", round_id, len(TEMPLATE.sections) - 1,
                                     _raw(len(TEMPLATE.sections) - 1, 6), now=NOW)
    assert again.outcome == "done" and not again.completed_now  # an edit keeps the first completion


def test_opening_a_step_never_writes(db, round_id):
    writes = _write_transactions(db)
    with db.session() as s:  # past its close date but not closed yet by the scheduler
        s.execute(update(SurveyRound).where(SurveyRound.id == round_id).values(closes_at=NOW - timedelta(hours=1)))
    writes.clear()
    with pytest.raises(survey_steps.Refused, match="closed"):
        survey_steps.open_step(db, TEAM, "U1", round_id, mode="answer", now=NOW)
    assert writes == []
    with db.session(read_only=True) as s:
        assert s.get(SurveyRound, round_id).status == "open"  # closing is the scheduler's job


def test_invalid_values_come_back_by_question_and_nothing_is_saved(db, round_id):
    raw = {**_raw(0), "top20_revenue_share": "250"}
    result = survey_steps.record_step(db, TEAM, "U3", round_id, 0, raw, now=NOW)
    assert result.outcome == "errors" and set(result.errors) == {"top20_revenue_share"}
    assert _answer_count(db, "U3") == 0


def test_the_last_step_with_required_answers_missing_goes_back_to_them(db, round_id):
    last = len(TEMPLATE.sections) - 1
    result = survey_steps.record_step(db, TEAM, "U4", round_id, last, _raw(last), now=NOW)
    assert result.outcome == "next" and result.next is not None and result.next.section == 0
    assert not _completed(db, round_id, "U4")


@pytest.mark.parametrize("who, team, message", [
    ("U9", TEAM, "not part of this survey round"),  # not invited
    ("U1", "T0OTHER", "not part of this survey round"),  # another workspace's round
])
def test_refusals_change_nothing(db, round_id, who, team, message):
    with pytest.raises(survey_steps.Refused, match=message):
        survey_steps.record_step(db, team, who, round_id, 0, _raw(0), now=NOW)
    assert _answer_count(db, who) == 0


def test_a_closed_round_or_an_out_of_range_step_is_refused(db, round_id):
    with pytest.raises(survey_steps.Refused, match="out of date"):
        survey_steps.record_step(db, TEAM, "U1", round_id, 99, {}, now=NOW)
    with pytest.raises(survey_steps.Refused, match="does not exist"):
        survey_steps.record_step(db, TEAM, "U1", round_id + 1000, 0, _raw(0), now=NOW)
    with pytest.raises(survey_steps.Refused, match="closed"):
        survey_steps.record_step(db, TEAM, "U1", round_id, 0, _raw(0), now=NOW + timedelta(days=8))
    assert _answer_count(db, "U1") == 0


def test_a_step_locked_out_by_another_process_says_busy_and_saves_nothing(db, round_id):
    """Another process's writer (here a plain sqlite3 connection, outside this process's
    queue) holds SQLite's write lock: BEGIN IMMEDIATE times out, and the step says busy."""
    import sqlite3

    if db.dialect != "sqlite":
        pytest.skip("the write lock of a whole database is SQLite's")
    other = sqlite3.connect(db.url.database, isolation_level=None)
    try:
        other.execute("BEGIN IMMEDIATE")
        with pytest.raises(survey_steps.Busy):
            survey_steps.record_step(db, TEAM, "U1", round_id, 0, _raw(0), now=NOW)
    finally:
        other.execute("ROLLBACK")
        other.close()
    assert _answer_count(db, "U1") == 0
    assert survey_steps.record_step(db, TEAM, "U1", round_id, 0, _raw(0), now=NOW).outcome == "next"


def test_a_step_waiting_too_long_for_the_lock_says_so_and_saves_nothing(db, round_id):
    import threading

    if db.dialect != "sqlite":
        pytest.skip("the write lock of a whole database is SQLite's")
    holding, release = threading.Event(), threading.Event()

    def hold_the_write_lock():
        with db.session() as s:
            s.execute(update(SurveyRound).where(SurveyRound.id == round_id).values(title="Q1 ICP check"))
            holding.set()
            release.wait(timeout=30)

    holder = threading.Thread(target=hold_the_write_lock)
    holder.start()
    try:
        assert holding.wait(timeout=10)
        with pytest.raises(survey_steps.Busy) as raised:
            survey_steps.record_step(db, TEAM, "U1", round_id, 0, _raw(0), now=NOW)
        assert raised.value.question_id == TEMPLATE.sections[0].questions[0].id
        assert "Not saved yet" in str(raised.value)
    finally:
        release.set()
        holder.join(timeout=30)
    assert _answer_count(db, "U1") == 0
    assert survey_steps.record_step(db, TEAM, "U1", round_id, 0, _raw(0), now=NOW).outcome == "next"
