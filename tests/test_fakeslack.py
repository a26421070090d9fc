"""Tests of tests/fakeslack itself, driving a tiny real bolt App through it."""

from __future__ import annotations

import json
import logging
import threading
import time
import urllib.request
from pathlib import Path

import pytest
from slack_bolt import App
from slack_bolt.adapter.socket_mode import SocketModeHandler
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_handlers import (
    RateLimitErrorRetryHandler,
    ServerErrorRetryHandler,
)
from slack_sdk.signature import SignatureVerifier

from tests.fakeslack import (
    BlockKitValidator,
    FakeSlack,
    InlineExecutor,
    SlackClientSim,
    ViewSubmissionBlocked,
    close_socket_mode,
    default_schema_path,
    fill_view,
    serve_bolt_app,
    sign,
)
from tests.fakeslack.api.base import web_api_methods
from tests.fakeslack.ratelimit import METHOD_TIERS

SECRET = "test-signing-secret"
REFERENCE = Path(__file__).resolve().parents[1].parent / "shared" / "slack-reference"
needs_reference = pytest.mark.skipif(
    not REFERENCE.is_dir(), reason=f"Slack's reference payloads are not at {REFERENCE} (dev and CI only)"
)


def modal(title: str = "Survey", blocks: list | None = None, **extra) -> dict:
    return {
        "type": "modal",
        "callback_id": "survey",
        "title": {"type": "plain_text", "text": title},
        "submit": {"type": "plain_text", "text": "Send"},
        "close": {"type": "plain_text", "text": "Cancel"},
        "blocks": blocks
        if blocks is not None
        else [
            {
                "type": "input",
                "block_id": "segment",
                "label": {"type": "plain_text", "text": "Segment"},
                "element": {
                    "type": "static_select",
                    "action_id": "answer",
                    "options": [
                        {"text": {"type": "plain_text", "text": t}, "value": t.lower()}
                        for t in ("SMB", "Mid", "Enterprise")
                    ],
                },
            },
            {
                "type": "input",
                "block_id": "why",
                "optional": True,
                "label": {"type": "plain_text", "text": "Why?"},
                "element": {"type": "plain_text_input", "action_id": "answer", "multiline": True},
            },
        ],
        **extra,
    }


@pytest.fixture
def fake():
    with FakeSlack(team_id="T0001") as fake:
        fake.add_user("U1", "ana", tz="Europe/Paris", is_admin=True)
        fake.add_user("U2", "ben")
        fake.add_user("U3", "cyd", deleted=True)
        fake.add_channel("C1", "general", members=["U1", "U2"])
        fake.add_channel("C2", "secret", members=["U1"], bot_member=False)
        fake.add_channel("C3", "old", members=["U1"], archived=True)
        fake.add_usergroup("S1", "sales", ["U1", "U2"])
        yield fake


@pytest.fixture
def client(fake):
    return WebClient(token=fake.bot_token, base_url=fake.api_url)


def build_app(fake: FakeSlack, inline: bool = False) -> App:
    """A tiny bolt app; ``inline``: its listeners run in the dispatching thread."""
    app = App(client=WebClient(token=fake.bot_token, base_url=fake.api_url), signing_secret=SECRET,
              listener_executor=InlineExecutor() if inline else None)

    @app.command("/icp")
    def open_survey(ack, body, client, respond):
        ack()
        try:
            client.views_open(trigger_id=body["trigger_id"], view=modal(private_metadata="round-1"))
        except SlackApiError as err:
            respond(f"Could not open the survey: {err.response['error']}")
            return
        respond("Survey opened")

    @app.view("survey")
    def submitted(ack, view, body, client):
        values = view["state"]["values"]
        if values["segment"]["answer"]["selected_option"]["value"] == "smb":
            ack(response_action="errors", errors={"segment": "SMB is not allowed here"})
            return
        ack()
        client.chat_postMessage(
            channel=body["user"]["id"],
            text="Thanks",
            blocks=[
                {"type": "section", "text": {"type": "mrkdwn", "text": "Thanks!"}},
                {
                    "type": "actions",
                    "elements": [
                        {
                            "type": "button",
                            "action_id": "again",
                            "text": {"type": "plain_text", "text": "Again"},
                            "value": "again",
                        }
                    ],
                },
            ],
        )

    @app.action("again")
    def again(ack, respond):
        ack()
        respond(replace_original=True, text="Done")

    @app.event("app_home_opened")
    def home(event, client):
        client.views_publish(
            user_id=event["user"],
            view={
                "type": "home",
                "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": "Hi"}}],
            },
        )

    return app


