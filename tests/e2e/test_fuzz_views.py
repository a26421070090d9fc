"""Every view callback id, fuzzed: survey steps (``view_submission`` and ``view_closed``), the
start form, the ratify and fit forms, each submitted as Slack's client would and then mutated:
junk private_metadata, state with wrong block or action ids, options the view does not have,
mistyped, oversized or odd values (see fuzzing.py)."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import select

from bot.views import leader_modals, profile_modals, survey_modal
from storage import rounds
from storage.models import OutboxMessage, RoundParticipant
from tests.fakeslack import fill_view

from .fuzzing import (
    answers_are_clean,
    check,
    deliver,
    fuzz,
    interactive_body,
    junk,
    maybe_truncated,
    mutated,
)
from .helpers import (
    LEADER,
    STAFF,
    answer_round,
    designed_answers,
    message_with,
    open_modal,
    question_ids,
    start_round,
)

FOCUS = ("state", "private_metadata", "callback_id", "user", "team", "id", "hash")
TRIGGER = "<fresh trigger>"


def _submission(world, user: str, view, values: dict[str, Any], kind: str = "view_submission") -> dict[str, Any]:
    fake = world.fake
    payload = {"type": kind, "team": {"id": fake.team_id, "domain": fake.team_domain},
               "user": {"id": user, "username": user.lower(), "name": user.lower(), "team_id": fake.team_id},
               "api_app_id": fake.app_id, "token": "verification-token",
               "view": {**view.to_api(), "state": {"values": fill_view(view, values)}},
               "is_enterprise_install": False, "enterprise": None}
    if kind == "view_closed":
        payload["is_cleared"] = False
    else:
        payload.update(trigger_id=TRIGGER, response_urls=[])
    return payload


VALUE_KEYS = ("value", "selected_option", "selected_options", "selected_users", "selected_conversations",
              "selected_date")
not_an_option = st.builds(lambda v: {"text": {"type": "plain_text", "text": "?"}, "value": v}, junk)


@st.composite
def state_junk(draw, payload: dict[str, Any]) -> dict[str, Any]:
    """One to three of the view's inputs answered with junk: a mistyped or odd value, an option
    the view does not have, a list of them."""
    values = payload["view"]["state"]["values"]
    for _ in range(draw(st.integers(1, 3))):
        if not values:
            break
        element = values[draw(st.sampled_from(sorted(values)))]
        state = element[draw(st.sampled_from(sorted(element)))]
        key = next((k for k in VALUE_KEYS if k in state), "value")
        state[key] = draw(st.one_of(junk, junk, not_an_option, st.lists(not_an_option | junk, max_size=3)))
    return payload


def _fuzz(world, caplog, base: dict[str, Any], allowed, examples: int = 25) -> None:
    @fuzz(examples)
    @given(case=st.data())
    def example(case):
        payload = copy.deepcopy(base)
        how = case.draw(st.integers(0, 5))
        if how >= 3:
            payload = case.draw(state_junk(payload))
        if how % 3:
            payload = case.draw(mutated(payload, focus=FOCUS))
        if isinstance(payload, dict) and payload.get("trigger_id") == TRIGGER:
            payload["trigger_id"] = world.fake.new_trigger_id(LEADER)
        body = case.draw(maybe_truncated(interactive_body(payload)))
        check(world, caplog, lambda: deliver(world.app, body, "application/x-www-form-urlencoded"),
              allowed=allowed)
        answers_are_clean(world.db)

    example()


def _only(*names: str):
    """Counts may change only for ``names``."""
    def allowed(before, after):
        return all(after[k] == before[k] for k in before if k not in names)

    return allowed


@pytest.fixture
def in_survey(world):
    """STAFF[0] in the step with the free-text question (the earlier steps answered)."""
    round_id = start_round(world.fake, world.sim, users=STAFF[:3])
    user = STAFF[0]
    world.sim.click(user, message_with(world.fake, user, "survey_start"), "survey_start")
    view = open_modal(world.sim, user, survey_modal.CALLBACK_ID)
    answers = designed_answers(0)
    while "ideal_customer" not in question_ids(view):
        ack = world.sim.submit(user, values={f"q:{q}": answers[q] for q in question_ids(view) if q in answers})
        assert ack.response_action == "update", dict(ack)
        view = world.fake.current_view(user)
    return world, round_id, view, {f"q:{q}": answers[q] for q in question_ids(view) if q in answers}


def test_survey_step_submissions(in_survey, caplog):
    """Answers may change; the outbox may only gain the person's own receipt (a valid last step)."""
    world, _round_id, view, values = in_survey

    def allowed(before, after):
        if not _only("answers", "outbox")(before, after):
            return False
        with world.db.session(read_only=True) as s:
            receipts = list(s.execute(select(OutboxMessage.target).where(OutboxMessage.kind == "receipt")).scalars())
        return after["outbox"] - before["outbox"] <= len(receipts) <= 1

    _fuzz(world, caplog, _submission(world, STAFF[0], view, values), allowed, examples=40)


