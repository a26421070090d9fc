"""A survey step whose text answer is not text, or holds a NUL or a lone surrogate (a signed,
hand-made submission: Slack's client never sends one), is refused in the modal on that
question's block and nothing of the step is stored; closing the step keeps the valid
answers only."""

from __future__ import annotations

import json

import pytest

from bot.views.survey_modal import ACTION_ID
from tests.fakeslack import fill_view

from .helpers import STAFF, designed_answers, message_with, open_modal, question_ids, stored_answers

TEXT_QUESTION = "ideal_customer"
BAD = {
    "a dict": {"text": "Mid-size software companies"},
    "a list": ["Mid-size", "software"],
    "a number": 42,
    "a lone surrogate": json.loads('"Software \\ud800 companies"'),
    "a NUL": "Software\x00 companies",
}
MESSAGES = {"a lone surrogate": "contains a character that cannot be saved (U+D800); please retype it",
            "a NUL": "contains a character that cannot be saved (U+0000); please retype it"}


def _to_text_step(world, user: str):
    """Answer the steps before the one with the text question; that step's view."""
    fake, sim = world.fake, world.sim
    answers = designed_answers(STAFF.index(user))
    assert sim.click(user, message_with(fake, user, "survey_start"), "survey_start").status == 200
    view = open_modal(sim, user, "survey_section")
    for _ in range(20):
        if TEXT_QUESTION in question_ids(view):
            return view, answers
        ack = sim.submit(user, values={f"q:{q}": answers[q] for q in question_ids(view) if q in answers})
        assert ack.response_action == "update", dict(ack)
        view = fake.current_view(user)
    raise AssertionError("no step asks the text question")


def _payload(world, user, view, answers, bad, kind="view_submission"):
    values = fill_view(view, {f"q:{q}": answers[q] for q in question_ids(view) if q in answers})
    values[f"q:{TEXT_QUESTION}"][ACTION_ID]["value"] = bad
    api = {**view.to_api(), "state": {"values": values}}
    payload = {"type": kind, "team": {"id": world.fake.team_id}, "user": {"id": user},
               "api_app_id": world.fake.app_id, "view": api}
    if kind == "view_closed":
        payload["is_cleared"] = False
    else:
        payload["trigger_id"] = world.fake.new_trigger_id(user)
    return payload


@pytest.mark.parametrize("case", list(BAD))
def test_a_bad_text_answer_is_a_field_error_and_nothing_is_stored(world, open_round, case):
    user = STAFF[0]
    view, answers = _to_text_step(world, user)
    before = stored_answers(world.db, user, open_round)
    response = world.sim.send_interactive(_payload(world, user, view, answers, BAD[case]))
    assert response.status == 200
    assert response.json() == {"response_action": "errors", "errors": {
        f"q:{TEXT_QUESTION}": MESSAGES.get(case, "must be text")}}
    assert stored_answers(world.db, user, open_round) == before  # not half a step either


@pytest.mark.parametrize("case", ["a dict", "a lone surrogate", "a NUL"])
def test_closing_a_step_with_a_bad_text_answer_keeps_only_the_valid_ones(world, open_round, case):
    user = STAFF[1]
    view, answers = _to_text_step(world, user)
    response = world.sim.send_interactive(_payload(world, user, view, answers, BAD[case], kind="view_closed"))
    assert response.status == 200
    stored = stored_answers(world.db, user, open_round)
    assert TEXT_QUESTION not in stored
    others = [q for q in question_ids(view) if q in answers and q != TEXT_QUESTION]
    assert others and all(q in stored for q in others)
