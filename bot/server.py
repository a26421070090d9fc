"""How the bot meets Slack: Socket Mode, or HTTP behind a production ASGI server.

HTTP mode serves bolt under uvicorn. bolt's own ASGI adapter calls the (synchronous) app on
the event loop, which would serialise every request; ``ThreadedSlackRequestHandler`` runs
each dispatch in a worker thread instead, so a slow database call never holds up the ack of
another request. The process keeps no state between requests (everything is in the
database), so replicas can sit behind a load balancer.

Requests to ``/slack/events`` are checked here before bolt sees them: bolt parses the body
before it verifies the signature, and slack_sdk's verifier raises on a timestamp such as
``abc``, so anyone who reaches the port could have a 500 and a traceback per request. Here a
request that is not signed (missing, malformed or stale headers, wrong signature) is a 401, a
signed body that cannot be parsed is a 400, each with one log line that carries no body.
"""

from __future__ import annotations

import asyncio
import logging
import re
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from urllib.parse import parse_qs

from slack_bolt import App
from slack_bolt.adapter.asgi import SlackRequestHandler
from slack_bolt.adapter.asgi.http_request import AsgiHttpRequest
from slack_bolt.adapter.asgi.http_response import AsgiHttpResponse
from slack_bolt.middleware.request_verification import RequestVerification
from slack_bolt.request import BoltRequest
from slack_bolt.response import BoltResponse
from slack_sdk.signature import SignatureVerifier

from bot.startup import Startup

log = logging.getLogger(__name__)

EVENTS_PATH = "/slack/events"

DISPATCH_THREADS = 4
"""Threads that run ``App.dispatch`` (asyncio's default pool has min(32, cores + 4)). A
dispatch thread mostly waits for its listener's ack, and on SQLite the listeners' writes are
serialised anyway, so a few are enough; more only contend for the GIL and the write lock and
stretch the tail: with 100 people answering at once, 4 threads gave 72 steps/s and a p99 of
2.2 s, 16 gave 63 steps/s and 4.5 s (benchmarks/README.md)."""

# Slack sends Unix seconds and "v0=" + 64 hex digits; anything else cannot be a valid request.
_TIMESTAMP = re.compile(r"[0-9]{1,12}")
_SIGNATURE = re.compile(r"v0=[0-9a-f]{64}")


class StrictSignatureVerifier(SignatureVerifier):
    """slack_sdk's verifier, answering False (never raising) for malformed headers."""

    def is_valid(self, body: str | bytes, timestamp: str | None, signature: str | None) -> bool:
        if not isinstance(timestamp, str) or not _TIMESTAMP.fullmatch(timestamp):
            return False
        if not isinstance(signature, str) or not _SIGNATURE.fullmatch(signature):
            return False
        if isinstance(body, bytes):
            # A body that is not UTF-8 cannot match Slack's signature; replacing keeps it a str.
            body = body.decode("utf-8", errors="replace")
        return super().is_valid(body, timestamp, signature)


class Refused(Exception):
    """A request answered with ``status`` and no further work; ``reason`` goes to the log."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


def verified_request(verifier: SignatureVerifier, raw_body: bytes, headers: dict[str, str],
                     query: str = "") -> BoltRequest:
    """The BoltRequest for a signed, well-formed body; raises Refused otherwise.

    The signature is checked on the raw bytes before anything is parsed, so an unsigned
    request costs one HMAC and never reaches bolt's parser."""
    timestamp = headers.get("x-slack-request-timestamp")
    signature = headers.get("x-slack-signature")
    if timestamp is None or signature is None:
        raise Refused(401, "no Slack signature headers")
    if not _TIMESTAMP.fullmatch(timestamp):
        raise Refused(401, "malformed X-Slack-Request-Timestamp")
    if not _SIGNATURE.fullmatch(signature):
        raise Refused(401, "malformed X-Slack-Signature")
    if not verifier.is_valid(raw_body, timestamp, signature):
        raise Refused(401, "invalid signature or a timestamp outside the 5-minute window")
    try:
        text = raw_body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise Refused(400, "signed body is not UTF-8") from exc
    # The body is parsed once, by bolt (a large view_submission costs a millisecond to
    # unquote and decode); whatever does not come out as a JSON object is refused.
    try:
        request = BoltRequest(body=text, query=query, headers=headers)
    except Exception as exc:  # undecodable JSON, or ids of the wrong type bolt reads out of it
        raise Refused(400, f"signed body is not a Slack payload ({type(exc).__name__})") from exc
    if not isinstance(request.body, dict):
        raise Refused(400, "signed body is not a JSON object")
    if not isinstance(request.body.get("event", {}), dict):  # bolt's own middleware reads event.type
        raise Refused(400, "signed body's event is not a JSON object")
    return request


