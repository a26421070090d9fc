"""A leader closing a round by hand (``/icp-check close``); the scheduler closes rounds at
their close date in ``bot.housekeeping``. Both close in one unit of work with the closed
notices of every invitation and reminder DM (``fanout.enqueue_closed_notices``), so a crash
after the close still sends each notice once; the caller kicks the outbox."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from bot.services import fanout
from storage import rounds
from storage.db import Database
from storage.models import SurveyRound


@dataclass(frozen=True)
class Closed:
    round_id: int
    title: str
    was_open: bool
    completed: int
    invited: int
    notices: int = 0  # closed notices queued
    cancelled: int = 0  # DMs still waiting for working hours, now never sent


def close_round(db: Database, team_id: str, round_id: int | None, now: datetime) -> Closed | None:
    """Close ``round_id`` (default: the open round) of a workspace; None when there is none."""
    with db.session() as session:
        rnd = rounds.get_round(session, round_id) if round_id else rounds.open_round_for(session, team_id)
        if rnd is None or rnd.team_id != team_id:
            return None
        # The row lock orders this close with the scheduler's and with a sender marking a DM
        # sent: exactly one of them sees the round open.
        rnd = session.get(SurveyRound, rnd.id, with_for_update=True, populate_existing=True)
        assert rnd is not None
        was_open = rnd.is_open
        rnd = rounds.close_round(session, rnd.id, at=now)
        notices = fanout.enqueue_closed_notices(session, rnd, now) if was_open else fanout.ClosedNotices(0, 0)
        counts = rounds.participation(session, rnd.id)
    return Closed(round_id=rnd.id, title=rnd.title, was_open=was_open, completed=counts.completed,
                  invited=counts.invited, notices=notices.updates, cancelled=notices.cancelled)
