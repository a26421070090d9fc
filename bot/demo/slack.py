"""A loopback Slack for the demo: the Web API methods the bot calls, on 127.0.0.1.

It keeps what Slack keeps (users, user groups, channels, messages, open modals, App Home)
and records, in order, every call that showed something to someone (``LoopbackSlack.shown``):
the HTML page and the payload files are written from that record. It checks little: the
bot is tested against ``tests/fakeslack``; this one only has to be faithful enough to show
the product.
"""

from __future__ import annotations

import copy
import itertools
import json
import secrets
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse

SHOWN_METHODS = (
    "chat.postMessage", "chat.update", "chat.postEphemeral", "views.open", "views.update",
    "views.push", "views.publish", "files.completeUploadExternal",
)


@dataclass
class Person:
    id: str
    name: str
    real_name: str
    title: str = ""
    team: str | None = None
    is_admin: bool = False
    is_bot: bool = False

    def to_api(self, team_id: str) -> dict[str, Any]:
        return {
            "id": self.id, "team_id": team_id, "name": self.name, "deleted": False,
            "real_name": self.real_name, "tz": "Europe/London", "tz_label": "Europe/London",
            "tz_offset": 0, "is_admin": self.is_admin, "is_owner": False, "is_primary_owner": False,
            "is_bot": self.is_bot, "is_app_user": False,
            "profile": {"real_name": self.real_name, "display_name": self.name, "title": self.title},
        }


@dataclass
class Shown:
    """One thing the bot showed: the Web API method (or ``response_url`` / ``view_ack``),
    to whom or where, and the payload as the bot sent it."""

    seq: int
    method: str
    where: str  # a channel id, or the user id of a view
    payload: dict[str, Any]
    note: str = ""  # the demo's chapter heading, set by LoopbackSlack.chapter
    folded: bool = False  # the chapter is shown folded on the page (the same again, for others)
    result: dict[str, Any] = field(default_factory=dict)  # e.g. the message's ts, the view id


class SlackError(Exception):
    def __init__(self, error: str) -> None:
        super().__init__(error)
        self.error = error


def _json(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) else value


def with_ids(blocks: list[dict[str, Any]] | None) -> list[dict[str, Any]] | None:
    """A copy of ``blocks`` with the block_id / action_id Slack generates where the bot gave none."""
    if blocks is None:
        return None
    out = copy.deepcopy(blocks)
    for n, block in enumerate(out):
        block.setdefault("block_id", f"b{n}")
        for m, element in enumerate(block.get("elements", []) if block.get("type") == "actions" else []):
            element.setdefault("action_id", f"a{n}.{m}")
    return out


