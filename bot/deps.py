"""What every listener needs, built once by the app factory and handed to ``register``."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from bot.pacing import Pacer
from storage.db import Database


def _utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass
class Deps:
    db: Database
    pacer: Pacer = field(default_factory=Pacer)
    now: Callable[[], datetime] = _utcnow
    # Called after a person's data changed (answers, a new round) so App Home can refresh.
    on_change: Callable[[Any, str | None, str], None] = lambda client, team_id, user_id: None