def _is_ssl_check(raw_body: bytes) -> bool:
    """Slack's certificate check of a slash command URL (``ssl_check=1``): bolt answers it 200
    before verifying anything, and so do we; nothing is dispatched."""
    if not raw_body.startswith(b"ssl_check=") and b"&ssl_check=" not in raw_body:
        return False
    return parse_qs(raw_body.decode("utf-8", errors="replace")).get("ssl_check") == ["1"]


async def _read_body(receive) -> bytes:
    chunks = bytearray()
    while True:
        message = await receive()
        if message["type"] != "http.request":  # the client went away
            raise Refused(400, "the request body was not received")
        chunks.extend(message.get("body", b""))
        if not message.get("more_body", False):
            return bytes(chunks)


def _headers(scope: dict[str, Any]) -> dict[str, str]:
    # latin-1 maps every byte to a character, so no header can fail to decode
    return {name.decode("latin-1").lower(): value.decode("latin-1") for name, value in scope["headers"]}


class ThreadedSlackRequestHandler(SlackRequestHandler):
    """bolt's ASGI handler, with requests checked first and dispatched off the event loop."""

    def __init__(self, app: App, path: str = EVENTS_PATH, startup: Startup | None = None) -> None:
        super().__init__(app, path=path)
        self.startup = startup  # while it runs, requests wait for it (bot.startup)
        self.verifier = StrictSignatureVerifier(app._signing_secret or "-")  # bolt keeps it private
        harden_request_verification(app)
        self._executor = ThreadPoolExecutor(max_workers=DISPATCH_THREADS, thread_name_prefix="icp-dispatch")

    async def _run(self, fn, bolt_request: BoltRequest) -> BoltResponse:
        return await asyncio.get_running_loop().run_in_executor(self._executor, fn, bolt_request)

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await super().__call__(scope, receive, send)
            return
        method, path = scope["method"], scope["path"]
        try:
            if method == "POST" and path == self.path:
                body = await _read_body(receive)
                if _is_ssl_check(body):
                    answer = AsgiHttpResponse(status=200, headers={}, body="")
                else:
                    bolt_request = verified_request(self.verifier, body, _headers(scope), _query(scope))
                    if self.startup is not None and not self.startup.ready and \
                            self.startup.acks_first(bolt_request.body):
                        self._executor.submit(self._dispatch_when_started, bolt_request)
                        response = BoltResponse(status=200, body="")  # what its listener acks
                    else:
                        response = await self._run(self._dispatch, bolt_request)
                    answer = AsgiHttpResponse(status=response.status, headers=response.headers,
                                              body=response.body)
            else:
                answer = await self._get_http_response(method=method, path=path,
                                                       request=_QueryCheckedRequest(scope, receive))
        except Refused as refused:
            client = scope.get("client") or ("?", 0)
            log.warning("refused %s %s from %s: %s (%d)", method, path, client[0], refused.reason,
                        refused.status)
            answer = AsgiHttpResponse(status=refused.status, headers={"content-type": ["application/json"]},
                                      body='{"error": "invalid request"}')
        await send(answer.get_response_start())
        await send(answer.get_response_body())

    def _dispatch(self, request: BoltRequest) -> BoltResponse:
        """``app.dispatch``, once the start-up is done (at once when there is none)."""
        if self.startup is not None and not self.startup.wait():
            return BoltResponse(status=503, body="")
        return self.app.dispatch(request)

    def _dispatch_when_started(self, request: BoltRequest) -> None:
        """A slash command already acknowledged: dispatched once the start-up is done (its
        listener's ack goes nowhere, its answer through the response_url as always)."""
        assert self.startup is not None
        if not self.startup.wait():
            self.startup.tell_not_started(request.body)
            return
        try:
            response = self.app.dispatch(request)
        except Exception:  # a thread of the executor: nothing else would log it
            log.exception("a command acknowledged during start-up failed")
            return
        if response.status != 200:
            log.warning("a command acknowledged during start-up was answered %d", response.status)

    async def _in_thread(self, fn, request: AsgiHttpRequest) -> BoltResponse:
        body = await _read_body(request.receive)
        try:
            text = body.decode("utf-8")
            bolt_request = BoltRequest(body=text, query=request.query_string, headers=request.get_headers())
        except Exception as exc:  # the OAuth pages are GETs: a body is junk
            raise Refused(400, f"malformed request ({type(exc).__name__})") from exc
        return await self._run(fn, bolt_request)  # the OAuth pages: OAuth mode starts with no Startup

    async def dispatch(self, request: AsgiHttpRequest) -> BoltResponse:  # pragma: no cover - __call__
        return await self._in_thread(self.app.dispatch, request)

    async def handle_installation(self, request: AsgiHttpRequest) -> BoltResponse:
        return await self._in_thread(self.app.oauth_flow.handle_installation, request)  # type: ignore[union-attr]

    async def handle_callback(self, request: AsgiHttpRequest) -> BoltResponse:
        return await self._in_thread(self.app.oauth_flow.handle_callback, request)  # type: ignore[union-attr]


