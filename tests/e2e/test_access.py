"""6 and 9. Leader-only commands and buttons refuse everyone else; forged or stale requests
get 401 from the app and change nothing."""

from __future__ import annotations

import json
import time
import uuid
from urllib.parse import urlencode

import pytest

from storage.models import RoundParticipant, SurveyRound, Workspace

from .helpers import (
    LEADER,
    SECRET,
    STAFF,
    blocks_text,
    command,
    count_rows,
    designed_answers,
    reminders_go_out_now,
    round_status,
    sign,
)

REFUSAL = "is for ICP Align leaders"


@pytest.mark.parametrize("sub", ["report", "start", "close", "remind", "status"])
def test_non_leader_commands_refused(world, open_round, sub):
    fake, sim, db = world.fake, world.sim, world.db
    views_before = len(fake.calls_to("views.open"))
    posts_before = len(fake.calls_to("chat.postMessage"))
    response = command(fake, sim, STAFF[0], sub)
    assert response["response_type"] == "ephemeral"
    assert f"Sorry, `/icp-check {sub}` {REFUSAL}" in response["text"]
    assert "blocks" not in response or not response["blocks"]
    assert len(fake.calls_to("views.open")) == views_before  # no start form
    assert len(fake.calls_to("chat.postMessage")) == posts_before  # no reminders
    assert fake.current_view(STAFF[0]) is None
    assert round_status(db, open_round) == "open"
    assert count_rows(db, SurveyRound) == 1


def test_everyone_may_use_help_and_profile(world):
    response = command(world.fake, world.sim, STAFF[1], "help")
    assert "`/icp-check profile`" in response["text"] and "`/icp-check start`" not in response["text"]
    response = command(world.fake, world.sim, STAFF[1], "profile")
    assert "No ICP has been ratified yet" in blocks_text(response)


def test_help_shows_leaders_the_round_progress_and_staff_only_its_name(world, open_round, answer_round):
    fake, sim = world.fake, world.sim
    answer_round(sim, fake, STAFF[0], designed_answers(0))
    leader = command(fake, sim, LEADER, "help")["text"]
    current = leader.splitlines()[1]
    assert f"(round {open_round}, open; 1 of 10 finished, " in current and current.endswith("left)")
    assert "`start`" in leader and "`export`" in leader  # help is short: names, and buttons for the next step
    staff = command(fake, sim, STAFF[1], "")["text"]  # a bare /icp-check is help
    assert f"(round {open_round}, open)" in staff and "finished" not in staff


def test_unknown_subcommand_gets_usage(world):
    for user in (LEADER, STAFF[2]):
        response = command(world.fake, world.sim, user, "frobnicate now")
        assert response["response_type"] == "ephemeral"
        assert response["text"].startswith("I don't know `frobnicate`")
        assert "`/icp-check help`" in response["text"] and "`/icp-check report [round]`" in response["text"]


def _remind_payload(fake, user: str, ts: str, channel: str, value: str) -> dict:
    return {
        "type": "block_actions",
        "user": {"id": user, "username": user.lower(), "name": user.lower(), "team_id": fake.team_id},
        "api_app_id": fake.app_id,
        "token": "verification-token",
        "trigger_id": fake.new_trigger_id(user),
        "team": {"id": fake.team_id, "domain": fake.team_domain},
        "enterprise": None,
        "is_enterprise_install": False,
        "container": {"type": "message", "message_ts": ts, "channel_id": channel, "is_ephemeral": True},
        "channel": {"id": channel, "name": "directmessage"},
        "state": {"values": {}},
        "response_url": fake.new_response_url("actions", channel, user, message_ts=ts, is_ephemeral=True),
        "actions": [{"type": "button", "action_id": "round_remind", "block_id": "status_actions",
                     "value": value, "text": {"type": "plain_text", "text": "Remind"},
                     "action_ts": f"{time.time():.6f}"}],
    }


def test_replayed_remind_button_refused_for_non_leader(world, open_round):
    fake, sim, db = world.fake, world.sim, world.db
    reminders_go_out_now(db)
    status = command(fake, sim, LEADER, "status")
    remind = next(el for b in status["blocks"] if b.get("type") == "actions" for el in b["elements"]
                  if el["action_id"] == "round_remind")
    assert remind["value"] == str(open_round)
    eph = fake.ephemerals(LEADER)[-1]
    posts_before = len(fake.calls_to("chat.postMessage"))

    payload = _remind_payload(fake, STAFF[4], eph.ts, "D" + LEADER, remind["value"])
    resp = sim.send_interactive(payload)
    assert resp.status == 200
    url = payload["response_url"]
    refusal = fake.responses(url)[0]
    assert refusal["text"] == "Only ICP Align leaders can send reminders."
    assert refusal["response_type"] == "ephemeral"
    assert len(fake.calls_to("chat.postMessage")) == posts_before
    assert all(p.reminders_sent == 0 for p in _participants(db, open_round))

    # the leader's own click does remind (the button is real)
    payload = _remind_payload(fake, LEADER, eph.ts, "D" + LEADER, remind["value"])
    sim.send_interactive(payload)
    url = payload["response_url"]
    done = fake.responses(url)[0]
    assert done["text"] == "10 reminders queued; they go out now."
    assert len(fake.calls_to("chat.postMessage")) == posts_before + 10


