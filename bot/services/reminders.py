"""A leader reminding those who have not finished (``/icp-check remind``, the Remind button).

The reminders are outbox rows written in one unit of work with the count they spend
(``fanout.enqueue_reminders``), due in each person's working hours; the caller kicks the
outbox. The leader who asked is told once, by the sender, of any that could not be delivered.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from bot.services import fanout
from bot.views.leader_messages import remind_summary
from storage import rounds, send_log
from storage.db import Database
from storage.errors import RoundClosed


@dataclass(frozen=True)
class Reminded:
    """``refused``: why nobody was reminded (no open round, past its close date), else None;
    ``queued``: what the reminders came to."""

    refused: str | None = None
    round_id: int | None = None
    queued: fanout.Queued = fanout.Queued()

    @property
    def reply(self) -> str:
        """What the leader who asked is answered."""
        if self.refused:
            return self.refused
        q = self.queued
        return remind_summary(q.queued, q.now, q.later, already=q.already, unreachable=q.unreachable,
                              too_late=q.too_late, hours_from=q.hours_from)


def first_click(db: Database, team_id: str, user_id: str, action_ts: str, now: datetime) -> bool:
    """True the first time this click (Slack's ``action_ts`` for this person) is seen: a
    replayed Remind click never spends another reminder."""
    with db.session() as session:
        return send_log.claim(session, f"remind-click:{team_id}:{user_id}:{action_ts[:40]}", kind="click",
                              team_id=team_id, target=user_id, at=now)


def remind(db: Database, team_id: str, round_id: int | None, *, now: datetime,
           requested_by: str | None = None) -> Reminded:
    """Queue a reminder for each pending participant of ``round_id`` (default: the open
    round) who has one left; ``requested_by`` hears of any that cannot be delivered."""
    with db.session() as session:
        rnd = rounds.get_round(session, round_id) if round_id else rounds.open_round_for(session, team_id)
        if rnd is None or rnd.team_id != team_id:
            return Reminded(refused="No round is open, so there is nobody to remind.")
        if rnd.closes_at is not None and rnd.closes_at <= now and rnd.is_open:
            return Reminded(refused=f"Round {rnd.id} is past its close date, so nobody is reminded. "
                                    f"Close it with `/icp-check close {rnd.id}`.", round_id=rnd.id)
        try:
            rounds.lock_open_round(session, rnd.id)  # a close at this moment waits, or has happened
        except RoundClosed:
            return Reminded(refused=f"Round {rnd.id} is closed, so nobody is reminded.", round_id=rnd.id)
        queued = fanout.enqueue_reminders(session, rnd, rounds.pending_participants(session, rnd.id), now=now,
                                          notify_user=requested_by)
    return Reminded(round_id=rnd.id, queued=queued)