# ------------------------------------------------------------------------------ signing
@needs_reference
def test_signature_docs_example():
    body = (
        (REFERENCE / "payloads" / "slash_command__docs_signing_example_body.txt")
        .read_text()
        .strip()
    )
    verifier = SignatureVerifier("8f742231b10e8888abcd99yyyzzz85a5", clock=FixedClock(1531420618))
    expected = "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503"
    headers = sign("8f742231b10e8888abcd99yyyzzz85a5", body, timestamp=1531420618)
    assert headers["X-Slack-Signature"] == expected
    assert verifier.is_valid(body=body, timestamp="1531420618", signature=expected)


class FixedClock:
    def __init__(self, now: float):
        self._now = now

    def now(self) -> float:
        return self._now


# ------------------------------------------------------------------------------ web api
def test_every_method_with_a_rate_tier_is_served():
    """The families' @web_api registry covers every method the rate limiter knows."""
    served = web_api_methods(FakeSlack)
    assert set(METHOD_TIERS) <= set(served), set(METHOD_TIERS) - set(served)
    assert served["chat.postMessage"] == "chat_post_message" and "oauth.v2.access" in served


def test_auth_and_unknown_method(fake, client):
    assert client.auth_test()["bot_id"] == fake.bot_id
    with pytest.raises(SlackApiError) as err:
        WebClient(token="xoxb-wrong", base_url=fake.api_url).auth_test()
    assert err.value.response["error"] == "invalid_auth"
    with pytest.raises(SlackApiError) as err:
        WebClient(base_url=fake.api_url).auth_test()
    assert err.value.response["error"] == "not_authed"
    with pytest.raises(SlackApiError) as err:
        client.api_call("nope.nothing")
    assert err.value.response["error"] == "unknown_method"
    # the token may also come as a form field
    req = urllib.request.Request(fake.api_url + "auth.test", data=b"token=xoxb-test")
    assert json.loads(urllib.request.urlopen(req).read())["ok"] is True


def test_post_to_user_goes_to_dm_and_errors(fake, client):
    resp = client.chat_postMessage(channel="U1", text="hello")
    assert resp["channel"] == "DU1"
    assert client.conversations_open(users="U1")["channel"]["id"] == "DU1"
    assert [m.text for m in fake.messages("U1")] == ["hello"]
    for channel, error in [
        ("C404", "channel_not_found"),
        ("C2", "not_in_channel"),
        ("C3", "is_archived"),
    ]:
        with pytest.raises(SlackApiError) as err:
            client.chat_postMessage(channel=channel, text="x")
        assert err.value.response["error"] == error
    with pytest.raises(SlackApiError) as err:
        client.conversations_open(users="U3")
    assert err.value.response["error"] == "user_disabled"
    with pytest.raises(SlackApiError) as err:
        client.users_info(user="U404")
    assert err.value.response["error"] == "user_not_found"
    with pytest.raises(SlackApiError) as err:
        client.chat_postEphemeral(channel="C1", user="U3", text="x")
    assert err.value.response["error"] == "user_not_in_channel"


def test_update_delete_and_ephemeral(fake, client):
    ts = client.chat_postMessage(channel="C1", text="v1")["ts"]
    client.chat_update(channel="C1", ts=ts, text="v2")
    ts2 = client.chat_postMessage(channel="C1", text="gone")["ts"]
    client.chat_delete(channel="C1", ts=ts2)
    assert [(m.ts, m.text) for m in fake.messages("C1")] == [(ts, "v2")]
    with pytest.raises(SlackApiError) as err:
        client.chat_update(channel="C1", ts="1.2", text="x")
    assert err.value.response["error"] == "message_not_found"
    client.chat_postEphemeral(channel="C1", user="U2", text="psst")
    assert [e.text for e in fake.ephemerals("U2")] == ["psst"]


def test_users_and_pagination(fake, client):
    info = client.users_info(user="U1")["user"]
    assert (info["tz"], info["is_admin"], info["is_owner"], info["is_bot"], info["deleted"]) == (
        "Europe/Paris",
        True,
        False,
        False,
        False,
    )
    assert client.users_info(user="U3")["user"]["deleted"] is True
    ids = []
    for page in client.users_list(limit=2):
        ids += [m["id"] for m in page["members"]]
    assert set(ids) == {"U0BOT", "USLACKBOT", "U1", "U2", "U3"}
    pages = list(client.conversations_members(channel="C1", limit=1))
    assert len(pages) == 3 and pages[-1]["response_metadata"]["next_cursor"] == ""
    assert client.usergroups_users_list(usergroup="S1")["users"] == ["U1", "U2"]
    assert client.usergroups_list()["usergroups"][0]["handle"] == "sales"
    assert client.conversations_info(channel="C1")["channel"]["name"] == "general"
    assert client.team_info()["team"]["id"] == "T0001"


def test_too_many_blocks_is_invalid_blocks(fake, client):
    blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": f"{i}"}} for i in range(51)]
    with pytest.raises(SlackApiError) as err:
        client.chat_postMessage(channel="C1", text="x", blocks=blocks)
    body = err.value.response.data
    assert body["error"] == "invalid_blocks"
    assert body["response_metadata"]["messages"] == [
        "[ERROR] no more than 50 items allowed [json-pointer:/blocks]"
    ]
    assert fake.messages("C1") == []


