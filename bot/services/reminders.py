"""A leader reminding those who have not finished (``/icp-check remind``, the Remind button)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from slack_sdk import WebClient

from bot.pacing import Pacer
from bot.services import fanout
from storage import rounds, send_log
from storage.db import Database


@dataclass(frozen=True)
class Reminded:
    """``refused``: why nobody was reminded (no open round, past its close date), else None."""

    refused: str | None = None
    round_id: int | None = None
    sent: int = 0
    unreachable: int = 0


def first_click(db: Database, team_id: str, user_id: str, action_ts: str, now: datetime) -> bool:
    """True the first time this click (Slack's ``action_ts`` for this person) is seen: a
    replayed Remind click never spends another reminder."""
    with db.session() as session:
        return send_log.claim(session, f"remind-click:{team_id}:{user_id}:{action_ts[:40]}", kind="click",
                              team_id=team_id, target=user_id, at=now)


def remind(db: Database, client: WebClient, team_id: str, round_id: int | None, *, now: datetime,
           pacer: Pacer | None = None) -> Reminded:
    """Remind the pending participants of ``round_id`` (default: the open round)."""
    with db.session(read_only=True) as session:
        rnd = rounds.get_round(session, round_id) if round_id else rounds.open_round_for(session, team_id)
    if rnd is None or rnd.team_id != team_id:
        return Reminded(refused="No round is open, so there is nobody to remind.")
    if not rnd.is_open:
        return Reminded(refused=f"Round {rnd.id} is closed, so nobody is reminded.", round_id=rnd.id)
    if rnd.closes_at is not None and rnd.closes_at <= now:
        return Reminded(refused=f"Round {rnd.id} is past its close date, so nobody is reminded. "
                                f"Close it with `/icp-check close {rnd.id}`.", round_id=rnd.id)
    outcome = fanout.send_reminders(db, client, rnd.id, now=now, pacer=pacer)
    return Reminded(round_id=rnd.id, sent=outcome.sent, unreachable=len(outcome.unreachable))
