"""bot.slack_client against the fake Slack's faults: a call that creates something is never
repeated after a 5xx or a dropped connection (Slack may have done it: issue 14's double DM),
one that can be repeated is, and a 429 is retried for every method."""

from __future__ import annotations

import time

import pytest
from slack_sdk.errors import SlackApiError

from bot.slack_client import make_client
from tests.fakeslack import FakeSlack


@pytest.fixture
def fake(monkeypatch):
    monkeypatch.setattr(time, "sleep", lambda seconds: None)  # slack_sdk's backoff, not slept
    with FakeSlack() as slack:
        slack.add_user("U1", "ana")
        slack.add_channel("C1", "general", members=["U1"])
        yield slack


def test_a_post_accepted_then_answered_500_is_not_posted_again(fake):
    client = make_client(fake.api_url, fake.bot_token)
    fake.accept_then_fail("chat.postMessage")
    with pytest.raises(SlackApiError) as err:
        client.chat_postMessage(channel="U1", text="invited")
    assert err.value.response.status_code == 500
    assert [m.text for m in fake.messages("U1")] == ["invited"]


def test_a_post_whose_connection_dropped_is_not_posted_again(fake):
    client = make_client(fake.api_url, fake.bot_token)
    fake.accept_then_drop("chat.postMessage")
    with pytest.raises(OSError):
        client.chat_postMessage(channel="C1", text="digest")
    assert [m.text for m in fake.messages("C1")] == ["digest"]


def test_repeatable_calls_are_retried_and_429s_for_every_method(fake):
    client = make_client(fake.api_url, fake.bot_token)
    fake.fail_next("users.info", status=503)
    fake.accept_then_drop("conversations.open")
    assert client.users_info(user="U1")["ok"] and client.conversations_open(users="U1")["ok"]
    fake.fail_next("chat.postMessage", status=429, retry_after=1)
    assert client.chat_postMessage(channel="C1", text="once")["ok"]
    assert [m.text for m in fake.messages("C1")] == ["once"]
    assert len(fake.calls_to("users.info")) == 2 and len(fake.calls_to("chat.postMessage")) == 2