@pytest.mark.parametrize(
    "view, pointer",
    [
        (modal(title="x" * 25), "/view/title/text"),
        (modal(private_metadata="x" * 3001), "/view/private_metadata"),
        (modal(blocks=[{"type": "divider"}] * 101), "/view/blocks"),
        (
            modal(blocks=[{"type": "header", "text": {"type": "plain_text", "text": "h" * 151}}]),
            "/view/blocks/0/text/text",
        ),
    ],
)
def test_invalid_views_answer_invalid_arguments(fake, client, view, pointer):
    with pytest.raises(SlackApiError) as err:
        client.views_open(trigger_id=fake.new_trigger_id("U1"), view=view)
    assert err.value.response["error"] == "invalid_arguments"
    assert any(pointer + "]" in m for m in err.value.response["response_metadata"]["messages"])


def test_trigger_ids(fake, client):
    now = [100.0]
    fake.clock = lambda: now[0]
    with pytest.raises(SlackApiError) as err:
        client.views_open(trigger_id="1.2.unknown", view=modal())
    assert err.value.response["error"] == "invalid_trigger_id"
    tid = fake.new_trigger_id("U1")
    now[0] += 3.5
    with pytest.raises(SlackApiError) as err:
        client.views_open(trigger_id=tid, view=modal())
    assert err.value.response["error"] == "expired_trigger_id"
    tid = fake.new_trigger_id("U1")
    client.views_open(trigger_id=tid, view=modal())
    with pytest.raises(SlackApiError) as err:
        client.views_open(trigger_id=tid, view=modal())
    assert err.value.response["error"] == "exchanged_trigger_id"


def test_view_stack_update_and_hash(fake, client):
    root = client.views_open(trigger_id=fake.new_trigger_id("U1"), view=modal(external_id="ext-1"))[
        "view"
    ]
    for _ in range(2):
        client.views_push(trigger_id=fake.new_trigger_id("U1"), view=modal(title="Pushed"))
    with pytest.raises(SlackApiError) as err:
        client.views_push(trigger_id=fake.new_trigger_id("U1"), view=modal())
    assert err.value.response["error"] == "push_limit_reached"
    assert [v.id for v in fake.modal_stack("U1")][0] == root["id"]
    with pytest.raises(SlackApiError) as err:
        client.views_update(view_id=root["id"], hash="1.stale", view=modal())
    assert err.value.response["error"] == "hash_conflict"
    updated = client.views_update(
        external_id="ext-1", hash=root["hash"], view=modal(title="New", external_id="ext-1")
    )
    assert updated["view"]["id"] == root["id"] and updated["view"]["hash"] != root["hash"]
    assert fake.views[root["id"]].definition["title"]["text"] == "New"
    with pytest.raises(SlackApiError) as err:
        client.views_update(view_id="V404", view=modal())
    assert err.value.response["error"] == "not_found"


def test_files_upload_v2(fake, client):
    resp = client.files_upload_v2(
        channel="C1", content="a,b\n1,2\n", filename="report.csv", title="Report"
    )
    file_id = resp["file"]["id"]
    assert fake.files[file_id]["content"] == b"a,b\n1,2\n"
    assert fake.messages("C1")[-1].files[0]["id"] == file_id
    assert [c.method for c in fake.calls] == [
        "files.getUploadURLExternal",
        "files.completeUploadExternal",
    ]


def test_files_upload_v2_in_a_thread_with_alt_text(fake, client):
    parent = client.chat_postMessage(channel="C1", text="digest")["ts"]
    png = b"\x89PNG\r\n\x1a\n" + bytes(64)
    client.files_upload_v2(channel="C1", content=png, filename="chart.png", title="Chart",
                           alt_txt="Bar chart of agreement", initial_comment="The chart", thread_ts=parent)
    (reply,) = client.conversations_replies(channel="C1", ts=parent)["messages"][1:]
    assert reply["text"] == "The chart" and reply["thread_ts"] == parent
    assert reply["files"][0]["name"] == "chart.png" and reply["files"][0]["alt_txt"] == "Bar chart of agreement"
    assert [m["text"] for m in client.conversations_history(channel="C1")["messages"]] == ["digest"]
    for kwargs, error in [({"alt_txt": "x" * 1001}, "alt_txt_too_large"),
                          ({"thread_ts": "1.000001"}, "message_not_found")]:
        with pytest.raises(SlackApiError) as err:
            client.files_upload_v2(channel="C1", content=png, filename="chart.png", **kwargs)
        assert err.value.response["error"] == error
    with pytest.raises(SlackApiError) as err:
        client.conversations_replies(channel="C1", ts="1.000001")
    assert err.value.response["error"] == "thread_not_found"


