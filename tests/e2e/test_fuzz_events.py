"""Every event the bot subscribes to (app_home_opened, app_uninstalled, tokens_revoked), and
the payload types it has no listener for (options, shortcuts, other events), fuzzed: the
Events API envelope Slack sends, mutated (see fuzzing.py). None of them writes a row."""

from __future__ import annotations

import copy
import time
import uuid
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from .fuzzing import check, deliver, event_body, fuzz, interactive_body, maybe_truncated, mutated
from .helpers import STAFF, start_round

EVENTS = {
    "app_home_opened": {"type": "app_home_opened", "user": STAFF[0], "channel": "D" + STAFF[0], "tab": "home",
                        "event_ts": "1700000000.000100"},
    "app_uninstalled": {"type": "app_uninstalled", "event_ts": "1700000000.000200"},
    "tokens_revoked": {"type": "tokens_revoked", "tokens": {"oauth": [STAFF[0]], "bot": ["U0BOT"]},
                       "event_ts": "1700000000.000300"},
    "message": {"type": "message", "user": STAFF[0], "text": "hello", "ts": "1700000000.000400",
                "channel": "D" + STAFF[0], "event_ts": "1700000000.000400", "channel_type": "im"},
}


def _envelope(fake, event: dict[str, Any]) -> dict[str, Any]:
    return {"token": "verification-token", "team_id": fake.team_id, "api_app_id": fake.app_id,
            "event": copy.deepcopy(event), "type": "event_callback", "event_id": "<fresh>",
            "event_time": int(time.time()),
            "authorizations": [{"enterprise_id": None, "team_id": fake.team_id, "user_id": fake.bot_user_id,
                                "is_bot": True, "is_enterprise_install": False}],
            "is_ext_shared_channel": False, "event_context": "4-" + uuid.uuid4().hex}


@pytest.mark.parametrize("name", list(EVENTS))
def test_every_event_answers_cleanly_and_writes_nothing(world, caplog, name):
    start_round(world.fake, world.sim, users=STAFF[:3])  # a Home with something on it
    base = _envelope(world.fake, EVENTS[name])

    @fuzz(20)
    @given(case=st.data())
    def example(case):
        payload = copy.deepcopy(base)
        if case.draw(st.integers(0, 5)):
            payload = case.draw(mutated(payload, focus=("event", "team_id", "authorizations", "event_id")))
        if isinstance(payload, dict) and payload.get("event_id") == "<fresh>":
            payload["event_id"] = "Ev" + uuid.uuid4().hex[:10].upper()  # else: a retry, answered at once
        body = case.draw(maybe_truncated(event_body(payload)))
        check(world, caplog, lambda: deliver(world.app, body, "application/json"))

    example()


OTHER = {  # payload types the app has no listener for
    "block_suggestion": {"type": "block_suggestion", "action_id": "survey_jump", "block_id": "jump", "value": "a"},
    "shortcut": {"type": "shortcut", "callback_id": "icp", "trigger_id": "1.2.3"},
    "message_action": {"type": "message_action", "callback_id": "icp", "trigger_id": "1.2.3",
                       "message": {"ts": "1.2", "text": "x"}, "channel": {"id": "C0X"}},
    "view_submission of another callback": {"type": "view_submission", "view": {
        "id": "V0X", "type": "modal", "callback_id": "not_ours", "state": {"values": {}}}},
}


@pytest.mark.parametrize("name", list(OTHER))
def test_payloads_without_a_listener_answer_cleanly(world, caplog, name):
    base = {**OTHER[name], "team": {"id": world.fake.team_id}, "user": {"id": STAFF[0]},
            "api_app_id": world.fake.app_id, "token": "verification-token"}

    @fuzz(10)
    @given(case=st.data())
    def example(case):
        payload = case.draw(mutated(base)) if case.draw(st.booleans()) else base
        body = case.draw(maybe_truncated(interactive_body(payload)))
        check(world, caplog, lambda: deliver(world.app, body, "application/x-www-form-urlencoded"))

    example()
