"""A loopback fake of Slack's Web API (plus response_url, file upload URLs, Socket Mode).

Usage::

    with FakeSlack() as fake:
        fake.add_user("U1", "ana")
        client = WebClient(token=fake.bot_token, base_url=fake.api_url)

Every call is recorded in ``fake.calls`` as ``Call(method, params, response)``.
Shapes, error codes and limits follow Slack's method reference pages on docs.slack.dev.
"""

from __future__ import annotations

import base64
import copy
import json
import secrets
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, NamedTuple
from urllib.parse import parse_qs, urlparse

from .blockkit import MAX_MESSAGE_TEXT, BlockKitValidator, fill_ids, view_size_ok
from .ratelimit import ForcedFailure, RateLimiter
from .socket_mode import SocketModeServer
from .workspace import Channel, Ephemeral, Message, User, Usergroup, ViewRecord, slack_id

TRIGGER_TTL_SECONDS = 3.0  # "a trigger_id lives 3 s and works once"
MAX_VIEW_STACK = 3  # views.push: push_limit_reached, "Currently the limit is 3"
DEFAULT_MEMBERS_PAGE = 100  # conversations.members default limit


class Call(NamedTuple):
    method: str
    params: dict[str, Any]
    response: dict[str, Any]


class SlackApiFailure(Exception):
    """Raised inside a handler to answer ``{"ok": false, "error": ...}``."""

    def __init__(self, error: str, messages: list[str] | None = None, **extra: Any):
        super().__init__(error)
        self.error = error
        self.messages = messages
        self.extra = extra

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {"ok": False, "error": self.error, **self.extra}
        if self.messages:
            body["response_metadata"] = {"messages": self.messages}
        return body


def _json_param(value: Any, name: str) -> Any:
    """Slack accepts JSON-typed arguments either as JSON or as JSON-encoded strings."""
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError as exc:
            raise SlackApiFailure(
                "invalid_arguments", [f"[ERROR] invalid JSON in `{name}` [json-pointer:/{name}]"]
            ) from exc
    return value


def _encode_cursor(offset: int) -> str:
    return base64.b64encode(f"offset:{offset}".encode()).decode()


def _decode_cursor(cursor: str | None) -> int:
    if not cursor:
        return 0
    try:
        kind, _, n = base64.b64decode(cursor).decode().partition(":")
        if kind != "offset":
            raise ValueError(kind)
        return int(n)
    except ValueError as exc:
        raise SlackApiFailure("invalid_cursor") from exc


def _truthy(value: Any) -> bool:
    return value in (True, 1, "1", "true", "True")