def _query(scope: dict[str, Any]) -> str:
    try:
        return scope.get("query_string", b"").decode("utf-8")
    except UnicodeDecodeError as exc:
        raise Refused(400, "query string is not UTF-8") from exc


class _QueryCheckedRequest(AsgiHttpRequest):
    """bolt's ASGI request, refusing (not raising on) a query string that is not UTF-8."""

    def __init__(self, scope, receive) -> None:
        self.receive = receive
        self.query_string = _query(scope)
        self.raw_headers = scope["headers"]


def harden_request_verification(app: App) -> None:
    """Give bolt's own signature middleware the strict verifier, so ``app.dispatch`` too answers
    401 (not a 500 with a traceback) for a malformed timestamp or signature header."""
    for middleware in app._middleware_list:  # bolt offers no public way to swap the verifier
        if isinstance(middleware, RequestVerification):
            middleware._verifier = StrictSignatureVerifier(middleware._signing_secret)


def asgi_app(app: App, startup: Startup | None = None) -> ThreadedSlackRequestHandler:
    return ThreadedSlackRequestHandler(app, path=EVENTS_PATH, startup=startup)


def run_http(app: App, host: str, port: int, log_level: str = "info", startup: Startup | None = None) -> None:
    """Serve ``app`` under uvicorn; ``startup`` (if any) is started once the socket listens, and
    its failure stops the server."""
    import uvicorn

    class Server(uvicorn.Server):
        async def startup(self, sockets=None) -> None:
            await super().startup(sockets)
            if startup is not None and not self.should_exit:
                startup.start()

    log.info("ICP Align listening on http://%s:%d%s", host, port, EVENTS_PATH)
    # log_config=None: uvicorn's records go to the handlers bot.cli set up (and their privacy filter)
    server = Server(uvicorn.Config(asgi_app(app, startup), host=host, port=port, log_level=log_level.lower(),
                                   access_log=False, log_config=None))
    if startup is not None:
        startup.on_failure = lambda: setattr(server, "should_exit", True)
    try:  # as uvicorn.run: Ctrl-C (SIGINT) is a stop, not a traceback; a port it cannot bind exits 3
        server.run()
    except KeyboardInterrupt:
        pass
    if not server.started and (startup is None or startup.error is None):
        raise SystemExit(3)


def run_socket_mode(app: App, app_token: str) -> None:
    from slack_bolt.adapter.socket_mode import SocketModeHandler

    log.info("ICP Align connecting in Socket Mode")
    SocketModeHandler(app, app_token).start()