# ------------------------------------------------------------------------------ rate limits
def test_429_retried_by_sdk_handler(fake, monkeypatch):
    """slack_sdk waits the Retry-After the fake sends (recorded here, not slept)."""
    slept: list[float] = []
    monkeypatch.setattr(time, "sleep", slept.append)
    fake.fail_next("chat.postMessage", status=429, retry_after=7)
    client = WebClient(
        token=fake.bot_token,
        base_url=fake.api_url,
        retry_handlers=[RateLimitErrorRetryHandler(max_retry_count=1)],
    )
    assert client.chat_postMessage(channel="C1", text="hi")["ok"]
    assert len(slept) == 1 and 7 <= slept[0] < 8  # Retry-After plus slack_sdk's jitter
    assert fake.rate_limited_count == 1
    first = fake.calls_to("chat.postMessage")[0]
    assert first.response == {"ok": False, "error": "ratelimited"}


def test_429_headers_and_forced_errors(fake, client):
    fake.fail_next("users.info", status=429, retry_after=7)
    with pytest.raises(SlackApiError) as err:
        client.users_info(user="U1")
    assert err.value.response.status_code == 429
    assert err.value.response.headers["Retry-After"] == "7"
    fake.fail_next("users.info", error="ratelimited")
    with pytest.raises(SlackApiError) as err:
        client.users_info(user="U1")
    assert (err.value.response.status_code, err.value.response["error"]) == (200, "ratelimited")
    fake.fail_next("users.info", status=500)
    with pytest.raises(SlackApiError) as err:
        client.users_info(user="U1")
    assert err.value.response.status_code == 500


# ------------------------------------------------------------------------------ faults
def test_fail_next_after_lets_calls_through_first(fake, client):
    fake.fail_next("users.info", status=503, after=2)
    assert client.users_info(user="U1")["ok"] and client.users_info(user="U2")["ok"]
    with pytest.raises(SlackApiError) as err:
        client.users_info(user="U1")
    assert err.value.response.status_code == 503
    assert client.users_info(user="U1")["ok"]  # one fault only
    with pytest.raises(ValueError, match="times must be at least 1"):
        fake.fail_next("users.info", times=0)


def test_accept_then_500_posts_and_answers_500(fake, client, monkeypatch):
    """The message is stored and visible, the answer is a 500: a client that retries server
    errors posts it twice (issue 14's double DM), one that does not sees the 500."""
    fake.accept_then_fail("chat.postMessage", after=1)
    assert client.chat_postMessage(channel="C1", text="first")["ok"]
    with pytest.raises(SlackApiError) as err:
        client.chat_postMessage(channel="C1", text="second")
    assert (err.value.response.status_code, err.value.response["error"]) == (500, "internal_error")
    assert [m.text for m in fake.messages("C1")] == ["first", "second"]
    assert fake.calls_to("chat.postMessage")[1].response == {"ok": False, "error": "internal_error"}

    monkeypatch.setattr(time, "sleep", lambda seconds: None)  # slack_sdk's backoff, not slept
    retrying = WebClient(token=fake.bot_token, base_url=fake.api_url,
                         retry_handlers=[ServerErrorRetryHandler(max_retry_count=1)])
    fake.accept_then_fail("chat.postMessage", status=503)
    assert retrying.chat_postMessage(channel="U1", text="hi")["ok"]
    assert [m.text for m in fake.messages("U1")] == ["hi", "hi"]
    with pytest.raises(ValueError, match="5xx"):
        fake.accept_then_fail("chat.postMessage", status=429)


def test_accept_then_drop_posts_and_hangs_up(fake, monkeypatch):
    """No answer: the client sees the server hang up; slack_sdk's default connection-error
    retry then posts again."""
    bare = WebClient(token=fake.bot_token, base_url=fake.api_url, retry_handlers=[])
    fake.accept_then_drop("chat.postMessage")
    with pytest.raises(OSError):
        bare.chat_postMessage(channel="C1", text="lost answer")
    assert [m.text for m in fake.messages("C1")] == ["lost answer"]
    dropped = fake.calls_to("chat.postMessage")[0].response
    assert dropped["error"] == "connection_dropped" and dropped["done"]["ok"] is True

    monkeypatch.setattr(time, "sleep", lambda seconds: None)  # slack_sdk's backoff, not slept
    default = WebClient(token=fake.bot_token, base_url=fake.api_url)  # ConnectionErrorRetryHandler
    fake.accept_then_drop("chat.postMessage")
    assert default.chat_postMessage(channel="C1", text="again")["ok"]
    assert [m.text for m in fake.messages("C1")] == ["lost answer", "again", "again"]


def test_accept_then_timeout_holds_the_answer_past_the_clients_timeout(fake):
    impatient = WebClient(token=fake.bot_token, base_url=fake.api_url, timeout=1, retry_handlers=[])
    fake.accept_then_drop("chat.postMessage", hold=None)
    with pytest.raises(TimeoutError):
        impatient.chat_postMessage(channel="C1", text="timed out")
    assert [m.text for m in fake.messages("C1")] == ["timed out"]


