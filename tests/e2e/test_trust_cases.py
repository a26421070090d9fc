"""Cases of issue 14 that had no test of their own: digits that are not ASCII and numbers past
64 bits as command arguments, a round id of 10^30 in a form's private_metadata, an event
delivered twice with the same id (as a Socket Mode retry arrives: no retry header), and a
slow Slack holding listeners while other requests are still acknowledged."""

from __future__ import annotations

import json
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlencode

import pytest
from slack_sdk import WebClient
from sqlalchemy import select

from bot.app import create_app, outbox_sender
from bot.listeners.survey_flow import UNREADABLE
from bot.settings import Mode
from storage.models import Answer
from tests.fakeslack import SlackClientSim, fill_view

from .conftest import http_settings
from .helpers import LEADER, SECRET, STAFF, command, message_with, open_modal


@pytest.mark.parametrize("text", ["report ²", "status ¹", "report 99999999999999999999", "export ٣",
                                  "close 1e30", "report 0"])
def test_number_like_arguments_get_a_usage_reply(world, text):
    reply = command(world.fake, world.sim, LEADER, text)
    assert "is not a round number" in reply["text"], reply


def test_a_round_id_of_10_30_in_private_metadata_is_an_unreadable_form(world, open_round):
    fake, sim, db = world.fake, world.sim, world.db
    user = STAFF[0]
    sim.click(user, message_with(fake, user, "survey_start"), "survey_start")
    view = open_modal(sim, user, "survey_section")
    for metadata in (json.dumps({"round": 10**30, "section": 0}), json.dumps({"round": open_round, "section": 10**30}),
                     '{"round": 1e30, "section": 0}', "not json", json.dumps([open_round, 0])):
        api = {**view.to_api(), "private_metadata": metadata, "state": {"values": fill_view(view, {})}}
        response = sim.send_interactive({"type": "view_submission", "team": {"id": fake.team_id},
                                         "user": {"id": user}, "view": api, "trigger_id": fake.new_trigger_id(user)})
        assert response.status == 200
        ack = response.json()
        assert ack["response_action"] == "update" and UNREADABLE in json.dumps(ack["view"]), (metadata, ack)
    with db.session(read_only=True) as s:
        assert s.execute(select(Answer)).first() is None


def test_an_event_delivered_twice_with_one_id_is_handled_once(world):
    """Socket Mode says ``retry_attempt`` in the envelope, not in the payload: the second delivery
    is known by its event_id alone."""
    fake, sim = world.fake, world.sim
    event_id = "Ev" + uuid.uuid4().hex[:10].upper()
    payload = {"token": "t", "team_id": fake.team_id, "api_app_id": fake.app_id, "type": "event_callback",
               "event_id": event_id, "event_time": int(time.time()),
               "event": {"type": "app_home_opened", "user": STAFF[0], "channel": "D" + STAFF[0], "tab": "home",
                         "event_ts": "1700000000.000100"}}
    for _ in range(2):
        assert sim._post(json.dumps(payload), "application/json").status == 200
    assert len(fake.calls_to("views.publish")) == 1


def test_listeners_waiting_on_a_slow_slack_do_not_block_other_acks(fake, db, monkeypatch):
    """Eight listeners blocked in users.info after their ack (bolt's own pool has five): a
    ninth request is still acknowledged, by a free listener thread. Slack is slow on the
    bot's side of the wire (users.info waits for the test), so nothing is timed."""
    release, lock, held = threading.Event(), threading.Lock(), []
    users_info = WebClient.users_info

    def slow_users_info(self, **kwargs):
        with lock:
            held.append(kwargs.get("user"))
        release.wait(timeout=30)
        return users_info(self, **kwargs)

    monkeypatch.setattr(WebClient, "users_info", slow_users_info)
    settings = http_settings(fake)
    app = create_app(settings, db=db, mode=Mode.HTTP, outbox=outbox_sender(settings, db, Mode.HTTP, inline=True))
    sim = SlackClientSim(fake, app=app, signing_secret=SECRET, command="/icp-check")
    sim.transport.synchronous = False  # the app's own listener pool: dispatch returns at the ack
    try:
        with ThreadPoolExecutor(max_workers=8) as clients:
            first = list(clients.map(lambda u: sim.slash(u, "status"), STAFF[:8]))
        assert [r.status for r in first] == [200] * 8
        fake.wait_for(lambda: len(held) >= 8, timeout=10)  # all eight listeners are waiting on Slack
        ninth = sim.slash(STAFF[8], "status")
        assert ninth.status == 200
        release.set()
        for response in [*first, ninth]:
            fake.wait_for(lambda r=response: fake.responses(r.response_url), timeout=10)
    finally:
        release.set()


@pytest.mark.parametrize("url", ["https://evil.example/hooks", "http://127.0.0.1:1/x", "file:///etc/passwd", "-1e-309"])
def test_a_response_url_that_is_not_slacks_reaches_no_listener(world, url):
    """bolt's respond() would POST to it: a forged response_url must not make the bot call out."""
    fake, sim = world.fake, world.sim
    form = {"token": "t", "team_id": fake.team_id, "user_id": LEADER, "command": "/icp-check", "text": "help",
            "channel_id": "D" + LEADER, "response_url": url, "trigger_id": fake.new_trigger_id(LEADER)}
    fake.reset_calls()
    assert sim._post(urlencode(form), "application/x-www-form-urlencoded").status == 200
    assert fake.calls == []  # not even the leader check: no listener ran
