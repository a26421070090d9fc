"""Every block action id, fuzzed: a real click (on an invitation, a status message, App Home,
a survey modal) with its value, container, user, view or state mutated (see fuzzing.py)."""

from __future__ import annotations

import copy
import time
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.views import (
    home_tab,
    leader_messages,
    messages,
    profile_modals,
    pulse_messages,
    report_blocks,
    survey_modal,
)

from .fuzzing import (
    answers_are_clean,
    check,
    deliver,
    fuzz,
    interactive_body,
    maybe_truncated,
    mutated,
)
from .helpers import LEADER, STAFF, message_with, open_modal, start_round

TRIGGER, RESPONSE_URL = "<fresh trigger>", "<fresh response_url>"

# action id -> (where the button is, its value given the round id, the rows a valid click may add)
ACTIONS: dict[str, tuple[str, str, set[str]]] = {
    messages.START: ("message", "{round}", set()),
    messages.EDIT: ("message", "{round}", set()),
    messages.SNOOZE: ("message", "{round}", {"outbox"}),
    survey_modal.JUMP: ("view", "1", {"answers"}),
    profile_modals.FIT_AGAIN: ("view", "1", set()),
    home_tab.HOME_START: ("home", "", set()),
    home_tab.HOME_REPORT: ("home", "", set()),
    report_blocks.REMIND: ("message", "{round}", {"outbox"}),
    report_blocks.POST_REPORT: ("message", "{round}:C0LEAD", {"outbox"}),
    leader_messages.CLOSE_ROUND: ("message", "{round}", {"outbox"}),
    leader_messages.STATUS: ("message", "{round}", set()),
    f"{pulse_messages.ANSWER}:1": ("message", "{round}:1", {"answers"}),
}


def _payload(world, round_id: int, action_id: str, survey_view) -> dict[str, Any]:
    """The block_actions payload Slack sends for a click on ``action_id`` (by STAFF[0])."""
    fake = world.fake
    where, value, _ = ACTIONS[action_id]
    user = STAFF[0]
    action: dict[str, Any] = {"type": "button", "action_id": action_id, "block_id": "b1",
                              "value": value.format(round=round_id), "action_ts": f"{time.time():.6f}",
                              "text": {"type": "plain_text", "text": "Go"}}
    payload: dict[str, Any] = {
        "type": "block_actions", "user": {"id": user, "username": "s", "name": "s", "team_id": fake.team_id},
        "api_app_id": fake.app_id, "token": "verification-token", "trigger_id": TRIGGER,
        "team": {"id": fake.team_id, "domain": fake.team_domain}, "enterprise": None,
        "is_enterprise_install": False, "actions": [action]}
    if action_id == survey_modal.JUMP:
        action.update(type="static_select", block_id=survey_modal.JUMP_BLOCK,
                      selected_option={"text": {"type": "plain_text", "text": "Step 2"}, "value": "1"})
        action.pop("value")
    if where == "message":
        invitation = message_with(fake, user, messages.START)
        payload.update(container={"type": "message", "message_ts": invitation.ts, "channel_id": invitation.channel,
                                  "is_ephemeral": False},
                       channel={"id": invitation.channel, "name": "directmessage"},
                       message=invitation.to_api(fake.team_id), response_url=RESPONSE_URL, state={"values": {}})
    elif where == "home":
        home = fake.home_views.get(user)
        view = home.to_api() if home is not None else {"id": "V0HOME", "type": "home", "blocks": []}
        payload.update(container={"type": "view", "view_id": view["id"]}, view=view)
    else:
        payload.update(container={"type": "view", "view_id": survey_view.id}, view=survey_view.to_api(),
                       state={"values": survey_view.state_values})
    return payload


def _fresh(world, payload: Any) -> Any:
    """The placeholders replaced by a new trigger_id / response_url (wherever a mutation left them)."""
    user = STAFF[0]
    if isinstance(payload, dict):
        if payload.get("trigger_id") == TRIGGER:
            payload["trigger_id"] = world.fake.new_trigger_id(user)
        if payload.get("response_url") == RESPONSE_URL:
            payload["response_url"] = world.fake.new_response_url("actions", "D" + user, user)
    return payload


@pytest.fixture
def clicked(world):
    """A round for three staff; STAFF[0] has its first survey step open; App Home published."""
    round_id = start_round(world.fake, world.sim, users=STAFF[:3])
    world.fake.add_channel("C0LEAD", "leadership", members=[LEADER])
    world.sim.click(STAFF[0], message_with(world.fake, STAFF[0], messages.START), messages.START)
    view = open_modal(world.sim, STAFF[0], survey_modal.CALLBACK_ID)
    world.sim.home_opened(STAFF[0])
    return world, round_id, view


@pytest.mark.parametrize("action_id", list(ACTIONS))
def test_every_action_answers_cleanly_and_writes_no_junk(clicked, caplog, action_id):
    world, round_id, view = clicked
    base = _payload(world, round_id, action_id, view)
    may = ACTIONS[action_id][2]

    def allowed(before, after):
        return all(after[k] == before[k] or (k in may and after[k] >= before[k]) for k in before)

    @fuzz(20)
    @given(case=st.data())
    def example(case):
        payload = copy.deepcopy(base)
        if case.draw(st.integers(0, 5)):  # mostly mutated; sometimes the click as it is, replayed
            payload = case.draw(mutated(payload, focus=("trigger_id", "actions", "container", "response_url", "private_metadata", "user", "team", "state")))
        payload = _fresh(world, payload)
        body = case.draw(maybe_truncated(interactive_body(payload)))
        check(world, caplog, lambda: deliver(world.app, body, "application/x-www-form-urlencoded"),
              allowed=allowed)
        answers_are_clean(world.db)

    example()
