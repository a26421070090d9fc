"""bolt middleware: hands every listener what it needs, once, under argument names.

bolt passes the context's keys to listeners by name, so a listener declares what it uses:

- ``runtime``: the database, the leader check, the pacer, the clock (``bot.runtime``);
- ``slash_command``, ``block_action`` or ``view_submission``: the payload parsed into its
  pydantic model (``bot.payloads``). A payload that does not parse is acknowledged with an
  empty 200 and one log line, and reaches no listener;
- ``requester``: who is asking, in which workspace, whether they are a leader (asked when
  first needed, cached) and the workspace's settings (read, never created).

An event Slack delivers again (its retry header, or an event id already seen) is acknowledged
and not handled twice. A payload from a workspace other than the one the app's token belongs to (single-workspace
mode) is refused the same way: a signed request names the team it likes, the token does not;
and so is one whose ``response_url`` is not Slack's (``RESPONSE_HOSTS``).
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import urlparse

from slack_bolt import BoltContext, BoltRequest, BoltResponse
from slack_bolt.middleware import Middleware
from slack_sdk import WebClient

from bot.payloads import BlockAction, MalformedPayload, SlashCommand, ViewSubmission, parse
from bot.runtime import Runtime
from bot.slack_client import RESPONSE_HOSTS
from storage import workspaces
from storage.workspaces import WorkspaceSettings

log = logging.getLogger(__name__)



class Requester:
    """The person behind a request; ``is_leader`` and ``workspace`` asked once, when first read.

    Cached by hand, not with ``functools.cached_property``: before Python 3.12 that holds one
    lock per class while it computes, so one leader check waiting on a slow users.info held up
    every other request's (tests/e2e/test_trust_cases.py)."""

    def __init__(self, runtime: Runtime, client: WebClient, team_id: str, user_id: str):
        self._runtime = runtime
        self._client = client
        self.team_id = team_id
        self.user_id = user_id
        self._is_leader: bool | None = None
        self._workspace: WorkspaceSettings | None = None

    @property
    def is_leader(self) -> bool:
        if self._is_leader is None:
            self._is_leader = self._runtime.leaders.is_leader(self._client, self.team_id, self.user_id)
        return self._is_leader

    @property
    def workspace(self) -> WorkspaceSettings:
        if self._workspace is None:
            with self._runtime.db.session(read_only=True) as session:
                self._workspace = workspaces.settings_of(session, self.team_id)
        return self._workspace


def _parse(body: dict[str, Any]) -> tuple[str, Any, str | None, str] | None:
    """(context key, model, team id, user id) of a payload we parse; None for the rest."""
    if "command" in body and "type" not in body:
        command = parse(SlashCommand, body)
        return "slash_command", command, command.team_id, command.user_id
    kind = body.get("type")
    if kind == "block_actions":
        action = parse(BlockAction, body)
        return "block_action", action, action.team_id, action.user.id
    if kind == "view_submission":
        submission = parse(ViewSubmission, body)
        return "view_submission", submission, submission.team_id, submission.user.id
    return None


def _foreign_team(context: BoltContext, team_id: str | None) -> bool:
    result = context.authorize_result
    if result is None or not result.team_id or result.enterprise_id or context.enterprise_id:
        return False
    return team_id is not None and team_id != result.team_id


class SeenEvents:
    """The last ``size`` event ids this process took, so an event Slack delivers twice (an HTTP
    retry to a replica that got it, a Socket Mode ``retry_attempt``) is handled once."""

    def __init__(self, size: int = 10_000):
        self._size = size
        self._ids: OrderedDict[str, None] = OrderedDict()
        self._lock = threading.Lock()

    def first(self, event_id: object) -> bool:
        if not isinstance(event_id, str) or not event_id:
            return True
        with self._lock:
            if event_id in self._ids:
                return False
            self._ids[event_id] = None
            if len(self._ids) > self._size:
                self._ids.popitem(last=False)
            return True


class ContextFiller(Middleware):
    """The global middleware that fills the context (see the module docstring).

    A ``Middleware`` subclass rather than a function: bolt builds a function middleware's
    arguments from the payload (``action``, ``view``...), which raises on the very payloads
    this middleware exists to stop (an empty ``actions`` list, a view without a type).
    """

    def __init__(self, runtime: Runtime, response_hosts: Iterable[str] = RESPONSE_HOSTS):
        self.runtime = runtime
        self._events = SeenEvents()
        self._response_hosts = frozenset(response_hosts)

    def _foreign_response_url(self, model: Any) -> bool:
        url = getattr(model, "response_url", None)
        if url is None:
            return False
        try:
            return urlparse(url).netloc not in self._response_hosts
        except ValueError:
            return True

    def process(self, *, req: BoltRequest, resp: BoltResponse,
                next: Callable[[], BoltResponse]) -> BoltResponse | None:  # noqa: A002 - bolt's name
        context, body = req.context, req.body
        context["runtime"] = self.runtime
        if isinstance(body, dict) and body.get("type") == "event_callback":
            if req.headers.get("x-slack-retry-num") or not self._events.first(body.get("event_id")):
                # Slack retries an event it thinks we missed; we had it (and answer at once).
                log.info("ignored a repeated event %s", body.get("event_id"))
                return BoltResponse(status=200, body="", headers={"X-Slack-No-Retry": "1"})
        try:
            parsed = _parse(body) if isinstance(body, dict) else None
        except MalformedPayload as exc:
            log.warning("refused a malformed %s payload: %s", body.get("type") or "command", exc)
            return BoltResponse(status=200, body="")
        if parsed is not None:
            key, model, team_id, user_id = parsed
            team_id = team_id or context.team_id
            if _foreign_team(context, team_id):
                log.warning("refused a %s payload from workspace %s, which this app is not installed in",
                            key, team_id)
                return BoltResponse(status=200, body="")
            if self._foreign_response_url(model):
                log.warning("refused a %s payload whose response_url is not Slack's", key)
                return BoltResponse(status=200, body="")
            context[key] = model
            context["requester"] = Requester(self.runtime, context.client, team_id or "", user_id)
        return next()