class LoopbackSlack:
    """The workspace and its HTTP server (``start`` / ``stop``; ``api_url`` for the bot)."""

    def __init__(self, team_id: str = "T0DEMO", team_name: str = "Northwind Demo") -> None:
        self.team_id, self.team_name = team_id, team_name
        self.bot_user_id, self.bot_id, self.app_id = "U0ICPBOT", "B0ICPBOT", "A0ICPDEMO"
        self.bot_token = "xoxb-demo-" + secrets.token_hex(8)
        self.lock = threading.RLock()
        self.people: dict[str, Person] = {
            self.bot_user_id: Person(self.bot_user_id, "icp-align", "ICP Align", is_bot=True)}
        self.usergroups: dict[str, dict[str, Any]] = {}
        self.channels: dict[str, dict[str, Any]] = {}  # id -> {"name", "members"}
        self.messages: dict[str, list[dict[str, Any]]] = {}  # channel -> messages, oldest first
        self.views: dict[str, dict[str, Any]] = {}  # view id -> {"user", "view", "hash", "state"}
        self.stacks: dict[str, list[str]] = {}  # user -> open modal view ids, root first
        self.home: dict[str, str] = {}  # user -> home view id
        self.files: dict[str, dict[str, Any]] = {}
        self.responses: dict[str, list[dict[str, Any]]] = {}  # response_url -> what was posted
        self.shown: list[Shown] = []
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self._note, self._folded = "", False
        self._response_ctx: dict[str, tuple[str, str, str | None]] = {}  # url -> (channel, user, ts)
        self._triggers: dict[str, str] = {}  # trigger_id -> user
        self._ids = itertools.count(1)
        self._httpd: ThreadingHTTPServer | None = None

    # -- lifecycle --------------------------------------------------------------------------
    def start(self) -> LoopbackSlack:
        handler = type("Handler", (_Handler,), {"slack": self})
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._httpd.daemon_threads = True
        threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05},
                         name="demo-slack", daemon=True).start()
        return self

    def stop(self) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None

    @property
    def base_url(self) -> str:
        assert self._httpd is not None, "not started"
        return f"http://127.0.0.1:{self._httpd.server_address[1]}"

    @property
    def api_url(self) -> str:
        return self.base_url + "/api/"

    # -- setup and reading ------------------------------------------------------------------
    def add_person(self, person: Person) -> None:
        self.people[person.id] = person

    def add_usergroup(self, group_id: str, handle: str, users: list[str]) -> None:
        self.usergroups[group_id] = {"id": group_id, "team_id": self.team_id, "handle": handle,
                                     "name": handle.title(), "users": list(users), "user_count": len(users)}

    def add_channel(self, channel_id: str, name: str, members: list[str]) -> None:
        self.channels[channel_id] = {"name": name, "members": [*members, self.bot_user_id]}

    def chapter(self, note: str, folded: bool = False) -> None:
        """Name what happens next; the page shows it as a heading before the next thing shown
        (``folded``: with what follows folded away, for what repeats for other people)."""
        self._note, self._folded = note, folded

    def next_id(self, prefix: str) -> str:
        return f"{prefix}{next(self._ids):08d}"

    def new_response_url(self, kind: str, channel: str, user: str, ts: str | None = None) -> str:
        url = f"{self.base_url}/{kind}/{self.team_id}/{next(self._ids)}/{secrets.token_urlsafe(12)}"
        self.responses[url] = []
        self._response_ctx[url] = (channel, user, ts)
        return url

    def dm_of(self, user: str) -> str:
        return "D" + user

    def dm(self, user: str) -> list[dict[str, Any]]:
        with self.lock:
            return list(self.messages.get(self.dm_of(user), []))

    def current_view(self, user: str) -> dict[str, Any] | None:
        with self.lock:
            stack = self.stacks.get(user) or []
            return self.views[stack[-1]] if stack else None

    def record(self, method: str, where: str, payload: dict[str, Any], **result: Any) -> Shown:
        with self.lock:
            shown = Shown(len(self.shown) + 1, method, where, copy.deepcopy(payload), self._note,
                          self._folded and bool(self._note), result)
            self._note, self._folded = "", False
            self.shown.append(shown)
            return shown

    def submitted(self, view_id: str, state: dict[str, Any]) -> None:
        """What a person entered in the view ``view_id`` before submitting it: the page draws
        the view last shown under that id with these values in its inputs."""
        with self.lock:
            shown = next((s for s in reversed(self.shown) if s.result.get("view_id") == view_id), None)
            if shown is not None:
                shown.result["submitted"] = copy.deepcopy(state)

    # -- views, as the driver applies acks ---------------------------------------------------
    def new_view(self, user: str, view: dict[str, Any]) -> dict[str, Any]:
        view_id = self.next_id("V")
        view = {**view, "blocks": with_ids(view.get("blocks", []))}
        record = {"id": view_id, "user": user, "view": view,
                  "hash": secrets.token_hex(4), "state": {}}
        self.views[view_id] = record
        return record

    def replace_view(self, record: dict[str, Any], view: dict[str, Any]) -> None:
        view = {**view, "blocks": with_ids(view.get("blocks", []))}
        record["view"], record["hash"], record["state"] = view, secrets.token_hex(4), {}

    def close_modals(self, user: str, from_view: str | None = None) -> None:
        stack = self.stacks.get(user, [])
        cut = stack.index(from_view) if from_view in stack else 0
        del stack[cut:]

    # -- the Web API -------------------------------------------------------------------------
    def call(self, method: str, params: dict[str, Any]) -> dict[str, Any]:
        handler = getattr(self, "m_" + method.replace(".", "_"), None)
        if handler is None:
            return {"ok": False, "error": "unknown_method"}
        with self.lock:
            self.calls.append((method, copy.deepcopy(params)))
            try:
                return {"ok": True, **handler(params)}
            except SlackError as exc:
                return {"ok": False, "error": exc.error}

    def m_auth_test(self, p: dict[str, Any]) -> dict[str, Any]:
        return {"url": "https://demo.slack.invalid/", "team": self.team_name, "user": "icp-align",
                "team_id": self.team_id, "user_id": self.bot_user_id, "bot_id": self.bot_id,
                "is_enterprise_install": False}

    def m_users_list(self, p: dict[str, Any]) -> dict[str, Any]:
        return {"members": [u.to_api(self.team_id) for u in self.people.values()],
                "response_metadata": {"next_cursor": ""}}

    def m_users_info(self, p: dict[str, Any]) -> dict[str, Any]:
        person = self.people.get(p.get("user", ""))
        if person is None:
            raise SlackError("user_not_found")
        return {"user": person.to_api(self.team_id)}

    def m_usergroups_list(self, p: dict[str, Any]) -> dict[str, Any]:
        return {"usergroups": list(self.usergroups.values())}

    def m_usergroups_users_list(self, p: dict[str, Any]) -> dict[str, Any]:
        group = self.usergroups.get(p.get("usergroup", ""))
        if group is None:
            raise SlackError("no_such_subteam")
        return {"users": group["users"]}

    def m_conversations_open(self, p: dict[str, Any]) -> dict[str, Any]:
        users = p.get("users")
        user = (users if isinstance(users, str) else ",".join(users or [])).split(",")[0]
        if user not in self.people:
            raise SlackError("user_not_found")
        return {"channel": {"id": self.dm_of(user)}}

    def m_conversations_members(self, p: dict[str, Any]) -> dict[str, Any]:
        channel = self.channels.get(p.get("channel", ""))
        if channel is None:
            raise SlackError("channel_not_found")
        return {"members": channel["members"], "response_metadata": {"next_cursor": ""}}

    def m_conversations_info(self, p: dict[str, Any]) -> dict[str, Any]:
        channel = self.channels.get(p.get("channel", ""))
        if channel is None:
            raise SlackError("channel_not_found")
        return {"channel": {"id": p["channel"], "name": channel["name"], "is_member": True,
                            "is_archived": False, "is_private": False}}

    def m_conversations_history(self, p: dict[str, Any]) -> dict[str, Any]:
        channel = self._channel(p.get("channel", ""))
        return {"messages": list(reversed(self.messages.get(channel, []))), "has_more": False}

    def _channel(self, channel: str) -> str:
        if channel[:1] in ("U", "W") and channel in self.people:
            return self.dm_of(channel)
        if channel.startswith("D") and channel[1:] in self.people:
            return channel
        if channel in self.channels:
            return channel
        raise SlackError("channel_not_found")

    def _ts(self) -> str:
        return f"{time.time():.0f}.{next(self._ids):06d}"

    def m_chat_postMessage(self, p: dict[str, Any]) -> dict[str, Any]:
        channel = self._channel(p.get("channel", ""))
        message = {"type": "message", "ts": self._ts(), "text": p.get("text") or "",
                   "blocks": with_ids(_json(p.get("blocks"))), "user": self.bot_user_id,
                   "bot_id": self.bot_id, "metadata": _json(p.get("metadata"))}
        self.messages.setdefault(channel, []).append(message)
        self.record("chat.postMessage", channel, p, ts=message["ts"])
        return {"channel": channel, "ts": message["ts"], "message": message}

    def m_chat_update(self, p: dict[str, Any]) -> dict[str, Any]:
        channel = self._channel(p.get("channel", ""))
        message = next((m for m in self.messages.get(channel, []) if m["ts"] == p.get("ts")), None)
        if message is None:
            raise SlackError("message_not_found")
        if "text" in p:
            message["text"] = p["text"]
        if "blocks" in p:
            message["blocks"] = with_ids(_json(p["blocks"]))
        message["edited"] = True
        self.record("chat.update", channel, p, ts=message["ts"])
        return {"channel": channel, "ts": message["ts"], "text": message["text"]}

    def m_chat_postEphemeral(self, p: dict[str, Any]) -> dict[str, Any]:
        channel = self._channel(p.get("channel", ""))
        ts = self._ts()
        self.record("chat.postEphemeral", channel, p, ts=ts, user=p.get("user"))
        return {"message_ts": ts}

    def _user_of_trigger(self, p: dict[str, Any]) -> str:
        user = self._triggers.get(p.get("trigger_id") or p.get("interactivity_pointer") or "")
        if user is None:
            raise SlackError("invalid_trigger_id")
        return user

    def new_trigger(self, user: str) -> str:
        trigger = f"{next(self._ids)}.{secrets.token_hex(8)}"
        self._triggers[trigger] = user
        return trigger

    def m_views_open(self, p: dict[str, Any]) -> dict[str, Any]:
        user = self._user_of_trigger(p)
        record = self.new_view(user, _json(p["view"]))
        self.stacks[user] = [record["id"]]
        self.record("views.open", user, p, view_id=record["id"])
        return {"view": self.view_api(record)}

    def m_views_push(self, p: dict[str, Any]) -> dict[str, Any]:
        user = self._user_of_trigger(p)
        record = self.new_view(user, _json(p["view"]))
        self.stacks.setdefault(user, []).append(record["id"])
        self.record("views.push", user, p, view_id=record["id"])
        return {"view": self.view_api(record)}

    def m_views_update(self, p: dict[str, Any]) -> dict[str, Any]:
        record = self.views.get(p.get("view_id") or "") or next(
            (v for v in self.views.values() if p.get("external_id")
             and v["view"].get("external_id") == p.get("external_id")), None)
        if record is None:
            raise SlackError("not_found")
        self.replace_view(record, _json(p["view"]))
        self.record("views.update", record["user"], p, view_id=record["id"])
        return {"view": self.view_api(record)}

    def m_views_publish(self, p: dict[str, Any]) -> dict[str, Any]:
        user = p.get("user_id", "")
        if user not in self.people:
            raise SlackError("user_not_found")
        view = _json(p["view"])
        if user in self.home:
            record = self.views[self.home[user]]
            self.replace_view(record, view)
        else:
            record = self.new_view(user, view)
            self.home[user] = record["id"]
        self.record("views.publish", user, p, view_id=record["id"])
        return {"view": self.view_api(record)}

    def m_files_getUploadURLExternal(self, p: dict[str, Any]) -> dict[str, Any]:
        file_id = self.next_id("F")
        self.files[file_id] = {"id": file_id, "name": p.get("filename"), "title": p.get("filename"),
                               "content": b""}
        return {"upload_url": f"{self.base_url}/upload/{file_id}", "file_id": file_id}

    def m_files_completeUploadExternal(self, p: dict[str, Any]) -> dict[str, Any]:
        files = _json(p.get("files") or "[]")
        channel = self._channel(p.get("channel_id") or p.get("channels") or "")
        out = []
        for item in files:
            record = self.files.get(item.get("id"))
            if record is None:
                raise SlackError("file_not_found")
            record["title"] = item.get("title") or record["title"]
            out.append({"id": record["id"], "name": record["name"], "title": record["title"],
                        "size": len(record["content"])})
        message = {"type": "message", "ts": self._ts(), "text": p.get("initial_comment") or "",
                   "blocks": None, "user": self.bot_user_id, "files": out}
        self.messages.setdefault(channel, []).append(message)
        self.record("files.completeUploadExternal", channel, p, ts=message["ts"], files=out)
        return {"files": out}

    def view_api(self, record: dict[str, Any]) -> dict[str, Any]:
        view = record["view"]
        return {"id": record["id"], "team_id": self.team_id, "type": view.get("type"),
                "blocks": view.get("blocks", []), "private_metadata": view.get("private_metadata", ""),
                "callback_id": view.get("callback_id", ""), "state": {"values": record["state"]},
                "hash": record["hash"], "title": view.get("title"), "close": view.get("close"),
                "submit": view.get("submit"), "clear_on_close": bool(view.get("clear_on_close")),
                "notify_on_close": bool(view.get("notify_on_close")), "previous_view_id": None,
                "root_view_id": record["id"], "app_id": self.app_id,
                "external_id": view.get("external_id", ""), "bot_id": self.bot_id}

    # -- response_url and uploads ------------------------------------------------------------
    def post_response(self, url: str, payload: dict[str, Any]) -> int:
        with self.lock:
            ctx = self._response_ctx.get(url)
            if ctx is None:
                return 404
            channel, user, ts = ctx
            self.responses[url].append(copy.deepcopy(payload))
            if payload.get("response_type") == "in_channel" and not payload.get("replace_original"):
                self.messages.setdefault(channel, []).append(
                    {"type": "message", "ts": self._ts(), "text": payload.get("text") or "",
                     "blocks": with_ids(payload.get("blocks")), "user": self.bot_user_id})
            elif payload.get("replace_original") and ts:
                for message in self.messages.get(channel, []):
                    if message["ts"] == ts:
                        message.update(text=payload.get("text") or "", blocks=with_ids(payload.get("blocks")))
            self.record("response_url", channel, payload, user=user, replaces=ts if
                        payload.get("replace_original") else None)
            return 200

    def upload(self, file_id: str, data: bytes) -> int:
        with self.lock:
            if file_id not in self.files:
                return 404
            self.files[file_id]["content"] = data
            return 200


