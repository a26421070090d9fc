"""Bad requests under the production HTTP server: 401 (not signed) or 400 (signed but not a
Slack payload), one log line without a traceback or the body, and the database untouched.

Served by ``bot.server.asgi_app`` under a real uvicorn on loopback, in HTTP and OAuth modes;
bolt's own dispatch (``harden_request_verification``) is checked too."""

from __future__ import annotations

import http.client
import io
import logging
import socket
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from urllib.parse import urlparse

import pytest
from slack_bolt.request import BoltRequest
from sqlalchemy import select

from bot.app import create_app, outbox_sender
from bot.cli import configure_logging
from bot.server import EVENTS_PATH, harden_request_verification
from bot.settings import Mode, Settings
from storage.db import Database
from storage.models import Base
from tests.fakeslack import serve_bolt_app, sign

from .conftest import http_settings
from .helpers import LEADER, SECRET, STAFF, SlackClientSim, start_round
from .test_http_server import serve_uvicorn

ANSWER = "our-secret-strategy-answer"
FORM = f"command=%2Ficp-check&text={ANSWER}&user_id=U0LEAD&team_id=T0001&response_url=https%3A%2F%2Fhooks.slack.com%2Fx"


def _outbox_settled(db) -> bool:
    from storage import outbox

    with db.session(read_only=True) as s:
        return outbox.pending_count(s) == 0


_POOLS: dict[int, ThreadPoolExecutor] = {}


def _app(fake, db, settings=None, mode=Mode.HTTP):
    """The app with a listener pool this module owns (``drain`` waits for it) and its outbox
    drained inline: the database is settled when the listeners are."""
    settings = settings or http_settings(fake)
    pool = ThreadPoolExecutor(max_workers=5, thread_name_prefix="listener")
    app = create_app(settings, db=db, mode=mode, listener_executor=pool,
                     outbox=outbox_sender(settings, db, mode, inline=True))
    _POOLS[id(app)] = pool
    return app


def drain(app) -> None:
    """Wait for the listeners still running after their ack (the pool is ours, not bolt's)."""
    pool = _POOLS.pop(id(app), None)
    if pool is not None:
        pool.shutdown(wait=True)


def _fresh() -> str:
    return str(int(time.time()))


def _unsigned_cases() -> list[tuple[str, bytes, dict[str, str]]]:
    ts = _fresh()
    good_sig = sign(SECRET, FORM, int(ts))["X-Slack-Signature"]
    return [
        ("no headers", FORM.encode(), {}),
        ("timestamp abc", FORM.encode(), {"X-Slack-Request-Timestamp": "abc", "X-Slack-Signature": good_sig}),
        ("timestamp 1e10", FORM.encode(), {"X-Slack-Request-Timestamp": "1e10", "X-Slack-Signature": good_sig}),
        ("timestamp empty", FORM.encode(), {"X-Slack-Request-Timestamp": "", "X-Slack-Signature": good_sig}),
        ("timestamp huge", FORM.encode(), {"X-Slack-Request-Timestamp": "9" * 400, "X-Slack-Signature": good_sig}),
        ("timestamp negative", FORM.encode(), {"X-Slack-Request-Timestamp": "-1", "X-Slack-Signature": good_sig}),
        ("stale timestamp", FORM.encode(), sign(SECRET, FORM, int(ts) - 600)),
        ("signature not ascii", FORM.encode(), {"X-Slack-Request-Timestamp": ts, "X-Slack-Signature": "v0=\xe9"}),
        ("wrong secret", FORM.encode(), sign("not-the-secret", FORM, int(ts))),
        ("unsigned broken json", b'{"type": ', {"Content-Type": "application/json",
                                                "X-Slack-Request-Timestamp": ts, "X-Slack-Signature": "v0=" + "0" * 64}),
        ("unsigned broken payload", b"payload=%7Bnot-json", {"X-Slack-Request-Timestamp": ts,
                                                             "X-Slack-Signature": "v0=" + "0" * 64}),
        ("unsigned not utf-8", b"\xff\xfe\x00payload", {"X-Slack-Request-Timestamp": ts}),
        ("unsigned json list", b"[1, 2]", {"Content-Type": "application/json"}),
    ]


def _signed(body: bytes | str, content_type: str | None = None) -> dict[str, str]:
    text = body.decode("utf-8", errors="replace") if isinstance(body, bytes) else body
    headers = sign(SECRET, text)
    if content_type:
        headers["Content-Type"] = content_type
    return headers