def test_slow_answers_late_without_blocking_other_calls(fake, client):
    """slow(): the call takes effect at once and its answer waits (here until the fake
    stops); meanwhile other calls are answered."""
    fake.slow("chat.postMessage", 30)
    answers: list = []
    poster = threading.Thread(target=lambda: answers.append(client.chat_postMessage(channel="C1", text="slow")))
    poster.start()
    fake.wait_for(lambda: fake.messages("C1"))
    assert client.auth_test()["ok"]  # not held up by the slow call
    assert poster.is_alive() and answers == []
    fake.stop()  # releases the held answer
    poster.join(timeout=5)
    assert answers and answers[0]["ok"]
    fake.slow("chat.postMessage", None)
    assert fake.limiter.delay_for("chat.postMessage") == 0
    fake.slow("*", 4)
    assert fake.limiter.delay_for("views.open") == 4
    with pytest.raises(ValueError, match="negative"):
        fake.slow("*", -1)


def test_conversations_history(fake, client):
    """Newest first, exclusive bounds unless inclusive, no thread replies, cursor pages, and
    metadata only with include_all_metadata (Slack's default leaves it out)."""
    meta = {"event_type": "icp_align_outbox", "event_payload": {"outbox_key": "k1"}}
    first = client.chat_postMessage(channel="C1", text="one", metadata=meta)["ts"]
    second = client.chat_postMessage(channel="C1", text="two")["ts"]
    client.chat_postMessage(channel="C1", text="reply", thread_ts=first)
    third = client.chat_postMessage(channel="C1", text="three")["ts"]

    history = client.conversations_history(channel="C1")
    assert [m["text"] for m in history["messages"]] == ["three", "two", "one"]
    assert history["has_more"] is False and "metadata" not in history["messages"][-1]
    with_meta = client.conversations_history(channel="C1", include_all_metadata=True)
    assert with_meta["messages"][-1]["metadata"] == meta
    assert [m["text"] for m in client.conversations_history(channel="C1", oldest=first, latest=third)["messages"]] \
        == ["two"]
    assert [m["text"] for m in client.conversations_history(channel="C1", oldest=first, latest=third,
                                                            inclusive=True)["messages"]] == ["three", "two", "one"]
    page = client.conversations_history(channel="C1", limit=2)
    assert [m["ts"] for m in page["messages"]] == [third, second] and page["has_more"] is True
    rest = client.conversations_history(channel="C1", limit=2, cursor=page["response_metadata"]["next_cursor"])
    assert [m["ts"] for m in rest["messages"]] == [first] and rest["response_metadata"]["next_cursor"] == ""

    dm = client.conversations_open(users="U1")["channel"]["id"]
    client.chat_postMessage(channel="U1", text="dm")
    assert [m["text"] for m in client.conversations_history(channel=dm)["messages"]] == ["dm"]
    for channel, error in [("C404", "channel_not_found"), ("C2", "not_in_channel")]:
        with pytest.raises(SlackApiError) as err:
            client.conversations_history(channel=channel)
        assert err.value.response["error"] == error


def test_message_ts_follow_the_fakes_wall_clock():
    with FakeSlack(wall_clock=lambda: 2_000_000_000.5) as shifted:
        shifted.add_channel("C1", "general")
        client = WebClient(token=shifted.bot_token, base_url=shifted.api_url)
        assert client.chat_postMessage(channel="C1", text="x")["ts"].startswith("2000000000.")


def test_token_buckets():
    now = [0.0]
    with FakeSlack(rate_limits=True, clock=lambda: now[0]) as fake:
        fake.add_channel("C1", "general")
        client = WebClient(token=fake.bot_token, base_url=fake.api_url)
        sent = 0
        with pytest.raises(SlackApiError) as err:
            for _ in range(10):
                client.chat_postMessage(channel="C1", text="x")
                sent += 1
        assert sent == 3  # ~1/s per channel, a short burst allowed
        assert (
            err.value.response.status_code == 429
            and int(err.value.response.headers["Retry-After"]) >= 1
        )
        client.chat_postMessage(channel="U0BOT", text="other channel is fine")
        now[0] += 1.0
        client.chat_postMessage(channel="C1", text="after a second")
        for _ in range(20):
            client.users_list()  # Tier 2: 20 per minute
        with pytest.raises(SlackApiError):
            client.users_list()
        assert fake.rate_limited_count == 2


