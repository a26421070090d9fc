"""The staff's side (issue 18): closing a step keeps what was entered, questions that follow
from earlier answers, jumping to a step while editing, and the invitation saying so."""

from __future__ import annotations

import json
from typing import Any

from tests.fakeslack.client import fill_view

from .helpers import (
    SECTION_CALLBACK,
    STAFF,
    ViewRecord,
    answer_round,
    blocks_text,
    chat_updates,
    designed_answers,
    input_element,
    message_with,
    open_modal,
    participants,
    question_ids,
    stored_answers,
)


def _type(view: ViewRecord, values: dict[str, Any]) -> None:
    """The person fills in ``values`` (question id -> value) without submitting."""
    view.state_values = {**view.state_values, **fill_view(view, {f"q:{q}": v for q, v in values.items()})}


def _prefilled(view: ViewRecord, qid: str) -> Any:
    element = input_element(view, qid)
    if "initial_option" in element:
        return element["initial_option"]["value"]
    if "initial_options" in element:
        return sorted(o["value"] for o in element["initial_options"])
    return element.get("initial_value")


def _canonical(value: Any) -> Any:
    return sorted(value) if isinstance(value, list) else value


def test_each_step_closed_with_answers_reopens_with_them(world, open_round):
    """Every step: type all but the last required answer, close, Continue, find them pre-filled."""
    fake, sim, db = world.fake, world.sim, world.db
    user, answers = STAFF[2], designed_answers(2)
    invitation = message_with(fake, user, "survey_start")
    sim.click(user, invitation, "survey_start")
    view = open_modal(fake, user, SECTION_CALLBACK)
    closed_steps = 0
    while view is not None and view.callback_id == SECTION_CALLBACK:
        asked = question_ids(view)
        close = view.definition["close"]["text"]
        assert view.definition["notify_on_close"] is True and "Save" in close, close
        typed = {q: answers[q] for q in asked[:-1]}
        _type(view, typed)
        response = sim.close_view(user)
        assert response is not None and response.status == 200
        kept = stored_answers(db, user, open_round)
        for qid, value in typed.items():
            assert str(_canonical(kept[qid])) == str(_canonical(value)) or float(kept[qid]) == float(value), qid
        assert asked[-1] not in kept
        closed_steps += 1

        # Continue: the same step opens (its last question is still unanswered), pre-filled
        sim.click(user, message_with(fake, user, "survey_start"), "survey_start")
        view = open_modal(fake, user, SECTION_CALLBACK)
        assert question_ids(view) == asked
        for qid, value in typed.items():
            shown = _prefilled(view, qid)
            assert shown == _canonical(value) or float(shown) == float(value), (qid, shown, value)
        ack = sim.submit(user, values={f"q:{asked[-1]}": answers[asked[-1]]})
        assert ack.response_action == "update", dict(ack)
        view = fake.current_view(user)
    assert closed_steps == 5
    assert view is not None and view.callback_id == "survey_done"
    assert participants(db, open_round)[user].completed_at is not None
    assert len(stored_answers(db, user, open_round)) == 20


def test_closing_drops_invalid_values_and_tells_the_invitation(world, open_round):
    fake, sim, db = world.fake, world.sim, world.db
    user = STAFF[4]
    invitation = message_with(fake, user, "survey_start")
    before = len(chat_updates(fake, invitation.channel))
    sim.click(user, invitation, "survey_start")
    view = open_modal(fake, user, SECTION_CALLBACK)
    # a value Slack's client would refuse, forged into the state: dropped, the rest kept
    _type(view, {"value_drivers": ["spend", "tenure"]})
    view.state_values["q:top20_revenue_share"] = {"answer": {"type": "number_input", "value": "150"}}
    sim.close_view(user)
    assert stored_answers(db, user, open_round) == {"value_drivers": ["spend", "tenure"]}

    update = fake.wait_for(lambda: chat_updates(fake, invitation.channel)[before:] or None, timeout=10)[-1]
    text = update.params["text"]
    assert "saved" in text and "min" in text, text
    blocks = json.loads(update.params["blocks"]) if isinstance(update.params["blocks"], str) \
        else update.params["blocks"]
    assert "Continue" in blocks_text(blocks)
    home = fake.wait_for(lambda: fake.home_views.get(user), timeout=10)
    assert "Continue" in blocks_text(home.blocks)


def test_closing_an_untouched_step_saves_nothing(world, open_round):
    fake, sim, db = world.fake, world.sim, world.db
    user = STAFF[6]
    sim.click(user, message_with(fake, user, "survey_start"), "survey_start")
    open_modal(fake, user, SECTION_CALLBACK)
    sim.close_view(user)
    assert stored_answers(db, user, open_round) == {}


def test_regions_only_after_a_reach_beyond_local(world, open_round):
    fake, sim, db = world.fake, world.sim, world.db
    local, national = STAFF[0], STAFF[1]
    answer_round(sim, fake, local, {**designed_answers(0), "geographic_reach": "local"})
    answer_round(sim, fake, national, designed_answers(1))
    assert "regions" not in stored_answers(db, local, open_round)
    assert stored_answers(db, national, open_round)["regions"] == ["europe"]
    assert participants(db, open_round)[local].completed_at is not None
    assert len(stored_answers(db, local, open_round)) == 19

    # an edit to "local" clears the regions answer it no longer asks for
    receipt = fake.messages(national)[0]
    sim.click(national, receipt, "survey_edit")
    view = open_modal(fake, national, SECTION_CALLBACK)
    sim.submit(national)  # step 1 as it is
    view = fake.current_view(national)
    assert "geographic_reach" in question_ids(view)
    sim.submit(national, values={"q:geographic_reach": "local"})
    view = fake.current_view(national)
    assert "regions" not in question_ids(view)
    assert "regions" not in stored_answers(db, national, open_round)


def test_edit_jumps_to_the_step_wanted_keeping_this_one(world, open_round):
    fake, sim, db = world.fake, world.sim, world.db
    user, answers = STAFF[3], designed_answers(3)
    answer_round(sim, fake, user, answers)
    sim.click(user, fake.messages(user)[0], "survey_edit")
    view = open_modal(fake, user, SECTION_CALLBACK)
    assert json.loads(view.private_metadata)["mode"] == "edit"
    jump = next(b for b in view.blocks if b.get("block_id") == "jump")
    options = jump["elements"][0]["options"]
    assert [o["value"] for o in options] == ["1", "2", "3", "4"]
    assert all(len(o["text"]["text"]) <= 40 for o in options)

    _type(view, {"top20_revenue_share": "55"})  # changed here, then jump away
    sim.click(user, view, "survey_jump", value="3")
    after = fake.wait_for(lambda: "deal_size" in question_ids(fake.current_view(user)) or None, timeout=10)
    assert after
    view = fake.current_view(user)
    assert question_ids(view) == ["why_us", "deal_size", "acquisition_cost"]
    assert float(_prefilled(view, "deal_size")) == float(answers["deal_size"])
    assert stored_answers(db, user, open_round)["top20_revenue_share"] == 55