def test_survey_step_closed(in_survey, caplog):
    world, _round_id, view, values = in_survey
    _fuzz(world, caplog, _submission(world, STAFF[0], view, values, kind="view_closed"), _only("answers"), examples=40)


def test_start_form(world, caplog):
    """A valid part may start one round, for real staff only (each view starts one round)."""
    sim, db = world.sim, world.db
    assert sim.slash(LEADER, "start").status == 200
    view = open_modal(sim, LEADER, leader_modals.START_CALLBACK)
    base = _submission(world, LEADER, view, {"users": STAFF[:2], "delivery": "now"})

    def allowed(before, after):
        if after["workspaces"] != before["workspaces"] or after["answers"] != before["answers"]:
            return False
        if after["rounds"] - before["rounds"] not in (0, 1):
            return False
        with db.session(read_only=True) as s:
            invited = set(s.execute(select(RoundParticipant.user_id)).scalars())
        return invited <= set(STAFF)

    _fuzz(world, caplog, base, allowed, examples=20)


@pytest.fixture
def closed_round(world):
    round_id = start_round(world.fake, world.sim, users=STAFF[:3])
    for i, user in enumerate(STAFF[:3]):
        answer_round(world.sim, world.fake, user, designed_answers(i))
    with world.db.session() as session:
        rounds.close_round(session, round_id)
    return world, round_id


def _prefill(view) -> dict[str, Any]:
    out = {}
    for block in view.blocks:
        el = block.get("element") or {}
        if str(block.get("block_id", "")).startswith("q:"):
            if el.get("initial_option"):
                out[block["block_id"]] = el["initial_option"]["value"]
            elif el.get("initial_options"):
                out[block["block_id"]] = [o["value"] for o in el["initial_options"]]
            elif el.get("initial_value") is not None:
                out[block["block_id"]] = el["initial_value"]
    return out


def test_ratify_form(closed_round, caplog):
    world, _round_id = closed_round
    world.sim.slash(LEADER, "ratify")
    ratify = open_modal(world.sim, LEADER, profile_modals.RATIFY_CALLBACK)
    _fuzz(world, caplog, _submission(world, LEADER, ratify, _prefill(ratify)), _only(), examples=15)


def test_fit_form(closed_round, caplog):
    world, _round_id = closed_round
    world.sim.slash(LEADER, "ratify")
    ratify = open_modal(world.sim, LEADER, profile_modals.RATIFY_CALLBACK)
    assert world.sim.submit(LEADER, values=_prefill(ratify)).response_action == "update"
    world.sim.slash(LEADER, "fit")
    fit = open_modal(world.sim, LEADER, profile_modals.FIT_CALLBACK)
    _fuzz(world, caplog, _submission(world, LEADER, fit, _prefill(fit)), _only(), examples=15)