# ------------------------------------------------------------------------------ block kit
def test_schema_is_found_and_overridable(tmp_path, monkeypatch):
    assert BlockKitValidator().schema_loaded == default_schema_path().is_file()
    monkeypatch.setenv("FAKESLACK_BLOCKKIT_SCHEMA", str(tmp_path / "absent.json"))
    validator = BlockKitValidator()
    assert not validator.schema_loaded
    # limits are still enforced without the schema
    long = [{"type": "section", "text": {"type": "mrkdwn", "text": "x" * 3001}}]
    assert validator.validate_blocks(long) == [
        "[ERROR] must be less than 3001 characters [json-pointer:/blocks/0/text/text]"
    ]


@pytest.mark.skipif(not default_schema_path().is_file(), reason="Block Kit schema not available")
def test_schema_catches_what_limits_do_not():
    errors = BlockKitValidator().validate_blocks(
        [{"type": "section", "text": {"type": "plain_text", "text": "x", "verbatim": True}}]
    )
    assert errors == ["[ERROR] invalid additional property: verbatim [json-pointer:/blocks/0/text]"]


def test_documented_limits():
    v = BlockKitValidator(schema_path=False)

    def opt(t, val):
        return {"text": {"type": "plain_text", "text": t}, "value": val}

    cases = {
        "/blocks/0/elements/0/text/text": {
            "type": "actions",
            "elements": [
                {
                    "type": "button",
                    "action_id": "a",
                    "text": {"type": "plain_text", "text": "b" * 76},
                }
            ],
        },
        "/blocks/0/accessory/options": {
            "type": "section",
            "text": {"type": "mrkdwn", "text": "s"},
            "accessory": {
                "type": "static_select",
                "action_id": "s",
                "options": [opt("o", str(i)) for i in range(101)],
            },
        },
        "/blocks/0/element/options": {
            "type": "input",
            "label": {"type": "plain_text", "text": "l"},
            "element": {
                "type": "checkboxes",
                "action_id": "c",
                "options": [opt("o", str(i)) for i in range(11)],
            },
        },
        "/blocks/0/element/options/0/value": {
            "type": "input",
            "label": {"type": "plain_text", "text": "l"},
            "element": {
                "type": "radio_buttons",
                "action_id": "r",
                "options": [opt("o", "v" * 151)],
            },
        },
        "/blocks/0/elements": {
            "type": "context",
            "elements": [{"type": "mrkdwn", "text": "c"}] * 11,
        },
        "/blocks/0/element/max_length": {
            "type": "input",
            "label": {"type": "plain_text", "text": "l"},
            "element": {"type": "plain_text_input", "max_length": 3001},
        },
        "/blocks/0/label/text": {
            "type": "input",
            "label": {"type": "plain_text", "text": "l" * 2001},
            "element": {"type": "plain_text_input"},
        },
    }
    for pointer, block in cases.items():
        errors = v.validate_blocks([block])
        assert len(errors) == 1 and errors[0].endswith(f"[json-pointer:{pointer}]"), (
            pointer,
            errors,
        )
    dup = [{"type": "divider", "block_id": "a"}, {"type": "divider", "block_id": "a"}]
    assert v.validate_blocks(dup) == [
        "[ERROR] block_id must be unique: 'a' [json-pointer:/blocks/1/block_id]"
    ]
    # the same action_id in two different input blocks is fine (unique per containing block)
    view = modal()
    assert v.validate_view(view) == []
    assert BlockKitValidator().validate_view(view) == []


def test_fill_view_shapes():
    view = modal(
        blocks=[
            {
                "type": "input",
                "block_id": b,
                "label": {"type": "plain_text", "text": b},
                "element": el,
            }
            for b, el in {
                "sel": {
                    "type": "static_select",
                    "action_id": "a1",
                    "options": [{"text": {"type": "plain_text", "text": "A"}, "value": "a"}],
                },
                "multi": {
                    "type": "multi_static_select",
                    "action_id": "a2",
                    "options": [
                        {"text": {"type": "plain_text", "text": "A"}, "value": "a"},
                        {"text": {"type": "plain_text", "text": "B"}, "value": "b"},
                    ],
                },
                "boxes": {
                    "type": "checkboxes",
                    "action_id": "a3",
                    "options": [{"text": {"type": "mrkdwn", "text": "*A*"}, "value": "a"}],
                },
                "radio": {
                    "type": "radio_buttons",
                    "action_id": "a4",
                    "options": [{"text": {"type": "plain_text", "text": "A"}, "value": "a"}],
                },
                "text": {"type": "plain_text_input", "action_id": "a5"},
                "num": {"type": "number_input", "action_id": "a6", "is_decimal_allowed": False},
                "who": {"type": "users_select", "action_id": "a7"},
                "whom": {"type": "multi_users_select", "action_id": "a8"},
                "where": {"type": "conversations_select", "action_id": "a9"},
                "when": {"type": "datepicker", "action_id": "a10"},
            }.items()
        ]
    )
    values = fill_view(
        view,
        {
            "a1": "a",
            "a2": ["a", "b"],
            "boxes": ["a"],
            "a4": "a",
            "a5": "hi",
            "a6": 7,
            "a7": "U1",
            "a8": ["U1", "U2"],
            "a9": "C1",
            "a10": "2024-05-01",
        },
    )
    assert values["sel"]["a1"] == {
        "type": "static_select",
        "selected_option": {"text": {"type": "plain_text", "text": "A"}, "value": "a"},
    }
    assert [o["value"] for o in values["multi"]["a2"]["selected_options"]] == ["a", "b"]
    assert values["boxes"]["a3"]["selected_options"][0]["text"]["type"] == "mrkdwn"
    assert values["radio"]["a4"]["selected_option"]["value"] == "a"
    assert values["text"]["a5"] == {"type": "plain_text_input", "value": "hi"}
    assert values["num"]["a6"] == {"type": "number_input", "value": "7"}
    assert values["who"]["a7"] == {"type": "users_select", "selected_user": "U1"}
    assert values["whom"]["a8"]["selected_users"] == ["U1", "U2"]
    assert values["where"]["a9"] == {"type": "conversations_select", "selected_conversation": "C1"}
    assert values["when"]["a10"] == {"type": "datepicker", "selected_date": "2024-05-01"}
    with pytest.raises(ValueError):
        fill_view(view, {"a1": "nope"})
    with pytest.raises(ValueError, match="several blocks"):
        fill_view(modal(), {"answer": "smb"})


