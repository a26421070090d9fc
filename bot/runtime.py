"""What every listener needs, built once by ``create_app`` and handed to each listener by
bolt middleware (``bot.middleware``) as the ``runtime`` argument."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from bot.outbox import OutboxSender
from bot.pacing import Pacer
from bot.services.access import Leaders
from storage.db import Database


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class Runtime:
    """The database, the leader check (cached), the outbox sender, the pacer and the clock."""

    db: Database
    leaders: Leaders
    outbox: OutboxSender
    pacer: Pacer
    clock: Callable[[], datetime] = utcnow

    def now(self) -> datetime:
        return self.clock()
