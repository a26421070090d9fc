"""The production listener path leans on bolt behaviours that bolt does not document
(``bot.app.PromptAck``, ``ListenerPool``): bolt takes the ``ack`` a middleware put in the
context, and runs a listener through the executor's ``submit``. This drives a real bolt
``App`` (no injected executor) through its public dispatch, so a bolt upgrade that changes
either shows here."""

from __future__ import annotations

import threading
from urllib.parse import urlencode

import pytest
from slack_bolt.request import BoltRequest

from bot.app import ListenerPool, PromptAck, create_app, outbox_sender
from bot.settings import Mode
from tests.fakeslack import sign

from .conftest import http_settings
from .helpers import SECRET, STAFF


@pytest.fixture
def bolt(fake, db):
    settings = http_settings(fake)
    app = create_app(settings, db=db, mode=Mode.HTTP, outbox=outbox_sender(settings, db, Mode.HTTP, inline=True))
    yield app
    app.listener_runner.listener_executor.shutdown(wait=True)


def _dispatch(app, body: str):
    headers = {"content-type": ["application/x-www-form-urlencoded"],
               **{k.lower(): [v] for k, v in sign(SECRET, body).items()}}
    return app.dispatch(BoltRequest(body=body, headers=headers))


def test_a_listener_gets_the_prompt_ack_and_runs_on_the_listener_pool(bolt, fake):
    seen: dict = {}

    @bolt.command("/probe")
    def probe(ack, context):
        seen["ack"], seen["thread"] = context["ack"], threading.get_ident()
        ack("probed")

    body = urlencode({"command": "/probe", "text": "", "user_id": STAFF[0], "team_id": fake.team_id,
                      "channel_id": "C1", "response_url": f"{fake.api_url.rstrip('/')}/../response/x",
                      "trigger_id": "1.2.3"})
    response = _dispatch(bolt, body)
    assert response.status == 200 and "probed" in response.body
    assert isinstance(seen["ack"], PromptAck)  # bolt used the middleware's ack
    assert seen["thread"] != threading.get_ident()  # an ordinary listener runs on the pool
    assert isinstance(bolt.listener_runner.listener_executor, ListenerPool)