class FakeSlack:
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
        handler = type("_BoundHandler", (_Handler,), {"fake": self})
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
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

    # ================================================================== workspace setup
    def add_user(
        self,
        user_id: str,
        name: str,
        tz: str = "America/New_York",
        is_admin: bool = False,
        is_owner: bool = False,
        deleted: bool = False,
        is_bot: bool = False,
        tz_offset: int | None = None,
        real_name: str | None = None,
        email: str | None = None,
    ) -> User:
        offset = tz_offset if tz_offset is not None else _tz_offset(tz)
        user = User(
            user_id,
            name,
            self.team_id,
            tz=tz,
            tz_offset=offset,
            is_admin=is_admin,
            is_owner=is_owner,
            is_bot=is_bot,
            deleted=deleted,
            real_name=real_name,
            email=email,
        )
        with self.lock:
            self.users[user_id] = user
        return user

    def add_channel(
        self,
        channel_id: str,
        name: str,
        members: list[str] | None = None,
        archived: bool = False,
        bot_member: bool = True,
        is_private: bool = False,
    ) -> Channel:
        members = list(members or [])
        if bot_member and self.bot_user_id not in members:
            members.append(self.bot_user_id)
        channel = Channel(channel_id, name, members, archived, bot_member, is_private=is_private)
        with self.lock:
            self.channels[channel_id] = channel
        return channel

    def add_usergroup(
        self, usergroup_id: str, handle: str, users: list[str], name: str = ""
    ) -> Usergroup:
        group = Usergroup(usergroup_id, handle, list(users), name=name, team_id=self.team_id)
        with self.lock:
            self.usergroups[usergroup_id] = group
        return group

    def deactivate_user(self, user_id: str) -> None:
        with self.lock:
            self.users[user_id].deleted = True
            dm = self.channels.get("D" + user_id)
            if dm is not None:
                dm.archived = True

    # ================================================================== triggers & urls
    def new_trigger_id(self, user_id: str) -> str:
        """A trigger_id as an interaction would carry (valid once, for ``trigger_ttl`` s)."""
        with self.lock:
            self._trigger_counter += 1
            tid = f"{self._trigger_counter}.{abs(hash(self.team_id)) % 10**11}.{secrets.token_hex(16)}"
            self._triggers[tid] = (user_id, self.clock(), False)
        return tid

    def new_response_url(
        self,
        kind: str,
        channel_id: str,
        user_id: str,
        message_ts: str | None = None,
        is_ephemeral: bool = False,
    ) -> str:
        """A response_url ("commands" or "actions") the bot can ``respond()`` to."""
        with self.lock:
            self._trigger_counter += 1
            url = (
                f"{self.base_url}/{kind}/{self.team_id}/{self._trigger_counter}/"
                f"{secrets.token_urlsafe(18)}"
            )
            self._response_urls[url] = {
                "channel": channel_id,
                "user": user_id,
                "message_ts": message_ts,
                "is_ephemeral": is_ephemeral,
            }
            self._responses[url] = []
        return url

    def responses(self, response_url: str) -> list[dict[str, Any]]:
        with self.lock:
            return list(self._responses.get(response_url, []))

    # ================================================================== recording helpers
    def calls_to(self, method: str) -> list[Call]:
        with self.lock:
            return [c for c in self.calls if c.method == method]

    def reset_calls(self) -> None:
        with self.lock:
            self.calls.clear()
            self.rate_limited_count = 0

    def _resolve_channel_id(self, channel: str) -> str:
        if channel and channel[0] in "UW" and channel in self.users:
            return "D" + channel
        return channel

    def messages(self, channel: str) -> list[Message]:
        """Current messages in a channel (or a user's DM, by user id), oldest first."""
        with self.lock:
            return list(self._messages.get(self._resolve_channel_id(channel), []))

    def message(self, channel: str, ts: str) -> Message | None:
        for m in self.messages(channel):
            if m.ts == ts:
                return m
        return None

    def ephemerals(self, user: str | None = None, channel: str | None = None) -> list[Ephemeral]:
        with self.lock:
            return [
                e
                for e in self._ephemerals
                if (user is None or e.user == user)
                and (channel is None or e.channel == self._resolve_channel_id(channel))
            ]

    def modal_stack(self, user_id: str) -> list[ViewRecord]:
        """The user's open modal views, root first (empty when none is open)."""
        with self.lock:
            return [self.views[v] for v in self._stacks.get(user_id, [])]

    def current_view(self, user_id: str) -> ViewRecord | None:
        stack = self.modal_stack(user_id)
        return stack[-1] if stack else None

    def fail_next(
        self,
        method: str,
        status: int | None = None,
        retry_after: int | None = 1,
        error: str | None = None,
        times: int = 1,
    ) -> None:
        """Force the next call(s) to ``method`` ("*" for any) to fail.

        ``status=429`` (default without ``error``): Retry-After + ``ratelimited``;
        ``status=500``/``503``: a server error; ``error="..."``: HTTP 200 ``ok: false``.
        """
        if status is None:
            status = 200 if error else 429
        self.limiter.fail_next(method, ForcedFailure(status, retry_after, error), times)

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

    # ================================================================== internals
    def _next_ts(self) -> str:
        self._ts_counter += 1
        return f"{int(time.time())}.{self._ts_counter:06d}"

    def _new_hash(self) -> str:
        return f"{int(time.time())}.{secrets.token_hex(4)}"

    def _record(self, method: str, params: dict[str, Any], response: dict[str, Any]) -> None:
        with self._changed:
            self.calls.append(Call(method, params, response))
            self._changed.notify_all()

    def _notify(self) -> None:
        with self._changed:
            self._changed.notify_all()

    # ------------------------------------------------------------------ dispatch
    def _dispatch(
        self, method: str, params: dict[str, Any], token: str | None
    ) -> tuple[int, dict[str, str], dict[str, Any]]:
        """(status, extra headers, body) for one Web API call."""
        forced = self.limiter.pop_forced(method)
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

        handler = getattr(self, "_m_" + method.replace(".", "_"), None)
        if handler is None:
            return 200, {}, {"ok": False, "error": "unknown_method"}
        if method == "oauth.v2.access":  # authenticated by the app's client credentials, not a token
            with self.lock:
                return 200, {}, self._oauth_v2_access(params)
        if not token:
            return 200, {}, {"ok": False, "error": "not_authed"}
        if token not in (self.bot_token, self.app_token):
            return 200, {}, {"ok": False, "error": "invalid_auth"}
        if self.auth_error:
            return 200, {}, {"ok": False, "error": self.auth_error}
        is_app_token = token == self.app_token
        if (method == "apps.connections.open") != is_app_token:
            return 200, {}, {"ok": False, "error": "not_allowed_token_type"}

        channel = params.get("channel") if method == "chat.postMessage" else None
        retry_after = self.limiter.check(
            method, self._resolve_channel_id(channel) if isinstance(channel, str) else None
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
        return 200, {}, body

    # ------------------------------------------------------------------ helpers
    def _user(self, user_id: Any) -> User:
        user = self.users.get(user_id) if isinstance(user_id, str) else None
        if user is None:
            raise SlackApiFailure("user_not_found")
        return user

    def _ensure_dm(self, user_id: str) -> Channel:
        dm_id = "D" + user_id
        channel = self.channels.get(dm_id)
        if channel is None:
            channel = Channel(
                dm_id,
                dm_id,
                [user_id, self.bot_user_id],
                is_im=True,
                im_user=user_id,
                archived=self.users[user_id].deleted,
            )
            self.channels[dm_id] = channel
        return channel

    def _channel_for_post(self, channel_arg: Any) -> Channel:
        """Resolve chat.* ``channel``: a channel id, a DM id, a user id, or a #name."""
        if not isinstance(channel_arg, str) or not channel_arg:
            raise SlackApiFailure("channel_not_found")
        if channel_arg[0] in "UW":
            user = self.users.get(channel_arg)
            if user is None:
                raise SlackApiFailure("channel_not_found")
            channel = self._ensure_dm(user.id)
        elif channel_arg[0] == "D" and channel_arg[1:] in self.users:
            channel = self._ensure_dm(channel_arg[1:])
        else:
            channel = self.channels.get(channel_arg)
            if channel is None:
                name = channel_arg.lstrip("#")
                channel = next((c for c in self.channels.values() if c.name == name), None)
            if channel is None:
                raise SlackApiFailure("channel_not_found")
        if channel.is_im and channel.im_user and self.users[channel.im_user].deleted:
            channel.archived = True
        if channel.archived:
            raise SlackApiFailure("is_archived")
        if not channel.is_im and not channel.bot_member:
            raise SlackApiFailure("not_in_channel")
        return channel

    def _content(self, params: dict[str, Any]) -> tuple[str, list[dict[str, Any]] | None]:
        text = params.get("text") or ""
        blocks = params.get("blocks")
        attachments = params.get("attachments")
        if blocks is not None:
            blocks = _json_param(blocks, "blocks")
            errors = self.validator.validate_blocks(blocks)
            if errors:
                raise SlackApiFailure("invalid_blocks", errors, errors=[_strip(e) for e in errors])
            blocks = fill_ids(blocks)
        if not text and not blocks and not attachments:
            raise SlackApiFailure("no_text")
        if len(text) > MAX_MESSAGE_TEXT:
            raise SlackApiFailure("msg_too_long")
        return text, blocks

    def _find_message(self, channel_id: str, ts: Any) -> Message:
        for m in self._messages.get(channel_id, []):
            if m.ts == ts:
                return m
        raise SlackApiFailure("message_not_found")

    def _paginate(
        self, items: list[Any], params: dict[str, Any], default: int | None
    ) -> tuple[list[Any], str]:
        offset = _decode_cursor(params.get("cursor"))
        limit_raw = params.get("limit")
        limit = int(limit_raw) if limit_raw not in (None, "", 0, "0") else default
        if limit is None:
            return items[offset:], ""
        limit = max(1, min(limit, 1000))
        page = items[offset : offset + limit]
        next_offset = offset + limit
        return page, (_encode_cursor(next_offset) if next_offset < len(items) else "")

    # ================================================================== methods
    # ------------------------------------------------------------------ OAuth
    def new_oauth_code(self, user_id: str) -> str:
        """A one-time code, as Slack appends to the redirect URL after the user allows the app."""
        code = f"{self.team_id}.{secrets.token_hex(8)}"
        with self.lock:
            self._oauth_codes[code] = user_id
        return code

    def _m_oauth_v2_access(self, params: dict[str, Any]) -> dict[str, Any]:  # routed by _dispatch
        return self._oauth_v2_access(params)

    def _oauth_v2_access(self, params: dict[str, Any]) -> dict[str, Any]:
        """oauth.v2.access: exchange a code for the bot token (Slack's response shape)."""
        if (params.get("client_id"), params.get("client_secret")) != (self.client_id, self.client_secret):
            return {"ok": False, "error": "invalid_client_id"
                    if params.get("client_id") != self.client_id else "bad_client_secret"}
        user_id = self._oauth_codes.pop(params.get("code") or "", None)
        if user_id is None:
            return {"ok": False, "error": "invalid_code"}
        return {
            "ok": True,
            "access_token": self.bot_token,
            "token_type": "bot",
            "scope": self.oauth_scopes,
            "bot_user_id": self.bot_user_id,
            "app_id": self.app_id,
            "team": {"id": self.team_id, "name": self.team_name},
            "enterprise": None,
            "authed_user": {"id": user_id},
            "is_enterprise_install": False,
        }

    def _m_auth_test(self, params: dict[str, Any]) -> dict[str, Any]:
        return {
            "ok": True,
            "url": f"https://{self.team_domain}.slack.com/",
            "team": self.team_name,
            "user": self.bot_name,
            "team_id": self.team_id,
            "user_id": self.bot_user_id,
            "bot_id": self.bot_id,
            "is_enterprise_install": False,
        }

    def _m_team_info(self, params: dict[str, Any]) -> dict[str, Any]:
        return {
            "ok": True,
            "team": {
                "id": self.team_id,
                "name": self.team_name,
                "domain": self.team_domain,
                "email_domain": "example.com",
                "icon": {"image_default": True},
            },
        }

    def _m_apps_connections_open(self, params: dict[str, Any]) -> dict[str, Any]:
        if self.socket is None:
            raise SlackApiFailure("not_allowed")  # Socket Mode off for this app
        return {"ok": True, "url": self.socket.issue_url()}

    # ------------------------------------------------------------------ chat
    def _m_chat_postMessage(self, params: dict[str, Any]) -> dict[str, Any]:
        channel = self._channel_for_post(params.get("channel"))
        text, blocks = self._content(params)
        thread_ts = params.get("thread_ts") or None
        if thread_ts:
            self._find_message(channel.id, thread_ts)
        metadata = params.get("metadata")
        message = Message(
            channel=channel.id,
            ts=self._next_ts(),
            text=text,
            blocks=blocks,
            user=self.bot_user_id,
            bot_id=self.bot_id,
            thread_ts=thread_ts,
            metadata=_json_param(metadata, "metadata") if metadata else None,
        )
        self._messages.setdefault(channel.id, []).append(message)
        return {
            "ok": True,
            "channel": channel.id,
            "ts": message.ts,
            "message": message.to_api(self.team_id),
        }

    def _m_chat_postEphemeral(self, params: dict[str, Any]) -> dict[str, Any]:
        channel = self._channel_for_post(params.get("channel"))
        user = self._user(params.get("user"))
        if not channel.is_im and user.id not in channel.members:
            raise SlackApiFailure("user_not_in_channel")
        text, blocks = self._content(params)
        eph = Ephemeral(channel.id, user.id, self._next_ts(), text, blocks)
        self._ephemerals.append(eph)
        return {"ok": True, "message_ts": eph.ts}

    def _m_chat_update(self, params: dict[str, Any]) -> dict[str, Any]:
        channel_id = self._resolve_channel_id(params.get("channel") or "")
        if channel_id not in self.channels:
            raise SlackApiFailure("channel_not_found")
        message = self._find_message(channel_id, params.get("ts"))
        if message.user != self.bot_user_id:
            raise SlackApiFailure("cant_update_message")
        if "blocks" in params or "text" in params:
            merged = {
                "text": params.get("text", message.text),
                "blocks": params.get("blocks", message.blocks),
            }
            text, blocks = self._content(merged)
            message.text, message.blocks = text, blocks
        message.edited = True
        return {
            "ok": True,
            "channel": channel_id,
            "ts": message.ts,
            "text": message.text,
            "message": message.to_api(self.team_id),
        }

    def _m_chat_delete(self, params: dict[str, Any]) -> dict[str, Any]:
        channel_id = self._resolve_channel_id(params.get("channel") or "")
        if channel_id not in self.channels:
            raise SlackApiFailure("channel_not_found")
        message = self._find_message(channel_id, params.get("ts"))
        if message.user != self.bot_user_id:
            raise SlackApiFailure("cant_delete_message")
        self._messages[channel_id].remove(message)
        return {"ok": True, "channel": channel_id, "ts": message.ts}

    # ------------------------------------------------------------------ conversations
    def _m_conversations_open(self, params: dict[str, Any]) -> dict[str, Any]:
        if params.get("channel"):
            channel = self.channels.get(params["channel"])
            if channel is None or not channel.is_im:
                raise SlackApiFailure("channel_not_found")
            return {"ok": True, "channel": {"id": channel.id}}
        users_arg = params.get("users")
        if isinstance(users_arg, list):
            users = [str(u) for u in users_arg]
        else:
            users = [u.strip() for u in str(users_arg or "").split(",") if u.strip()]
        if not users:
            raise SlackApiFailure("users_list_not_supplied")
        if len(users) > 8:
            raise SlackApiFailure("too_many_users")
        for uid in users:
            if self._user(uid).deleted:
                raise SlackApiFailure("user_disabled")
        if len(users) > 1:
            raise SlackApiFailure("method_not_supported_for_channel_type")  # no MPIMs here
        channel = self._ensure_dm(users[0])
        body: dict[str, Any] = {"ok": True}
        if channel.id in self._opened_ims:
            body.update({"no_op": True, "already_open": True})
        self._opened_ims.add(channel.id)
        body["channel"] = (
            channel.to_api() if _truthy(params.get("return_im")) else {"id": channel.id}
        )
        return body

    def _m_conversations_info(self, params: dict[str, Any]) -> dict[str, Any]:
        channel = self.channels.get(params.get("channel") or "")
        if channel is None:
            raise SlackApiFailure("channel_not_found")
        return {"ok": True, "channel": channel.to_api()}

    def _m_conversations_members(self, params: dict[str, Any]) -> dict[str, Any]:
        channel = self.channels.get(params.get("channel") or "")
        if channel is None:
            raise SlackApiFailure("channel_not_found")
        page, cursor = self._paginate(list(channel.members), params, DEFAULT_MEMBERS_PAGE)
        return {"ok": True, "members": page, "response_metadata": {"next_cursor": cursor}}

    # ------------------------------------------------------------------ users
    def _m_users_info(self, params: dict[str, Any]) -> dict[str, Any]:
        return {"ok": True, "user": self._user(params.get("user")).to_api()}

    def _m_users_list(self, params: dict[str, Any]) -> dict[str, Any]:
        members = [u.to_api() for u in self.users.values()]
        page, cursor = self._paginate(members, params, None)
        return {
            "ok": True,
            "members": page,
            "cache_ts": int(time.time()),
            "response_metadata": {"next_cursor": cursor},
        }

    def _m_usergroups_list(self, params: dict[str, Any]) -> dict[str, Any]:
        include_users = _truthy(params.get("include_users"))
        return {
            "ok": True,
            "usergroups": [g.to_api(include_users) for g in self.usergroups.values()],
        }

    def _m_usergroups_users_list(self, params: dict[str, Any]) -> dict[str, Any]:
        group = self.usergroups.get(params.get("usergroup") or "")
        if group is None:
            raise SlackApiFailure("no_such_subteam")
        return {"ok": True, "users": list(group.users)}

    # ------------------------------------------------------------------ views
    def _view_arg(self, params: dict[str, Any], expected: tuple[str, ...]) -> dict[str, Any]:
        if "view" not in params:
            raise SlackApiFailure("invalid_arguments", ["[ERROR] missing required field: view"])
        view = _json_param(params["view"], "view")
        if not isinstance(view, dict):
            raise SlackApiFailure(
                "invalid_arguments", ["[ERROR] must provide an object [json-pointer:/view]"]
            )
        if not view_size_ok(view):
            raise SlackApiFailure("view_too_large")
        errors = self.validator.validate_view(view)
        if not errors and view.get("type") not in expected:
            errors = [f"[ERROR] must be one of {list(expected)!r} [json-pointer:/view/type]"]
        if errors:
            raise SlackApiFailure("invalid_arguments", errors)
        ext = view.get("external_id")
        if ext:
            for other in self.views.values():
                if other.external_id == ext and other.id != params.get("view_id"):
                    if params.get("external_id") != ext:
                        raise SlackApiFailure("duplicate_external_id")
        return view

    def _use_trigger(self, params: dict[str, Any]) -> str:
        tid = params.get("trigger_id") or params.get("interactivity_pointer")
        if not tid:
            raise SlackApiFailure(
                "invalid_arguments", ["[ERROR] missing required field: trigger_id"]
            )
        entry = self._triggers.get(tid)
        if entry is None:
            raise SlackApiFailure("invalid_trigger_id")
        user, issued, used = entry
        if used:
            raise SlackApiFailure("exchanged_trigger_id")
        if self.clock() - issued > self.trigger_ttl:
            raise SlackApiFailure("expired_trigger_id")
        self._triggers[tid] = (user, issued, True)
        return user

    def _new_view(
        self, user: str, view: dict[str, Any], root: str | None, previous: str | None
    ) -> ViewRecord:
        definition = copy.deepcopy(view)
        definition["blocks"] = fill_ids(definition.get("blocks", []))
        view_id = slack_id("V", 10)
        record = ViewRecord(
            id=view_id,
            user=user,
            type=definition["type"],
            definition=definition,
            hash=self._new_hash(),
            team_id=self.team_id,
            app_id=self.app_id,
            bot_id=self.bot_id,
            root_view_id=root or view_id,
            previous_view_id=previous,
        )
        self.views[view_id] = record
        return record

    def _m_views_open(self, params: dict[str, Any]) -> dict[str, Any]:
        view = self._view_arg(params, ("modal",))
        user = self._use_trigger(params)
        for old in self._stacks.pop(user, []):
            self.closed_views[old] = self.views.pop(old)
        record = self._new_view(user, view, None, None)
        self._stacks[user] = [record.id]
        return {"ok": True, "view": record.to_api()}

    def _m_views_push(self, params: dict[str, Any]) -> dict[str, Any]:
        view = self._view_arg(params, ("modal",))
        user = self._use_trigger(params)
        stack = self._stacks.get(user)
        if not stack:
            raise SlackApiFailure("not_found")
        if len(stack) >= MAX_VIEW_STACK:
            raise SlackApiFailure("push_limit_reached")
        record = self._new_view(user, view, stack[0], stack[-1])
        stack.append(record.id)
        return {"ok": True, "view": record.to_api()}

    def _lookup_view(self, params: dict[str, Any]) -> ViewRecord:
        view_id, external_id = params.get("view_id"), params.get("external_id")
        if not view_id and not external_id:
            raise SlackApiFailure(
                "invalid_arguments", ["[ERROR] exactly one of view_id or external_id is required"]
            )
        if view_id:
            record = self.views.get(view_id)
        else:
            record = next((v for v in self.views.values() if v.external_id == external_id), None)
        if record is None:
            raise SlackApiFailure("not_found")
        return record

    def _m_views_update(self, params: dict[str, Any]) -> dict[str, Any]:
        record = self._lookup_view(params)
        if params.get("hash") and params["hash"] != record.hash:
            raise SlackApiFailure("hash_conflict")
        view = self._view_arg({**params, "view_id": record.id}, (record.type,))
        self._apply_update(record, view)
        return {"ok": True, "view": record.to_api()}

    def _apply_update(self, record: ViewRecord, view: dict[str, Any]) -> None:
        definition = copy.deepcopy(view)
        definition["blocks"] = fill_ids(definition.get("blocks", []))
        # "Data entered or selected in input blocks can be preserved ... with identical
        # block_id and action_id values" (views.update usage info).
        kept: dict[str, Any] = {}
        for block in definition["blocks"]:
            el = block.get("element") if block.get("type") == "input" else None
            old = record.state_values.get(block.get("block_id"), {})
            if el and el.get("action_id") in old:
                kept[block["block_id"]] = {el["action_id"]: old[el["action_id"]]}
        record.definition = definition
        record.state_values = kept
        record.errors = {}
        record.hash = self._new_hash()

    def _m_views_publish(self, params: dict[str, Any]) -> dict[str, Any]:
        user_id = params.get("user_id")
        if not isinstance(user_id, str) or user_id not in self.users:
            raise SlackApiFailure("invalid_arguments", ["invalid `user_id`"])
        current = self.home_views.get(user_id)
        if params.get("hash") and (current is None or params["hash"] != current.hash):
            raise SlackApiFailure("hash_conflict")
        view = self._view_arg(params, ("home",))
        if current is None:
            current = self._new_view(user_id, view, None, None)
            self.home_views[user_id] = current
        else:
            self._apply_update(current, view)
        return {"ok": True, "view": current.to_api()}

    # ------------------------------------------------------------------ files (upload v2)
    def _m_files_getUploadURLExternal(self, params: dict[str, Any]) -> dict[str, Any]:
        filename, length = params.get("filename"), params.get("length")
        if not filename or length in (None, ""):
            raise SlackApiFailure(
                "invalid_arguments", ["[ERROR] missing required field: filename/length"]
            )
        file_id = slack_id("F", 10)
        token = secrets.token_urlsafe(16)
        self._upload_tokens[token] = file_id
        self.files[file_id] = {
            "id": file_id,
            "name": filename,
            "title": filename,
            "length": int(length),
            "alt_txt": params.get("alt_txt"),
            "snippet_type": params.get("snippet_type"),
            "content": None,
            "completed": False,
            "channels": [],
        }
        return {"ok": True, "upload_url": f"{self.base_url}/upload/v1/{token}", "file_id": file_id}

    def _m_files_completeUploadExternal(self, params: dict[str, Any]) -> dict[str, Any]:
        files = _json_param(params.get("files") or "[]", "files")
        if not isinstance(files, list) or not files:
            raise SlackApiFailure("invalid_arguments", ["[ERROR] missing required field: files"])
        channel_ids: list[str] = []
        if params.get("channel_id"):
            channel_ids.append(params["channel_id"])
        if params.get("channels"):
            channel_ids.extend(c for c in str(params["channels"]).split(",") if c)
        channels = [self._channel_for_post(c) for c in channel_ids]
        records = []
        for item in files:
            record = self.files.get(item.get("id")) if isinstance(item, dict) else None
            if record is None or record["content"] is None:
                raise SlackApiFailure("file_not_found")
            if item.get("title"):
                record["title"] = item["title"]
            record["completed"] = True
            records.append(record)
        out = [
            {
                "id": r["id"],
                "created": int(time.time()),
                "name": r["name"],
                "title": r["title"],
                "size": len(r["content"]),
                "user": self.bot_user_id,
            }
            for r in records
        ]
        for channel in channels:
            for r in records:
                r["channels"].append(channel.id)
            message = Message(
                channel=channel.id,
                ts=self._next_ts(),
                text=params.get("initial_comment") or "",
                blocks=None,
                user=self.bot_user_id,
                bot_id=self.bot_id,
                thread_ts=params.get("thread_ts") or None,
                files=out,
            )
            self._messages.setdefault(channel.id, []).append(message)
        return {"ok": True, "files": out}

    # ================================================================== response_url & upload
    def _handle_upload(self, token: str, data: bytes) -> tuple[int, str]:
        with self.lock:
            file_id = self._upload_tokens.pop(token, None)
            if file_id is None:
                return 404, "not_found"
            self.files[file_id]["content"] = data
        self._notify()
        return 200, f"OK - {len(data)}"

    def _handle_response_url(self, url: str, payload: dict[str, Any]) -> tuple[int, str]:
        with self.lock:
            ctx = self._response_urls.get(url)
            if ctx is None:
                return 404, "no_active_hooks"
            blocks = payload.get("blocks")
            if blocks is not None:
                errors = self.validator.validate_blocks(blocks)
                if errors:
                    self._responses[url].append({**payload, "_rejected": errors})
                    return 400, "invalid_blocks"
                blocks = fill_ids(blocks)
            self._responses[url].append(payload)
            channel_id, user_id, ts = ctx["channel"], ctx["user"], ctx["message_ts"]
            text = payload.get("text") or ""
            if _truthy(payload.get("delete_original")) and ts:
                if ctx["is_ephemeral"]:
                    self._ephemerals = [e for e in self._ephemerals if e.ts != ts]
                else:
                    msgs = self._messages.get(channel_id, [])
                    self._messages[channel_id] = [m for m in msgs if m.ts != ts]
            elif _truthy(payload.get("replace_original")) and ts:
                if ctx["is_ephemeral"]:
                    for e in self._ephemerals:
                        if e.ts == ts:
                            e.text, e.blocks = text, blocks
                else:
                    for m in self._messages.get(channel_id, []):
                        if m.ts == ts:
                            m.text, m.blocks, m.edited = text, blocks, True
            elif payload.get("response_type") == "in_channel":
                self._messages.setdefault(channel_id, []).append(
                    Message(
                        channel_id,
                        self._next_ts(),
                        text,
                        blocks,
                        self.bot_user_id,
                        self.bot_id,
                        thread_ts=payload.get("thread_ts"),
                    )
                )
            else:
                self._ephemerals.append(
                    Ephemeral(channel_id, user_id, self._next_ts(), text, blocks)
                )
        self._notify()
        return 200, "ok"


def _strip(error: str) -> str:
    return error.removeprefix("[ERROR] ")


def _tz_offset(tz: str) -> int:
    try:
        from datetime import datetime
        from zoneinfo import ZoneInfo

        offset = datetime.now(ZoneInfo(tz)).utcoffset()
        return int(offset.total_seconds()) if offset is not None else 0
    except Exception:
        return 0


class _Handler(BaseHTTPRequestHandler):
    fake: FakeSlack
    server_version = "FakeSlack/1.0"

    def log_message(self, format: str, *args: Any) -> None:
        return

    def _read_body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _send(
        self,
        status: int,
        body: str | bytes,
        content_type: str,
        headers: dict[str, str] | None = None,
    ) -> None:
        data = body.encode("utf-8") if isinstance(body, str) else body
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        self._handle()

    def do_POST(self) -> None:
        self._handle()

    def _handle(self) -> None:
        fake = self.fake
        parsed = urlparse(self.path)
        raw = self._read_body()
        path = parsed.path
        if path.startswith("/upload/v1/"):
            status, text = fake._handle_upload(path.rsplit("/", 1)[-1], raw)
            self._send(status, text, "text/plain; charset=utf-8")
            return
        if path.startswith(("/commands/", "/actions/")):
            try:
                payload = json.loads(raw or b"{}")
            except ValueError:
                payload = {k: v[0] for k, v in parse_qs(raw.decode()).items()}
            status, text = fake._handle_response_url(fake.base_url + path, payload)
            self._send(status, text, "text/html")
            return
        if not path.startswith("/api/"):
            self._send(404, "not found", "text/plain")
            return

        method = path[len("/api/") :]
        params: dict[str, Any] = {k: v[0] for k, v in parse_qs(parsed.query).items()}
        content_type = (self.headers.get("Content-Type") or "").lower()
        warnings: list[str] = []
        if raw:
            if content_type.startswith("application/json"):
                try:
                    body = json.loads(raw)
                except ValueError:
                    self._send(
                        200,
                        json.dumps({"ok": False, "error": "invalid_json"}),
                        "application/json; charset=utf-8",
                    )
                    return
                if isinstance(body, dict):
                    params.update(body)
                if "charset" not in content_type:
                    warnings.append("missing_charset")
            else:
                params.update(
                    {
                        k: v[0]
                        for k, v in parse_qs(raw.decode("utf-8"), keep_blank_values=True).items()
                    }
                )
                # slack_sdk dropped "; charset=utf-8" from form posts because Slack
                # answered it with this warning (python-slack-sdk#692).
                if (
                    content_type.startswith("application/x-www-form-urlencoded")
                    and "charset" in content_type
                ):
                    warnings.append("superfluous_charset")
        token = None
        auth = self.headers.get("Authorization") or ""
        if auth.lower().startswith("bearer "):
            token = auth[7:].strip()
        elif auth.lower().startswith("basic ") and method == "oauth.v2.access":
            # client credentials, as slack_sdk sends them (HTTP Basic, Slack's recommendation)
            client_id, _, client_secret = base64.b64decode(auth[6:].strip()).decode().partition(":")
            params.setdefault("client_id", client_id)
            params.setdefault("client_secret", client_secret)
        token = token or params.get("token")
        recorded = {k: v for k, v in params.items() if k != "token"}
        status, headers, body = fake._dispatch(method, recorded, token)
        if warnings and body.get("ok"):
            body["warning"] = ",".join(warnings)
            body.setdefault("response_metadata", {})["warnings"] = warnings
        fake._record(method, recorded, body)
        self._send(status, json.dumps(body), "application/json; charset=utf-8", headers)
