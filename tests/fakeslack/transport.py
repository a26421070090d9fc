"""How ``SlackClientSim`` hands a signed request to the bot: over HTTP, or in process.

``HttpTransport`` POSTs to a Request URL (a real server: the bot's work after the ack goes on
in its own threads, so a test waits on the fake for it). ``BoltDispatch`` gives the same
signed request to bolt's public ``App.dispatch``; with the app built on an ``InlineExecutor``
the listener, and every Slack call it makes, has finished when ``dispatch`` returns, so a test
reads the outcome at once: nothing to wait for, nothing timed.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from concurrent.futures import Executor, Future
from dataclasses import dataclass, field
from typing import Any

from slack_bolt import App
from slack_bolt.request import BoltRequest


@dataclass
class SimResponse:
    """What the bot answered: HTTP status, headers and body (or a Socket Mode ack)."""

    status: int
    body: str
    headers: dict[str, str] = field(default_factory=dict)
    response_url: str | None = None  # slash(): where the bot can respond()

    def json(self) -> Any:
        return json.loads(self.body) if self.body else None


class InlineExecutor(Executor):
    """Runs what is submitted at once, in the caller's thread (``create_app(listener_executor=)``):
    bolt's "ack first, then run the rest" becomes one synchronous call.

    One difference from a pool: when a listener raises after its ack, bolt clears the ack and
    waits out its ack timeout (3 s) before answering; a pool has answered by then. The e2e
    tests fail on any listener error, so that never goes unnoticed as a slow test."""

    def submit(self, fn, /, *args, **kwargs) -> Future:  # type: ignore[override]
        future: Future = Future()
        try:
            result = fn(*args, **kwargs)
        except BaseException as exc:  # noqa: BLE001 - handed to the future, as a pool would
            future.set_exception(exc)
        else:
            future.set_result(result)
        return future


def close_socket_mode(handler: Any, fake: Any) -> None:
    """Stop bolt's ``SocketModeHandler`` promptly: slack_sdk's builtin client holds its read
    lock for up to 3 s (its receive timeout) and closing from its side waits for that, so
    Slack's side closes first (with reconnection off, its public switch) and then the handler."""
    handler.client.auto_reconnect_enabled = False
    if fake.socket is not None:
        fake.socket.close_connections()
    handler.close()


class HttpTransport:
    """POST to the bot's Request URL (a real server, e.g. uvicorn or ``icp-bot run --http``)."""

    synchronous = False

    def __init__(self, url: str, timeout: float = 10.0) -> None:
        self.url = url
        self.timeout = timeout

    def __call__(self, body: str, headers: dict[str, str]) -> SimResponse:
        req = urllib.request.Request(self.url, data=body.encode("utf-8"), headers=headers, method="POST")
        try:
            with urllib.request.urlopen(req, timeout=self.timeout) as resp:  # noqa: S310 - loopback
                return SimResponse(resp.status, resp.read().decode("utf-8"), dict(resp.headers))
        except urllib.error.HTTPError as err:
            return SimResponse(err.code, err.read().decode("utf-8"), dict(err.headers))


class BoltDispatch:
    """Hand the request to ``app.dispatch`` (bolt's public entry point: signature check, ack,
    listeners), as its HTTP adapters do. ``synchronous`` when the app runs listeners inline."""

    def __init__(self, app: App, synchronous: bool = True) -> None:
        self.app = app
        self.synchronous = synchronous

    def __call__(self, body: str, headers: dict[str, str]) -> SimResponse:
        response = self.app.dispatch(BoltRequest(body=body, headers=headers))
        return SimResponse(response.status, response.body, response.first_headers())
