"""What every listener gets from the middleware, driven through bolt's public dispatch with
signed requests: malformed payloads and other workspaces' payloads stop at the edge, and
leader-only buttons refuse where the person clicked."""

from __future__ import annotations

import json
import logging
from concurrent.futures import Executor, Future
from urllib.parse import urlencode

import pytest
from slack_bolt.request import BoltRequest

from bot.app import create_app, outbox_sender
from bot.settings import Mode
from storage.models import Workspace
from tests.fakeslack import sign

from .conftest import http_settings
from .helpers import LEADER, SECRET, STAFF, count_rows


class InlineExecutor(Executor):
    """Runs each listener at once, so that dispatch returns when all it caused is done."""

    def submit(self, fn, /, *args, **kwargs):
        future: Future = Future()
        try:
            future.set_result(fn(*args, **kwargs))
        except BaseException as exc:  # noqa: BLE001 - handed to the future like a pool would
            future.set_exception(exc)
        return future


@pytest.fixture
def bolt(fake, db):
    return create_app(http_settings(fake), db=db, mode=Mode.HTTP, listener_executor=InlineExecutor(),
                     outbox=outbox_sender(http_settings(fake), db, Mode.HTTP, inline=True))


def _dispatch(app, payload: dict | None = None, form: dict | None = None):
    body = urlencode({"payload": json.dumps(payload)}) if payload is not None else urlencode(form or {})
    headers = {"content-type": ["application/x-www-form-urlencoded"],
               **{k.lower(): [v] for k, v in sign(SECRET, body).items()}}
    return app.dispatch(BoltRequest(body=body, headers=headers))


def _click(fake, user: str, action_id: str, value: str, team: str | None = None, **extra) -> dict:
    return {"type": "block_actions", "user": {"id": user, "team_id": fake.team_id},
            "team": {"id": team or fake.team_id, "domain": fake.team_domain}, "api_app_id": fake.app_id,
            "trigger_id": fake.new_trigger_id(user),
            "actions": [{"type": "button", "action_id": action_id, "block_id": "b", "value": value,
                         "action_ts": "1700000000.1"}], **extra}


def test_a_malformed_payload_is_acked_once_with_one_log_line(bolt, fake, db, caplog):
    caplog.set_level(logging.WARNING)
    response = _dispatch(bolt, {"type": "block_actions", "user": {"id": LEADER}, "actions": []})
    assert (response.status, response.body) == (200, "")
    refusals = [r for r in caplog.records if "malformed" in r.getMessage()]
    assert len(refusals) == 1 and refusals[0].exc_info is None
    assert [c.method for c in fake.calls if c.method != "auth.test"] == []
    assert count_rows(db, Workspace) == 0


def test_a_command_from_another_workspace_reaches_no_listener(bolt, fake, db):
    form = {"team_id": "T0OTHER", "user_id": LEADER, "command": "/icp-check", "text": "leaders add <@U0STAFF01>",
            "channel_id": "D1", "response_url": fake.new_response_url("commands", "D1", LEADER),
            "trigger_id": fake.new_trigger_id(LEADER)}
    response = _dispatch(bolt, form=form)
    assert response.status == 200
    assert [c.method for c in fake.calls if c.method != "auth.test"] == []
    assert count_rows(db, Workspace) == 0


def test_a_leader_button_from_app_home_refuses_staff_by_dm(bolt, fake):
    response = _dispatch(bolt, _click(fake, STAFF[0], "home_start_round", "x"))
    assert response.status == 200
    dms = [c.params for c in fake.calls_to("chat.postMessage") if c.params.get("channel") == STAFF[0]]
    assert [d["text"] for d in dms] == ["Only ICP Align leaders can start rounds."]
    assert fake.calls_to("views.open") == []


def test_a_staff_click_on_fit_again_never_touches_the_view(bolt, fake):
    payload = _click(fake, STAFF[0], "icp_fit_again", "1",
                     view={"id": "V0LEADERS", "hash": "h", "type": "modal", "callback_id": "icp_fit_result"})
    assert _dispatch(bolt, payload).status == 200
    assert fake.calls_to("views.update") == []
    assert [c.params["text"] for c in fake.calls_to("chat.postMessage")] == ["Only ICP Align leaders can score prospects."]


def test_a_leader_form_from_staff_is_answered_in_the_modal(bolt, fake, db):
    payload = {"type": "view_submission", "user": {"id": STAFF[0]}, "team": {"id": fake.team_id},
               "view": {"id": "V1", "type": "modal", "callback_id": "round_start", "private_metadata": "",
                        "state": {"values": {"users": {"value": {"type": "multi_users_select",
                                                                  "selected_users": STAFF}}}}}}
    response = _dispatch(bolt, payload)
    body = json.loads(response.body)
    assert body["response_action"] == "update"
    assert "Only ICP Align leaders can start a round." in json.dumps(body["view"])
    assert count_rows(db, Workspace) == 0
