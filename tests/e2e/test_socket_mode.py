"""8. The same flow over Socket Mode: slash command -> start modal -> invitations, and a
person answering a section, through bolt's SocketModeHandler and the fake's websocket.

A real connection: the listeners run on a pool the test owns (leaving waits for them), and
what the bot does after its ack is awaited on the fake, bounded."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest
from slack_bolt.adapter.socket_mode import SocketModeHandler

from bot.app import create_app, outbox_sender
from bot.settings import Mode, Settings
from tests.fakeslack import close_socket_mode

from .helpers import (
    LEADER,
    SECTION_CALLBACK,
    STAFF,
    FakeSlack,
    SlackClientSim,
    answer_round,
    designed_answers,
    message_with,
    open_modal,
    participants,
    question_ids,
    stored_answers,
)


@pytest.fixture
def socket_sim(fake: FakeSlack, db) -> Iterator[SlackClientSim]:
    settings = Settings(_env_file=None, slack_bot_token=fake.bot_token, slack_app_token=fake.app_token,
                        slack_api_url=fake.api_url)
    with ThreadPoolExecutor(max_workers=5, thread_name_prefix="listener") as listeners:
        app = create_app(settings, db=db, mode=Mode.SOCKET, listener_executor=listeners,
                     outbox=outbox_sender(settings, db, Mode.SOCKET, inline=True))
        handler = SocketModeHandler(app, fake.app_token)
        assert handler.client.web_client.base_url == fake.api_url
        handler.connect()
        try:
            fake.socket.wait_connected()
            yield SlackClientSim(fake, socket_mode=True, command="/icp-check")
        finally:
            close_socket_mode(handler, fake)


def test_start_and_answer_over_socket_mode(fake, db, socket_sim):
    sim = socket_sim
    assert fake.calls_to("apps.connections.open")
    resp = sim.slash(LEADER, "start")
    assert resp.status == 200
    open_modal(sim, LEADER, "round_start")
    ack = sim.submit(LEADER, values={"users": STAFF, "delivery": "now"})
    assert ack.response_action is None
    summary = sim.expect(lambda: next((m for m in fake.messages(LEADER) if "is open" in m.text), None),
                         timeout=15)
    assert "10 people invited" in summary.text

    def invited() -> list[str]:
        return sorted(c.params["channel"] for c in fake.calls_to("chat.postMessage") if c.params["channel"] != LEADER)

    # The sender has several calls in flight: the summary to the leader may land before the last
    # invitation does (each conversation keeps its own order, not the workspace).
    sim.expect(lambda: len(invited()) >= len(STAFF) or None, timeout=15)
    assert invited() == sorted(STAFF)
    assert set(participants(db, 1)) == set(STAFF)

    # a field error comes back in the Socket Mode ack too
    sim.slash(LEADER, "start")
    open_modal(sim, LEADER, "round_start")
    ack = sim.submit(LEADER, values={})
    assert ack.response_action == "errors" and set(ack.errors) == {"users"}
    sim.close_view(LEADER)

    user = STAFF[0]
    sim.click(user, message_with(fake, user, "survey_start"), "survey_start")
    view = open_modal(sim, user, SECTION_CALLBACK)
    assert question_ids(view) == ["value_drivers", "top20_revenue_share"]
    # an invalid value is refused over the socket as well
    ack = sim.submit(user, values={"q:value_drivers": ["spend", "tenure", "frequency", "referrals"],
                                   "q:top20_revenue_share": "50"}, check_client_side=False)  # forged past the menu's limit
    assert ack.response_action == "errors" and set(ack.errors) == {"q:value_drivers"}
    assert stored_answers(db, user, 1) == {}
    ack = sim.submit(user, values={"q:value_drivers": ["spend"], "q:top20_revenue_share": "50"})
    assert ack.response_action == "update"
    assert question_ids(fake.current_view(user))[0] == "company_size"
    assert stored_answers(db, user, 1) == {"value_drivers": ["spend"], "top20_revenue_share": 50}

    # another person goes all the way to the receipt
    answer_round(sim, fake, STAFF[1], designed_answers(1))
    assert participants(db, 1)[STAFF[1]].completed_at is not None
    assert len(stored_answers(db, STAFF[1], 1)) == 20
