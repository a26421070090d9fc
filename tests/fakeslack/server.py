"""A loopback fake of Slack's Web API (plus response_url, file upload URLs, Socket Mode).

Usage::

    with FakeSlack() as fake:
        fake.add_user("U1", "ana")
        client = WebClient(token=fake.bot_token, base_url=fake.api_url)

Every call is recorded in ``fake.calls`` as ``Call(method, params, response)`` (the answer the
client got). Shapes, error codes and limits follow Slack's method reference pages on docs.slack.dev.

Faults, per method ("*": any) and per call count (``after=N`` lets N calls through first):
``fail_next`` (429 with Retry-After, 5xx, ``ok: false`` errors, before the call takes effect),
``accept_then_fail`` (the call takes effect, e.g. the message is posted, then the answer is a
500), ``accept_then_drop`` (takes effect, then no answer: held past the client's timeout or
dropped), and ``slow`` (every call answers N seconds late).

``FakeSlack`` is the workspace's state and the call pipeline (auth, forced failures, rate
limits, recording); each Web API family is a mixin in ``api/`` whose handlers are marked
``@web_api("family.method")``: auth, chat, conversations, users, usergroups, views, files,
and response_urls. ``httpd.py`` speaks the HTTP side.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from http.server import ThreadingHTTPServer
from pathlib import Path
from typing import Any, NamedTuple

from .api import (
    AuthApi,
    ChatApi,
    ConversationsApi,
    FilesApi,
    ResponseUrls,
    SlackApiFailure,
    UsergroupsApi,
    UsersApi,
    ViewsApi,
)
from .api.base import web_api_methods
from .api.views import TRIGGER_TTL_SECONDS
from .blockkit import BlockKitValidator
from .httpd import FakeSlackHandler
from .ratelimit import DroppedConnection, ForcedFailure, RateLimiter
from .socket_mode import SocketModeServer
from .workspace import Channel, Ephemeral, Message, User, Usergroup, ViewRecord

DEFAULT_HOLD_SECONDS = 30.0  # accept_then_drop(hold=None): longer than any client's timeout here

__all__ = ["Call", "DroppedConnection", "FakeSlack", "SlackApiFailure"]



class _Server(ThreadingHTTPServer):
    """Slack takes many connections at once: a listen backlog of socketserver's 5 would drop
    the SYNs of a client with more calls in flight (each dropped one costs a 1 s retransmit)."""

    request_queue_size = 128


class Call(NamedTuple):
    method: str
    params: dict[str, Any]
    response: dict[str, Any]


class FakeSlack(AuthApi, ChatApi, ConversationsApi, UsersApi, UsergroupsApi, ViewsApi, FilesApi,
                ResponseUrls):
    """A simulated workspace with Slack's Web API on 127.0.0.1 (port 0)."""

    def __init__(
        self,
        team_id: str = "T0001",
        team_name: str = "Fake Team",
        team_domain: str = "fake-team",
        bot_token: str = "xoxb-test",
        app_token: str = "xapp-test",
        app_id: str = "A0FAKEAPP",
        bot_user_id: str = "U0BOT",
        bot_id: str = "B0BOT",
        bot_name: str = "icp-align",
        rate_limits: bool = False,
        schema_path: str | Path | None | bool = None,
        clock: Callable[[], float] | None = None,
        wall_clock: Callable[[], float] | None = None,
        socket_mode: bool = True,
        include_slackbot: bool = True,
    ) -> None:
        self.team_id = team_id
        self.team_name = team_name
        self.team_domain = team_domain
        self.bot_token = bot_token
        self.app_token = app_token
        self.app_id = app_id
        self.bot_user_id = bot_user_id
        self.bot_id = bot_id
        self.bot_name = bot_name
        self.clock: Callable[[], float] = clock or time.monotonic
        # Unix time of message ts values: a bot whose clock is shifted (ICP_CLOCK_OFFSET) is
        # given a Slack whose clock agrees, as the real ones roughly do.
        self.wall_clock: Callable[[], float] = wall_clock or time.time
        self._stopping = threading.Event()
        self._release = threading.Event()  # set: the answers held now go out (release_held)
        self.validator = BlockKitValidator(schema_path)
        self.limiter = RateLimiter(lambda: self.clock(), enabled=rate_limits)
        self.trigger_ttl = TRIGGER_TTL_SECONDS
        self.auth_error: str | None = None  # e.g. "account_inactive", "token_revoked"
        self.client_id = "111.222"  # the app's OAuth client credentials (oauth.v2.access)
        self.client_secret = "fake-client-secret"
        self.oauth_scopes = "commands,chat:write"
        self._oauth_codes: dict[str, str] = {}

        self.lock = threading.RLock()
        self._changed = threading.Condition(self.lock)
        self.users: dict[str, User] = {}
        self.channels: dict[str, Channel] = {}
        self.usergroups: dict[str, Usergroup] = {}
        self._messages: dict[str, list[Message]] = {}
        self._ephemerals: list[Ephemeral] = []
        self.views: dict[str, ViewRecord] = {}  # open views (modals and home tabs)
        self.closed_views: dict[str, ViewRecord] = {}
        self._stacks: dict[str, list[str]] = {}  # user -> modal view ids, root first
        self.home_views: dict[str, ViewRecord] = {}
        self._triggers: dict[str, tuple[str, float, bool]] = {}  # id -> (user, issued, used)
        self._response_urls: dict[str, dict[str, Any]] = {}
        self._responses: dict[str, list[dict[str, Any]]] = {}
        self.files: dict[str, dict[str, Any]] = {}
        self._upload_tokens: dict[str, str] = {}
        self.calls: list[Call] = []
        self.rate_limited_count = 0
        self._ts_counter = 0
        self._trigger_counter = 0
        self._opened_ims: set[str] = set()
        self._methods = web_api_methods(type(self))
        self.teams: dict[str, str] = {}  # bot token -> team id of the other workspaces (add_team)
        self._team_limiters: dict[str, RateLimiter] = {}
        self.team_calls: list[tuple[str, str, float, bool]] = []  # (team, method, clock, ok)

        self.users[bot_user_id] = User(bot_user_id, bot_name, team_id, is_bot=True)
        if include_slackbot:
            # users.list returns Slackbot too, with is_bot false (a classic trap).
            self.users["USLACKBOT"] = User(
                "USLACKBOT", "slackbot", team_id, tz="America/Los_Angeles"
            )

        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._socket_mode_enabled = socket_mode
        self.socket: SocketModeServer | None = None

    # ================================================================== lifecycle
    def start(self) -> FakeSlack:
        if self._httpd is not None:
            return self
        self._stopping.clear()
        handler = type("BoundHandler", (FakeSlackHandler,), {"fake": self})
        self._httpd = _Server(("127.0.0.1", 0), handler)
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(
            target=self._httpd.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="fakeslack-http",
            daemon=True,
        )
        self._thread.start()
        if self._socket_mode_enabled:
            self.socket = SocketModeServer(self.app_id)
        return self

    def stop(self) -> None:
        self._stopping.set()
        self.release_held()
        if self.socket is not None:
            self.socket.close()
            self.socket = None
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> FakeSlack:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    @property
    def port(self) -> int:
        if self._httpd is None:
            raise RuntimeError("FakeSlack is not started")
        return self._httpd.server_address[1]

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def api_url(self) -> str:
        """Pass as ``WebClient(base_url=...)``."""
        return f"{self.base_url}/api/"

    # ================================================================== recording, waiting
    def calls_to(self, method: str) -> list[Call]:
        with self.lock:
            return [c for c in self.calls if c.method == method]

    def reset_calls(self) -> None:
        with self.lock:
            self.calls.clear()
            self.rate_limited_count = 0

    def fail_next(
        self,
        method: str,
        status: int | None = None,
        retry_after: int | None = 1,
        error: str | None = None,
        times: int = 1,
        *,
        after: int = 0,
    ) -> None:
        """Force the next call(s) to ``method`` ("*" for any) to fail, before they take effect;
        ``after`` calls go through first.

        ``status=429`` (default without ``error``): Retry-After + ``ratelimited``;
        ``status=500``/``503``: a server error; ``error="..."``: HTTP 200 ``ok: false``.
        """
        if status is None:
            status = 200 if error else 429
        self.limiter.fail_next(method, ForcedFailure(status, retry_after, error), times, after)

    def accept_then_fail(self, method: str, status: int = 500, error: str | None = None, times: int = 1,
                         *, after: int = 0) -> None:
        """The call takes effect (a chat.postMessage is stored and visible), then its answer is
        HTTP ``status`` (``internal_error`` by default): the answer that makes a client with a
        server-error retry post twice."""
        if status < 500:
            raise ValueError(f"accept_then_fail answers a server error (5xx), not {status}")
        self.limiter.fail_next(method, ForcedFailure(status, None, error, accept=True), times, after)

    def accept_then_drop(self, method: str, hold: float | None = 0.0, times: int = 1, *, after: int = 0) -> None:
        """The call takes effect, then no answer comes: the connection is held ``hold`` seconds
        (None: ``DEFAULT_HOLD_SECONDS``, past any client's timeout; released when the fake
        stops) and closed. ``hold=0`` drops it at once (the client sees the server hang up)."""
        wait = DEFAULT_HOLD_SECONDS if hold is None else hold
        if wait < 0:
            raise ValueError(f"hold cannot be negative (got {hold})")
        self.limiter.fail_next(method, ForcedFailure(0, None, None, accept=True, drop=True, hold=wait), times, after)

    def slow(self, method: str, seconds: float | None) -> None:
        """Every call to ``method`` ("*" for any) takes effect at once and answers ``seconds``
        later (a slow Slack); ``None`` or 0 makes it fast again. The wait holds no lock: other
        calls go on meanwhile."""
        self.limiter.set_delay(method, seconds)

    def hold(self, seconds: float) -> None:
        """Wait ``seconds``, or less if released or the fake stops (the HTTP side's slow answers)."""
        if seconds > 0 and not self._stopping.is_set():
            self._release.wait(seconds)

    def release_held(self) -> None:
        """Answer at once every call held now by ``slow`` or ``accept_then_drop`` (later ones
        wait again); ``stop`` does it too."""
        with self.lock:
            released, self._release = self._release, threading.Event()
        released.set()

    def wait_for(self, predicate: Callable[[], Any], timeout: float = 5.0) -> Any:
        """Block until ``predicate()`` is truthy (re-checked on every API call)."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                result = predicate()
                if result:
                    return result
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError(f"condition not met within {timeout:.1f}s")
                self._changed.wait(min(remaining, 0.05))

    def wait_for_calls(self, method: str, count: int = 1, timeout: float = 5.0) -> list[Call]:
        return self.wait_for(
            lambda: calls if len(calls := self.calls_to(method)) >= count else None, timeout
        )

    def socket_send(self, envelope: dict[str, Any], timeout: float = 5.0) -> dict[str, Any]:
        """Push a Socket Mode envelope to the connected app; returns its ack."""
        if self.socket is None:
            raise RuntimeError("Socket Mode is disabled or the fake is not started")
        return self.socket.send(envelope, timeout=timeout)

    # ================================================================== the call pipeline
    def dispatch(
        self, method: str, params: dict[str, Any], token: str | None
    ) -> tuple[int, dict[str, str], dict[str, Any]]:
        """(status, extra headers, body) for one Web API call; raises ``DroppedConnection``
        when the call is to get no answer."""
        forced = self.limiter.pop_forced(method)
        if forced is not None and forced.accept:
            status, headers, body = self._dispatch(method, params, token)
            if forced.drop:
                raise DroppedConnection(forced.hold, body)
            return forced.status, {}, {"ok": False, "error": forced.error or "internal_error"}
        if forced is not None:
            headers: dict[str, str] = {}
            if forced.status == 429:
                with self.lock:
                    self.rate_limited_count += 1
                if forced.retry_after is not None:
                    headers["Retry-After"] = str(forced.retry_after)
                return 429, headers, {"ok": False, "error": forced.error or "ratelimited"}
            if forced.status >= 500:
                return (
                    forced.status,
                    headers,
                    {"ok": False, "error": forced.error or "internal_error"},
                )
            return forced.status, headers, {"ok": False, "error": forced.error or "fatal_error"}
        return self._dispatch(method, params, token)

    def _dispatch(
        self, method: str, params: dict[str, Any], token: str | None
    ) -> tuple[int, dict[str, str], dict[str, Any]]:
        name = self._methods.get(method)
        if name is None:
            return 200, {}, {"ok": False, "error": "unknown_method"}
        handler = getattr(self, name)
        if not handler.slack_needs_token:  # oauth.v2.access: the app's client credentials
            with self.lock:
                return 200, {}, handler(params)
        if not token:
            return 200, {}, {"ok": False, "error": "not_authed"}
        team = self.teams.get(token or "")
        if token not in (self.bot_token, self.app_token) and team is None:
            return 200, {}, {"ok": False, "error": "invalid_auth"}
        if self.auth_error:
            return 200, {}, {"ok": False, "error": self.auth_error}
        is_app_token = token == self.app_token
        if (method == "apps.connections.open") != is_app_token:
            return 200, {}, {"ok": False, "error": "not_allowed_token_type"}

        channel = params.get("channel") if method == "chat.postMessage" else None
        retry_after = (self._team_limiters[team] if team else self.limiter).check(
            method, self.resolve_channel_id(channel) if isinstance(channel, str) else None
        )
        if retry_after is not None:
            with self.lock:
                self.rate_limited_count += 1
            return 429, {"Retry-After": str(retry_after)}, {"ok": False, "error": "ratelimited"}

        try:
            with self.lock:
                body = handler(params)
        except SlackApiFailure as failure:
            body = failure.body()
        if team:
            self._record_team_call(team, method, body)
        return 200, {}, body

    # ================================================================== more workspaces
    def add_team(self, team_id: str, bot_token: str) -> None:
        """Another workspace that installed the app (OAuth mode): calls with ``bot_token`` act in
        this fake's state, are rate-limited per workspace as Slack does (their own buckets), and
        are counted in ``team_calls``."""
        with self.lock:
            self.teams[bot_token] = team_id
            self._team_limiters[team_id] = RateLimiter(lambda: self.clock(), enabled=self.limiter.enabled)

    def _record_team_call(self, team: str, method: str, body: dict[str, Any]) -> None:
        with self._changed:
            self.team_calls.append((team, method, self.clock(), bool(body.get("ok"))))
            self._changed.notify_all()

    def record_call(self, method: str, params: dict[str, Any], response: dict[str, Any]) -> None:
        with self._changed:
            self.calls.append(Call(method, params, response))
            self._changed.notify_all()

    def _notify(self) -> None:
        with self._changed:
            self._changed.notify_all()