class _Handler(BaseHTTPRequestHandler):
    slack: LoopbackSlack

    def log_message(self, format: str, *args: Any) -> None:
        return

    def _send(self, status: int, body: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self) -> None:  # noqa: N802 - http.server's name
        raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        path = urlparse(self.path).path
        if path.startswith("/upload/"):
            status = self.slack.upload(path.rsplit("/", 1)[-1], raw)
            self._send(status, b"OK" if status == 200 else b"not_found", "text/plain")
            return
        if path.startswith(("/commands/", "/actions/")):
            try:
                payload = json.loads(raw or b"{}")
            except ValueError:
                payload = {k: v[0] for k, v in parse_qs(raw.decode()).items()}
            status = self.slack.post_response(self.slack.base_url + path, payload)
            self._send(status, b"ok" if status == 200 else b"no_active_hooks", "text/html")
            return
        if not path.startswith("/api/"):
            self._send(404, b"not found", "text/plain")
            return
        params: dict[str, Any] = {k: v[0] for k, v in parse_qs(urlparse(self.path).query).items()}
        if raw:
            if (self.headers.get("Content-Type") or "").startswith("application/json"):
                params.update(json.loads(raw))
            else:
                params.update({k: v[0] for k, v in parse_qs(raw.decode(), keep_blank_values=True).items()})
        params.pop("token", None)
        body = self.slack.call(path[len("/api/"):], params)
        self._send(200, json.dumps(body).encode(), "application/json; charset=utf-8")

    do_GET = do_POST
