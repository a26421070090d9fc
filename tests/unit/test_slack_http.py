"""bot.slack_http against the fake Slack: the outbox's calls share one kept connection per
thread, a connection the server closed while idle is replaced without failing the next call,
and the answers and faults are slack_sdk's as before (a 429's Retry-After, a dropped answer)."""

from __future__ import annotations

import time

import pytest
from slack_sdk.errors import SlackApiError

from bot import slack_http
from bot.slack_client import outbox_client
from tests.fakeslack import FakeSlack
from tests.fakeslack.httpd import FakeSlackHandler


@pytest.fixture
def fake():
    with FakeSlack() as slack:
        slack.add_user("U1", "ana")
        yield slack
    slack_http.close_kept_connections()


def _kept_socket(fake: FakeSlack):
    kept = slack_http._connections()
    conn, _ = kept[("http", "127.0.0.1", int(fake.api_url.rsplit(":", 1)[1].split("/")[0]))]
    return conn.sock


def test_calls_from_one_thread_share_one_connection(fake):
    client = outbox_client(fake.api_url, fake.bot_token)
    first = client.chat_postMessage(channel="U1", text="one")
    sock = _kept_socket(fake)
    second = client.chat_postMessage(channel="U1", text="two")
    assert first["ok"] and second["ok"] and _kept_socket(fake) is sock
    assert [m.text for m in fake.messages(first["channel"])] == ["one", "two"]


def test_a_connection_the_server_closed_while_idle_is_replaced(fake, monkeypatch):
    monkeypatch.setattr(FakeSlackHandler, "timeout", 0.05)  # the server drops idle connections
    client = outbox_client(fake.api_url, fake.bot_token)
    client.chat_postMessage(channel="U1", text="one")
    sock = _kept_socket(fake)
    time.sleep(0.3)
    assert client.chat_postMessage(channel="U1", text="two")["ok"]
    assert _kept_socket(fake) is not sock
    assert len(fake.calls_to("chat.postMessage")) == 2


def test_a_429_keeps_its_retry_after_and_a_dropped_answer_is_a_lost_connection(fake):
    client = outbox_client(fake.api_url, fake.bot_token)
    fake.fail_next("chat.postMessage", status=429, retry_after=7)
    with pytest.raises(SlackApiError) as err:
        client.chat_postMessage(channel="U1", text="paced")
    assert err.value.response.status_code == 429 and err.value.response.headers["Retry-After"] == "7"
    fake.accept_then_drop("chat.postMessage")
    with pytest.raises(OSError):
        client.chat_postMessage(channel="U1", text="lost")
    assert client.chat_postMessage(channel="U1", text="next")["ok"]  # on a new connection
    channel = fake.calls_to("chat.postMessage")[-1].response["channel"]
    assert [m.text for m in fake.messages(channel)] == ["lost", "next"]
