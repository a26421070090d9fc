"""Slack's Web API rate limits as token buckets, plus forced failures and slow answers.

Tiers (docs.slack.dev/apis/web-api/rate-limits): Tier 1 1+/min, Tier 2 20+/min,
Tier 3 50+/min, Tier 4 100+/min, applied per method per workspace per app.
chat.postMessage is "special": about one message per second per channel with short bursts
allowed, plus a workspace-wide limit of several hundred a minute.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

# requests per minute for each tier
TIER_PER_MINUTE = {1: 1, 2: 20, 3: 50, 4: 100}

# The tier each method's reference page gives. None = special (chat.postMessage).
METHOD_TIERS: dict[str, int | None] = {
    "auth.test": 4,  # "special": Slack lets it through generously
    "chat.postMessage": None,
    "chat.postEphemeral": 4,
    "chat.update": 3,
    "chat.delete": 3,
    "conversations.open": 3,
    "conversations.members": 4,
    "conversations.info": 3,
    "conversations.history": 3,
    "conversations.replies": 3,
    "users.info": 4,
    "users.list": 2,
    "usergroups.list": 2,
    "usergroups.users.list": 2,
    "views.open": 4,
    "views.push": 4,
    "views.update": 4,
    "views.publish": 4,
    "files.getUploadURLExternal": 4,
    "files.completeUploadExternal": 4,
    "apps.connections.open": 1,
    "team.info": 3,
}

POST_MESSAGE_PER_CHANNEL_PER_SECOND = 1.0
POST_MESSAGE_CHANNEL_BURST = 3
POST_MESSAGE_WORKSPACE_PER_MINUTE = 300


class TokenBucket:
    def __init__(self, rate_per_second: float, capacity: float, clock: Callable[[], float]):
        self.rate = rate_per_second
        self.capacity = capacity
        self.clock = clock
        self.tokens = capacity
        self.updated = clock()

    def _refill(self) -> None:
        now = self.clock()
        self.tokens = min(self.capacity, self.tokens + (now - self.updated) * self.rate)
        self.updated = now

    def take(self) -> float:
        """0 if a token was taken, else the seconds until one is available."""
        self._refill()
        if self.tokens >= 1:
            self.tokens -= 1
            return 0.0
        return (1 - self.tokens) / self.rate


@dataclass
class ForcedFailure:
    """One call's fault. ``accept``: the call takes effect (a message is stored and visible)
    before the fault replaces its answer, as when Slack posts and then answers a 500.
    ``drop``: no answer at all; the connection is held ``hold`` seconds (past a client's
    timeout, or until the fake stops) and then closed."""

    status: int = 429
    retry_after: int | None = 1
    error: str | None = None
    accept: bool = False
    drop: bool = False
    hold: float = 0.0


class DroppedConnection(Exception):
    """``dispatch`` gives no answer: the HTTP side holds the connection ``hold`` seconds (or
    until the fake stops), then closes it without a response."""

    def __init__(self, hold: float, response: dict[str, Any]) -> None:
        super().__init__("connection dropped")
        self.hold = hold
        self.response = response  # what the call did, for the record (never sent)


class RateLimiter:
    """Per-method (and per-channel for chat.postMessage) buckets; off unless ``enabled``."""

    def __init__(self, clock: Callable[[], float], enabled: bool = False) -> None:
        self.clock = clock
        self.enabled = enabled
        self._buckets: dict[tuple[str, str], TokenBucket] = {}
        self._forced: dict[str, list[ForcedFailure | None]] = {}
        self._delays: dict[str, float] = {}
        self._lock = threading.Lock()

    def _bucket(self, key: tuple[str, str], per_minute: float, burst: float) -> TokenBucket:
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = TokenBucket(per_minute / 60.0, burst, self.clock)
            self._buckets[key] = bucket
        return bucket

    def fail_next(self, method: str, failure: ForcedFailure, times: int = 1, after: int = 0) -> None:
        """Queue ``failure`` for ``times`` calls to ``method``, once ``after`` calls went through."""
        if times < 1 or after < 0:
            raise ValueError(f"times must be at least 1 and after at least 0 (got {times}, {after})")
        with self._lock:
            self._forced.setdefault(method, []).extend([None] * after + [failure] * times)

    def set_delay(self, method: str, seconds: float | None) -> None:
        """Every call to ``method`` ("*": any) answers ``seconds`` late; None or 0 removes it."""
        if seconds is not None and seconds < 0:
            raise ValueError(f"a delay cannot be negative (got {seconds})")
        with self._lock:
            if seconds:
                self._delays[method] = float(seconds)
            else:
                self._delays.pop(method, None)

    def delay_for(self, method: str) -> float:
        with self._lock:
            return self._delays.get(method, self._delays.get("*", 0.0))

    def pop_forced(self, method: str) -> ForcedFailure | None:
        """This call's fault, if one is queued (a queued None lets the call through)."""
        with self._lock:
            queue = self._forced.get(method)
            if queue:
                return queue.pop(0)
            if "*" in self._forced and self._forced["*"]:
                return self._forced["*"].pop(0)
        return None

    def check(self, method: str, channel: str | None = None) -> int | None:
        """None if allowed, else the Retry-After seconds."""
        if not self.enabled:
            return None
        with self._lock:
            tier = METHOD_TIERS.get(method, 3)
            waits: list[float] = []
            if tier is None:
                workspace = self._bucket(
                    (method, "*"),
                    POST_MESSAGE_WORKSPACE_PER_MINUTE,
                    POST_MESSAGE_WORKSPACE_PER_MINUTE,
                )
                if channel:
                    per_channel = self._bucket(
                        (method, channel),
                        POST_MESSAGE_PER_CHANNEL_PER_SECOND * 60,
                        POST_MESSAGE_CHANNEL_BURST,
                    )
                    waits.append(per_channel.take())
                    if waits[-1] > 0:
                        return max(1, math.ceil(waits[-1]))
                waits.append(workspace.take())
            else:
                per_minute = TIER_PER_MINUTE[tier]
                # "1+ per minute ... a small amount of burst behavior is tolerated"
                burst = max(per_minute, 3)
                waits.append(self._bucket((method, "*"), per_minute, burst).take())
            wait = max(waits)
            if wait > 0:
                return max(1, math.ceil(wait))
            return None
