"""A leader closing a round by hand (``/icp-check close``); the scheduler closes rounds at
their close date in ``bot.housekeeping``."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from storage import rounds
from storage.db import Database


@dataclass(frozen=True)
class Closed:
    round_id: int
    title: str
    was_open: bool
    completed: int
    invited: int


def close_round(db: Database, team_id: str, round_id: int | None, now: datetime) -> Closed | None:
    """Close ``round_id`` (default: the open round) of a workspace; None when there is none."""
    with db.session() as session:
        rnd = rounds.get_round(session, round_id) if round_id else rounds.open_round_for(session, team_id)
        if rnd is None or rnd.team_id != team_id:
            return None
        was_open = rnd.is_open
        rnd = rounds.close_round(session, rnd.id, at=now)
        counts = rounds.participation(session, rnd.id)
    return Closed(round_id=rnd.id, title=rnd.title, was_open=was_open, completed=counts.completed,
                  invited=counts.invited)
