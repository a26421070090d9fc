"""Who may do what: leaders are workspace owners and admins, and the people named with
``/icp-check leaders add``. Everyone else may answer surveys and read the ratified ICP.

A click, a command and a form each ask once per request; the answer is cached per person
for ``TTL_SECONDS`` so that a leader clicking through a form costs one users.info call, not
one per click. ``forget`` drops a cached answer when this process changes the leader list;
another replica sees the change within ``TTL_SECONDS``. A users.info failure is never cached
and never grants. The cache holds at most ``MAX_CACHED`` people: a long-running process that
serves many workspaces does not keep an expired entry for everyone it ever checked.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from storage import workspaces
from storage.db import Database

log = logging.getLogger(__name__)

TTL_SECONDS = 30.0
MAX_CACHED = 10_000


def is_workspace_admin(client: WebClient, user_id: str) -> bool | None:
    """Owner or admin per users.info; None when Slack cannot tell."""
    try:
        user = client.users_info(user=user_id)["user"]
    except SlackApiError as exc:
        log.warning("users.info failed for a leader check: %s", exc.response.get("error"))
        return None
    return bool(user.get("is_owner") or user.get("is_admin") or user.get("is_primary_owner"))


class Leaders:
    """The leader check, with a short per-person cache."""

    def __init__(self, db: Database, ttl: float = TTL_SECONDS, clock: Callable[[], float] = time.monotonic,
                 max_cached: int = MAX_CACHED):
        self._db = db
        self._ttl = ttl
        self._max = max_cached
        self._clock = clock
        self._cache: dict[tuple[str, str], tuple[float, bool]] = {}
        self._lock = threading.Lock()

    def is_leader(self, client: WebClient, team_id: str, user_id: str) -> bool:
        if not team_id or not user_id:
            return False
        key = (team_id, user_id)
        with self._lock:
            cached = self._cache.get(key)
        if cached is not None and self._clock() - cached[0] < self._ttl:
            return cached[1]
        with self._db.session(read_only=True) as session:
            named = workspaces.is_leader(session, team_id, user_id)
        answer = True if named else is_workspace_admin(client, user_id)
        if answer is None:
            return False
        with self._lock:
            now = self._clock()
            if key not in self._cache and len(self._cache) >= self._max:
                # Full: drop what has expired; if everything is fresh, start over (a cache miss
                # costs one read and one users.info, never a wrong answer).
                self._cache = {k: v for k, v in self._cache.items() if now - v[0] < self._ttl}
                if len(self._cache) >= self._max:
                    self._cache.clear()
            self._cache[key] = (now, answer)
        return answer

    def forget(self, team_id: str, user_id: str) -> None:
        with self._lock:
            self._cache.pop((team_id, user_id), None)