# ------------------------------------------------------------------------------ bolt over HTTP
def test_slash_modal_submit_errors_then_ok(fake):
    app = build_app(fake)
    with serve_bolt_app(app) as url:
        slack = SlackClientSim(fake, url, SECRET)
        resp = slack.slash("U1", "")
        assert resp.status == 200
        fake.wait_for(lambda: fake.responses(resp.response_url))
        assert fake.responses(resp.response_url)[0]["text"] == "Survey opened"
        view = fake.current_view("U1")
        assert view.private_metadata == "round-1" and view.user == "U1"

        with pytest.raises(ViewSubmissionBlocked):
            slack.submit("U1", values={"why": "no segment"})  # required select left empty

        ack = slack.submit("U1", values={"segment": "smb"})
        assert ack.response_action == "errors" and ack.errors == {
            "segment": "SMB is not allowed here"
        }
        assert fake.current_view("U1").id == view.id

        ack = slack.submit("U1", values={"segment": "enterprise", "why": "big"})
        assert ack == {} and fake.current_view("U1") is None
        dm = fake.wait_for(lambda: fake.messages("U1"))
        assert dm[0].blocks[1]["elements"][0]["action_id"] == "again"
        assert all(b.get("block_id") for b in dm[0].blocks)  # Slack fills block_ids in

        slack.click("U1", dm[0], "again")
        fake.wait_for(lambda: fake.messages("U1")[0].text == "Done")


def test_bad_signature_rejected(fake):
    resp = SlackClientSim(fake, app=build_app(fake, inline=True), signing_secret="wrong-secret").slash("U1", "")
    assert resp.status == 401
    assert fake.calls_to("views.open") == []


def test_in_process_dispatch_returns_when_the_listener_is_done(fake):
    """Through ``App.dispatch`` with listeners inline: the modal, the response_url post and
    the DM exist when each call returns, without waiting."""
    slack = SlackClientSim(fake, app=build_app(fake, inline=True), signing_secret=SECRET)
    assert slack.synchronous
    resp = slack.slash("U1", "")
    assert resp.status == 200 and resp.body == ""
    assert fake.responses(resp.response_url)[0]["text"] == "Survey opened"
    assert fake.current_view("U1").private_metadata == "round-1"
    ack = slack.submit("U1", values={"segment": "mid"})
    assert ack == {} and fake.current_view("U1") is None
    dm = fake.messages("U1")
    assert dm[0].text == "Thanks"
    slack.click("U1", dm[0], "again")
    assert fake.messages("U1")[0].text == "Done"
    assert slack.expect(lambda: fake.messages("U1")) == fake.messages("U1")
    with pytest.raises(AssertionError):
        slack.expect(lambda: fake.messages("U2"))  # checked once, not awaited


def test_expired_trigger_refused_through_bolt(fake):
    now = [0.0]
    fake.clock = lambda: now[0]
    app = build_app(fake, inline=True)
    original = fake.new_trigger_id

    def stale_trigger(user_id):
        tid = original(user_id)
        now[0] += 5  # the bot only gets to views.open after 5 s
        return tid

    fake.new_trigger_id = stale_trigger
    resp = SlackClientSim(fake, app=app, signing_secret=SECRET).slash("U1", "late")
    [call] = fake.calls_to("views.open")
    assert call.response == {"ok": False, "error": "expired_trigger_id"}
    assert fake.responses(resp.response_url)[0]["text"] == "Could not open the survey: expired_trigger_id"
    assert fake.views == {}


