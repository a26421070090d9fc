"""The staff's side (issue 18): closing a step keeps what was entered, questions that follow
from earlier answers, jumping to a step while editing, and the invitation saying so."""

from __future__ import annotations

import json
from typing import Any

from tests.fakeslack.client import fill_view

from .helpers import (
    LEADER,
    SECTION_CALLBACK,
    STAFF,
    ViewRecord,
    answer_round,
    blocks_text,
    chat_updates,
    command,
    designed_answers,
    input_element,
    message_with,
    open_modal,
    participants,
    question_ids,
    round_status,
    stored_answers,
)
from .leader_steps import CLOSE, close_round


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
    view = open_modal(sim, user, SECTION_CALLBACK)
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
        view = open_modal(sim, user, SECTION_CALLBACK)
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
    view = open_modal(sim, user, SECTION_CALLBACK)
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
    open_modal(sim, user, SECTION_CALLBACK)
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
    view = open_modal(sim, national, SECTION_CALLBACK)
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
    view = open_modal(sim, user, SECTION_CALLBACK)
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


# ------------------------------------------------------------------------------ leaders
def _actions(blocks: list[dict[str, Any]] | None) -> dict[str, dict[str, Any]]:
    return {el["action_id"]: el for b in blocks or [] if b.get("type") == "actions" for el in b["elements"]}


def test_close_asks_for_confirmation_before_closing(world, open_round):
    fake, sim, db = world.fake, world.sim, world.db
    question = command(fake, sim, LEADER, "close")
    assert question["response_type"] == "ephemeral"
    button = _actions(question["blocks"])[CLOSE]
    assert button["value"] == str(open_round) and button["style"] == "danger"
    assert {"title", "text", "confirm", "deny"} <= set(button["confirm"])
    assert round_status(db, open_round) == "open"  # nothing closed until the dialog is accepted
    assert "0 of 10 finished" in question["text"]

    closed = close_round(fake, sim)
    assert closed["text"].startswith("Closed *") and round_status(db, open_round) == "closed"
    assert not _actions(closed["blocks"])  # the question is replaced: no button to press twice


def test_close_button_refused_for_non_leader(world, open_round):
    fake, sim, db = world.fake, world.sim, world.db
    command(fake, sim, LEADER, "close")
    eph = fake.wait_for(lambda: next((e for e in fake.ephemerals(LEADER) if CLOSE in _actions(e.blocks)), None))
    # a staff member replays the leader's button (a forged click; Slack shows it to the leader only)
    user = STAFF[0]
    url = fake.new_response_url("actions", eph.channel, user, message_ts=eph.ts, is_ephemeral=True)
    payload = {
        "type": "block_actions", "api_app_id": fake.app_id, "token": "verification-token",
        "user": {"id": user, "username": user.lower(), "name": user.lower(), "team_id": fake.team_id},
        "team": {"id": fake.team_id, "domain": fake.team_domain}, "trigger_id": fake.new_trigger_id(user),
        "container": {"type": "message", "message_ts": eph.ts, "channel_id": eph.channel, "is_ephemeral": True},
        "channel": {"id": eph.channel, "name": "directmessage"}, "state": {"values": {}}, "response_url": url,
        "actions": [{**_actions(eph.blocks)[CLOSE], "block_id": "close_actions", "action_ts": "1.0"}],
    }
    assert sim.send_interactive(payload).status == 200
    refusal = fake.wait_for(lambda: fake.responses(url))[0]
    assert refusal["text"] == "Only ICP Align leaders can close rounds."
    assert round_status(db, open_round) == "open"


def test_help_is_short_with_buttons_for_the_next_step(world, open_round):
    fake, sim = world.fake, world.sim
    leader = command(fake, sim, LEADER, "help")
    assert set(_actions(leader["blocks"])) == {"round_status_button", "home_report", CLOSE}
    assert len(blocks_text(leader["blocks"])) < 600
    staff = command(fake, sim, STAFF[0], "help")
    assert set(_actions(staff["blocks"])) == {"survey_start"}  # their survey is the next step
    full = command(fake, sim, LEADER, "help all")["text"]
    assert "`/icp-check export [round]`" in full

    status_button = _actions(leader["blocks"])["round_status_button"]
    eph = fake.wait_for(lambda: next((e for e in fake.ephemerals(LEADER)
                                      if "round_status_button" in _actions(e.blocks)), None))
    sim.click(LEADER, {"channel": eph.channel, "ts": eph.ts}, "round_status_button")
    status = fake.wait_for(lambda: next((e for e in fake.ephemerals(LEADER) if "Invited: 10" in blocks_text(e.blocks)),
                                        None))
    assert status_button["value"] == str(open_round) and "finished: 0" in blocks_text(status.blocks)


def test_home_puts_what_the_viewer_can_act_on_first(world, open_round):
    fake, sim = world.fake, world.sim
    sim.home_opened(LEADER)  # the leader is not a participant of the round
    home = fake.wait_for(lambda: fake.home_views.get(LEADER))
    text = blocks_text(home.blocks)
    assert text.index("For leaders") < text.index("No survey is waiting for you")
    assert CLOSE in _actions(home.blocks) and "confirm" in _actions(home.blocks)[CLOSE]
    sim.home_opened(STAFF[0])
    staff = fake.wait_for(lambda: fake.home_views.get(STAFF[0]))
    assert staff.blocks[1]["type"] == "section" and "waiting for your answers" in blocks_text([staff.blocks[1]])
    assert "about 6 minutes, anonymous" in blocks_text([staff.blocks[1]])