def _signed_malformed_cases() -> list[tuple[str, bytes, dict[str, str]]]:
    cases: list[tuple[str, bytes | str, str | None]] = [
        ("broken json", '{"type": "event_callback", ', "application/json"),
        ("json list", "[1, 2, 3]", "application/json"),
        ("json number", "12", "application/json"),
        ("broken payload", "payload=%7Bnot-json", None),
        ("payload is a list", "payload=%5B1%5D", None),
        ("enterprise is a number", '{"type": "event_callback", "enterprise": 5}', "application/json"),
    ]
    return [(name, body.encode() if isinstance(body, str) else body, _signed(body, ct))
            for name, body, ct in cases]


def snapshot(db: Database) -> dict[str, list[tuple]]:
    with db.session(read_only=True) as s:
        return {t.name: sorted(map(tuple, s.execute(select(t)).all()), key=repr)
                for t in Base.metadata.sorted_tables}


def post(base: str, body: bytes, headers: dict[str, str]) -> int:
    url = urlparse(base)
    conn = http.client.HTTPConnection(url.hostname, url.port, timeout=5)
    try:
        conn.request("POST", EVENTS_PATH, body=body, headers=headers)
        response = conn.getresponse()
        response.read()
        return response.status
    finally:
        conn.close()


@contextmanager
def _logs(caplog: pytest.LogCaptureFixture) -> Iterator[list[logging.LogRecord]]:
    caplog.clear()
    records: list[logging.LogRecord] = []
    yield records
    records.extend(r for r in caplog.records if r.levelno >= logging.INFO)


def _check_refusals(base: str, db: Database, caplog, cases, status: int) -> None:
    before = snapshot(db)
    for name, body, headers in cases:
        with _logs(caplog) as records:
            got = post(base, body, headers)
        assert got == status, (name, got)
        assert len(records) == 1, (name, [r.getMessage() for r in records])
        record = records[0]
        assert record.exc_info is None and record.levelno == logging.WARNING, name
        assert f"({status})" in record.getMessage()
        assert ANSWER not in record.getMessage() and "hooks.slack.com" not in record.getMessage()
    assert snapshot(db) == before