def test_home_opened_publishes(fake):
    resp = SlackClientSim(fake, app=build_app(fake, inline=True), signing_secret=SECRET).home_opened("U2")
    assert resp.status == 200
    assert fake.home_views["U2"].blocks[0]["text"]["text"] == "Hi"


# ------------------------------------------------------------------------------ socket mode
def test_socket_mode_round_trip(fake):
    app = build_app(fake)
    handler = SocketModeHandler(app, fake.app_token)
    assert handler.client.web_client.base_url == fake.api_url
    handler.connect()
    try:
        fake.socket.wait_connected()
        assert (
            fake.calls_to("apps.connections.open")[0].response["url"].startswith("ws://127.0.0.1:")
        )
        slack = SlackClientSim(fake, socket_mode=True)
        resp = slack.slash("U1", "")
        assert resp.status == 200
        fake.wait_for(lambda: fake.current_view("U1"))
        ack = slack.submit("U1", values={"segment": "smb"})
        assert ack.response_action == "errors"
        ack = slack.submit("U1", values={"segment": "mid"})
        assert fake.current_view("U1") is None
        fake.wait_for(lambda: fake.messages("U1"))
        slack.home_opened("U2")
        fake.wait_for(lambda: "U2" in fake.home_views)
        assert fake.socket.ping()  # the builtin client answers our pings
    finally:
        close_socket_mode(handler, fake)
    assert fake.socket.connected == 0 and fake.socket.connect_count == 1  # closed, not reconnected


@needs_reference
def test_socket_mode_raw_envelope(fake):
    app = App(client=WebClient(token=fake.bot_token, base_url=fake.api_url), signing_secret=SECRET)
    got = threading.Event()

    @app.command("/hello-socket-mode")
    def hello(ack):
        got.set()
        ack("Hi!")

    envelopes = json.loads(
        (REFERENCE / "payloads" / "socket_mode_envelopes__bolt_python_test.json").read_text()
    )
    slash = next(e for e in envelopes if e["type"] == "slash_commands")
    handler = SocketModeHandler(app, fake.app_token)
    handler.connect()
    try:
        ack = fake.socket_send(slash)
    finally:
        close_socket_mode(handler, fake)
    assert got.is_set()
    assert ack["envelope_id"] == slash["envelope_id"]
    assert ack["payload"]["text"] == "Hi!"


def test_app_token_only_for_connections_open(fake, client):
    with pytest.raises(SlackApiError) as err:
        client.apps_connections_open(app_token=fake.bot_token)
    assert err.value.response["error"] == "not_allowed_token_type"
    assert client.apps_connections_open(app_token=fake.app_token)["url"].startswith("ws://")


logging.getLogger("slack_bolt").setLevel(logging.WARNING)


def test_response_actions_and_view_closed(fake):
    app = App(client=WebClient(token=fake.bot_token, base_url=fake.api_url), signing_secret=SECRET,
              listener_executor=InlineExecutor())
    closed = threading.Event()

    @app.command("/icp")
    def open_modal(ack, body, client):
        ack()
        client.views_open(
            trigger_id=body["trigger_id"], view=modal(callback_id="step", notify_on_close=True)
        )

    @app.view("step")
    def step(ack, view):
        choice = view["state"]["values"]["segment"]["answer"]["selected_option"]["value"]
        if choice == "mid":
            ack(response_action="push", view=modal(title="Step 2", callback_id="step2"))
        else:
            ack(response_action="update", view=modal(title="Updated", callback_id="step"))

    @app.view("step2")
    def step2(ack):
        ack(response_action="clear")

    @app.view_closed("step")
    def on_close(ack):
        ack()
        closed.set()

    slack = SlackClientSim(fake, app=app, signing_secret=SECRET)
    slack.slash("U1")
    root = fake.current_view("U1")
    ack = slack.submit("U1", values={"segment": "enterprise"})
    assert ack.response_action == "update" and ack.view.id == root.id
    assert root.definition["title"]["text"] == "Updated"
    ack = slack.submit("U1", values={"segment": "mid"})
    assert [v.definition["title"]["text"] for v in fake.modal_stack("U1")] == [
        "Updated",
        "Step 2",
    ]
    assert ack.view.previous_view_id == root.id
    ack = slack.submit("U1", values={"segment": "smb"})
    assert ack.response_action == "clear" and fake.modal_stack("U1") == []

    slack.slash("U1")
    assert fake.current_view("U1") is not None
    resp = slack.close_view("U1")
    assert resp is not None and resp.status == 200
    assert closed.is_set()


def test_json_body_warnings(fake):
    req = urllib.request.Request(
        fake.api_url + "auth.test",
        data=b"{}",
        headers={"Content-Type": "application/json", "Authorization": "Bearer xoxb-test"},
    )
    body = json.loads(urllib.request.urlopen(req).read())
    assert body["warning"] == "missing_charset"
    assert body["response_metadata"]["warnings"] == ["missing_charset"]