def _participants(db, round_id):
    from .helpers import participants

    return list(participants(db, round_id).values())


# ------------------------------------------------------------------------------ 9. signatures
def _slash_body(fake, user: str, text: str) -> str:
    return urlencode({
        "token": "verification-token", "team_id": fake.team_id, "team_domain": fake.team_domain,
        "channel_id": "D" + user, "channel_name": "directmessage", "user_id": user,
        "user_name": user.lower(), "command": "/icp-check", "text": text,
        "api_app_id": fake.app_id, "is_enterprise_install": "false",
        "response_url": fake.new_response_url("commands", "D" + user, user),
        "trigger_id": fake.new_trigger_id(user),
    })


def _post(sim, body: str, headers: dict[str, str], content_type: str) -> int:
    """``body`` with exactly these headers (no signature added), through bolt's dispatch."""
    return sim.send_raw(body, {"Content-Type": content_type, **headers}).status


def _start_submission_body(fake) -> str:
    payload = {
        "type": "view_submission",
        "team": {"id": fake.team_id, "domain": fake.team_domain},
        "user": {"id": LEADER, "username": "lead", "name": "lead", "team_id": fake.team_id},
        "api_app_id": fake.app_id, "token": "verification-token",
        "trigger_id": fake.new_trigger_id(LEADER),
        "view": {"id": "V" + uuid.uuid4().hex[:10].upper(), "type": "modal", "callback_id": "round_start",
                 "private_metadata": "", "team_id": fake.team_id, "blocks": [],
                 "state": {"values": {
                     "users": {"value": {"type": "multi_users_select", "selected_users": STAFF}},
                     "closes": {"value": {"type": "datepicker", "selected_date": "2099-01-01"}},
                     "reminders": {"value": {"type": "static_select",
                                             "selected_option": {"value": "2"}}}}}},
        "response_urls": [],
    }
    return urlencode({"payload": json.dumps(payload)})


@pytest.mark.parametrize("fault", ["wrong_secret", "stale_timestamp", "no_signature"])
def test_bad_signature_or_stale_request_refused(world, fault):
    fake, db, sim = world.fake, world.db, world.sim
    old = int(time.time()) - 6 * 60
    for body, ctype in ((_slash_body(fake, LEADER, "start"), "application/x-www-form-urlencoded"),
                        (_slash_body(fake, LEADER, "leaders add <@U0STAFF01>"),
                         "application/x-www-form-urlencoded"),
                        (_start_submission_body(fake), "application/x-www-form-urlencoded")):
        if fault == "wrong_secret":
            headers = sign("not-the-secret", body)
        elif fault == "stale_timestamp":
            headers = sign(SECRET, body, timestamp=old)
        else:
            headers = {}
        assert _post(sim, body, headers, ctype) == 401
    # the bot called nothing (auth.test is bolt checking its token when the app was built)
    assert [c.method for c in fake.calls if c.method != "auth.test"] == []
    assert count_rows(db, Workspace) == 0
    assert count_rows(db, SurveyRound) == 0
    assert count_rows(db, RoundParticipant) == 0

    # the same request correctly signed is served (so the 401s were about the signature)
    body = _slash_body(fake, LEADER, "leaders add <@U0STAFF01>")
    assert _post(sim, body, sign(SECRET, body), "application/x-www-form-urlencoded") == 200
    assert count_rows(db, Workspace) == 1


def test_lifecycle_events_are_acknowledged_and_keep_the_data(world, open_round):
    """An unhandled event answers 404 and Slack retries it; these must be acknowledged."""
    fake, sim, db = world.fake, world.sim, world.db
    revoked = sim.send_event({"type": "tokens_revoked", "tokens": {"oauth": [], "bot": [fake.bot_user_id]}})
    uninstalled = sim.send_event({"type": "app_uninstalled"})
    assert (revoked.status, uninstalled.status) == (200, 200)
    assert round_status(db, open_round) == "open"