@pytest.fixture
def verbose(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    """Capture at INFO, bolt included (the e2e conftest quiets it to ERROR)."""
    caplog.set_level(logging.INFO)
    caplog.set_level(logging.INFO, logger="slack_bolt")
    return caplog


def test_http_mode_refuses_bad_requests_with_one_line(fake, db, verbose):
    app = _app(fake, db)
    try:
        with serve_uvicorn(app) as base:
            sim = SlackClientSim(fake, base + EVENTS_PATH, SECRET, command="/icp-check")
            start_round(fake, sim, users=STAFF[:3])  # something to leave untouched
            fake.wait_for(lambda: _outbox_settled(db), timeout=10)  # the launch's last DM marked sent
            _check_refusals(base, db, verbose, _unsigned_cases(), 401)
            _check_refusals(base, db, verbose, _signed_malformed_cases(), 400)
            # and a good request still works afterwards; Slack's ssl_check is answered as bolt does
            assert sim.slash(LEADER, "help").status == 200
            assert post(base, b"ssl_check=1&token=legacy", {}) == 200
    finally:
        drain(app)


def test_oauth_mode_refuses_bad_requests_with_one_line(fake, db, verbose):
    settings = Settings(_env_file=None, slack_client_id=fake.client_id, slack_client_secret=fake.client_secret,
                        slack_signing_secret=SECRET, slack_api_url=fake.api_url)
    app = _app(fake, db, settings, Mode.OAUTH)
    try:
        with serve_uvicorn(app) as base:
            _check_refusals(base, db, verbose, _unsigned_cases(), 401)
            _check_refusals(base, db, verbose, _signed_malformed_cases(), 400)
            # the OAuth pages answer junk without a 500
            url = urlparse(base)
            conn = http.client.HTTPConnection(url.hostname, url.port, timeout=5)
            conn.request("GET", "/slack/oauth_redirect?code=%ff&state=%00")
            assert conn.getresponse().status < 500
            conn.close()
    finally:
        drain(app)


def test_bolt_dispatch_answers_401_for_malformed_headers(fake, db, verbose):
    """``app.dispatch`` (bolt's own signature middleware) after harden_request_verification."""
    app = _app(fake, db)
    harden_request_verification(app)
    before = snapshot(db)
    try:
        for ts, signature in [("abc", "v0=" + "0" * 64), ("1e10", "v0=" + "0" * 64), (_fresh(), "v0=\xe9")]:
            verbose.clear()
            response = app.dispatch(BoltRequest(body=FORM, headers={"x-slack-request-timestamp": ts,
                                                                    "x-slack-signature": signature}))
            assert response.status == 401, ts
            records = [r for r in verbose.records if r.levelno >= logging.INFO]
            assert len(records) == 1 and records[0].exc_info is None, [r.getMessage() for r in records]
        assert snapshot(db) == before
    finally:
        drain(app)


# ------------------------------------------------------------------------------ log privacy
@contextmanager
def _bot_logging(level: str = "INFO") -> Iterator[io.StringIO]:
    """The logging ``icp-bot run`` sets up, into a buffer; bolt at its default level."""
    stream = io.StringIO()
    loggers = [logging.getLogger(name) for name in ("", "slack_bolt", "slack_sdk")]
    levels = [logger.level for logger in loggers]
    for library in loggers[1:]:  # the e2e conftest quiets them
        library.setLevel(logging.NOTSET)
    handler = configure_logging(level, stream=stream)
    try:
        yield stream
    finally:
        loggers[0].removeHandler(handler)
        for logger, old in zip(loggers, levels, strict=True):
            logger.setLevel(old)


def test_a_forged_request_leaves_no_answer_in_the_logs(fake, db):
    """bolt logs the whole body of a request with a bad signature at INFO; behind the privacy
    filter the line stays, the answer, the response_url and the user's text do not."""
    with _bot_logging() as logs:  # before create_app, as in `icp-bot run`: bolt copies the root level
        app = _app(fake, db)
        with serve_bolt_app(app) as url:  # bolt's own adapter: no pre-check
            headers = {"Content-Type": "application/x-www-form-urlencoded",
                       **sign("not-the-secret", FORM)}
            request = urllib.request.Request(url, data=FORM.encode(), headers=headers, method="POST")
            with pytest.raises(urllib.error.HTTPError) as refused:
                urllib.request.urlopen(request, timeout=5)  # noqa: S310 - loopback
            assert refused.value.code == 401
        drain(app)
    output = logs.getvalue()
    assert "Invalid request signature detected" in output  # the line is kept...
    assert ANSWER not in output and "hooks.slack.com/x" not in output  # ...without the body
    assert "U0LEAD" not in output


@pytest.mark.logs_errors  # the error line is what is checked
def test_the_log_filter_masks_tokens_and_secrets_at_every_level():
    with _bot_logging("DEBUG") as logs:
        sdk = logging.getLogger("slack_sdk.web.base_client")
        sdk.debug("Received the following response - status: 200, body: "
                  '{"ok": true, "access_token": "xoxb-17-abc", "refresh_token": "xoxe-1-def"}')
        sdk.debug("Sending a request - body_params: {'client_id': '1.2', 'client_secret': 'shh-123'}")
        try:
            raise RuntimeError("auth failed for xoxp-999-secret")
        except RuntimeError:
            logging.getLogger("bot.test").exception("listener failed")
        logging.getLogger("bot.test").info("payload %s", {"type": "view_submission", "view": {
            "state": {"values": {"b": {"a": {"value": ANSWER}}}}}})
    output = logs.getvalue()
    for secret in ("xoxb-17-abc", "xoxe-1-def", "shh-123", "xoxp-999-secret", ANSWER):
        assert secret not in output, secret
    assert "listener failed" in output and "Traceback" in output and "client_id" in output


@pytest.mark.system  # starts `icp-bot run` as a process
def test_icp_bot_run_logs_one_line_per_refusal_and_listens_on_loopback(fake, tmp_path):
    """The real process: `icp-bot run --http` with no --host, its own logging set-up."""
    from .test_cli_run import _free_port, _log, icp_bot

    port = _free_port()
    env = {"SLACK_BOT_TOKEN": fake.bot_token, "SLACK_SIGNING_SECRET": SECRET, "SLACK_API_URL": fake.api_url}
    with icp_bot(tmp_path, env, "--http", "--port", str(port), "--no-scheduler") as proc:
        deadline = time.monotonic() + 30
        while "listening on" not in _log(tmp_path):
            assert proc.poll() is None and time.monotonic() < deadline, _log(tmp_path)
            time.sleep(0.05)
        base = f"http://127.0.0.1:{port}"
        for attempt in range(200):  # uvicorn binds just after the line
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert attempt < 199, _log(tmp_path)
                time.sleep(0.05)
        assert post(base, FORM.encode(), sign("not-the-secret", FORM)) == 401
        assert post(base, FORM.encode(), {"X-Slack-Request-Timestamp": "1e10",
                                          "X-Slack-Signature": "v0=" + "0" * 64}) == 401
        assert post(base, b'{"type": ', {"Content-Type": "application/json", **_signed('{"type": ')}) == 400
    output = _log(tmp_path)
    assert f"listening on http://127.0.0.1:{port}" in output
    refusals = [line for line in output.splitlines() if "refused POST /slack/events" in line]
    assert len(refusals) == 3, output
    assert "Traceback" not in output and ANSWER not in output and "hooks.slack.com/x" not in output
