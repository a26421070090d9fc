"""Keeping a closed step (``save_entered``): valid answers in one write, invalid ones dropped,
nothing stored ever cleared by closing; conditional questions skipped and cleared."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.services import survey_steps
from tests.e2e.helpers import designed_answers, stored_answers

from .conftest import NOW, TEAM
from .test_survey_steps import TEMPLATE, _raw, _write_transactions


def test_a_closed_step_keeps_its_valid_answers_in_one_write(db, round_id):
    writes = _write_transactions(db)
    raw = {"value_drivers": ["spend", "referrals"], "top20_revenue_share": "abc"}
    kept = survey_steps.save_entered(db, TEAM, "U2", round_id, 0, raw, now=NOW)
    assert writes == ["write"]
    assert kept.saved == ["value_drivers"] and kept.dropped == ["top20_revenue_share"]
    assert kept.started and not kept.completed and kept.invitation == ("DU2", "1700000000.000100")
    assert stored_answers(db, "U2", round_id) == {"value_drivers": ["referrals", "spend"]}


def test_closing_with_a_field_emptied_keeps_the_stored_answer(db, round_id):
    survey_steps.record_step(db, TEAM, "U2", round_id, 0, _raw(0), now=NOW)
    before = stored_answers(db, "U2", round_id)
    writes = _write_transactions(db)
    kept = survey_steps.save_entered(db, TEAM, "U2", round_id, 0, {"value_drivers": [], "top20_revenue_share": None},
                                     now=NOW)
    assert kept.saved == [] and writes == []  # nothing entered: no write at all
    assert stored_answers(db, "U2", round_id) == before


def test_a_closed_round_keeps_nothing(db, round_id):
    with pytest.raises(survey_steps.Refused):
        survey_steps.save_entered(db, TEAM, "U2", round_id, 0, _raw(0), now=NOW + timedelta(days=8))
    assert stored_answers(db, "U2", round_id) == {}


def test_another_workspace_or_step_out_of_range_is_refused(db, round_id):
    with pytest.raises(survey_steps.Refused):
        survey_steps.save_entered(db, "T0OTHER", "U2", round_id, 0, _raw(0), now=NOW)
    with pytest.raises(survey_steps.Refused):
        survey_steps.save_entered(db, TEAM, "U2", round_id, 0, _raw(0), now=NOW, jump_to=len(TEMPLATE.sections))
    assert stored_answers(db, "U2", round_id) == {}


def test_jumping_saves_this_step_and_opens_the_one_chosen(db, round_id):
    kept = survey_steps.save_entered(db, TEAM, "U3", round_id, 0, _raw(0), now=NOW, jump_to=3)
    assert kept.next is not None and kept.next.section == 3
    assert kept.next.shown["value_drivers"] == ["spend", "tenure"]


def test_the_regions_question_follows_the_reach(db, round_id):
    local = {**designed_answers(0), "geographic_reach": "local"}
    for section in range(2):
        survey_steps.record_step(db, TEAM, "U4", round_id, section,
                                 {q.id: local[q.id] for q in TEMPLATE.sections[section].questions}, now=NOW)
    step = survey_steps.open_step(db, TEAM, "U4", round_id, mode="answer", now=NOW)
    assert step.section == 2
    assert [q.id for q in survey_steps.shown_in(TEMPLATE, 2, step.shown)][0] == "buying_motivation"
    # a forged regions answer for someone who said "local" is not stored
    raw = {q.id: local[q.id] for q in TEMPLATE.sections[2].questions}
    result = survey_steps.record_step(db, TEAM, "U4", round_id, 2, raw, now=NOW)
    assert result.outcome == "next"
    assert "regions" not in stored_answers(db, "U4", round_id)
