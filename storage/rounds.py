"""Survey rounds and their participants.

A round is opened with a stored template and an audience, collects answers until it is
closed, and is never reopened. Participants carry everything the bot needs to invite, remind
and thank them exactly once (``dm_channel``, ``invite_ts``, ``reminders_sent``) and a per-round
random ``pseudonym``: the only name an export or a report may use.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, case, exists, func, select, update
from sqlalchemy.orm import Session

from storage._sql import insert
from storage.errors import NotFound, NotParticipant, RoundClosed
from storage.models import Answer, RoundKind, RoundParticipant, RoundStatus, SurveyRound, utcnow
from storage.workspaces import get_or_create_workspace

PSEUDONYM_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: read aloud safely
PSEUDONYM_LENGTH = 6


def new_pseudonym() -> str:
    """A random id such as ``R7K2Q9`` (32**6, about a billion, values): each random byte's low 5
    bits pick a letter (256 is a multiple of 32, so every letter is equally likely), one
    ``secrets`` call for the six instead of six (a round of 300 people made 1,800 calls)."""
    return "".join(PSEUDONYM_ALPHABET[b & 31] for b in secrets.token_bytes(PSEUDONYM_LENGTH))


# -- rounds ----------------------------------------------------------------------------------


def create_round(
    session: Session,
    team_id: str,
    template_id: int,
    *,
    title: str,
    kind: RoundKind = "full",
    created_by: str | None = None,
    audience: Mapping[str, Any] | None = None,
    closes_at: datetime | None = None,
    max_reminders: int = 2,
    reminder_interval_hours: int = 48,
    opened_at: datetime | None = None,
) -> SurveyRound:
    """Open a round. ``audience`` says how participants were chosen, for display only
    (e.g. ``{"channel": "C123"}``); the participants themselves are added separately."""
    if kind not in ("full", "pulse"):
        raise ValueError(f"kind must be 'full' or 'pulse', not {kind!r}")
    if max_reminders < 0 or reminder_interval_hours < 1:
        raise ValueError("max_reminders must be >= 0 and reminder_interval_hours >= 1")
    get_or_create_workspace(session, team_id)
    survey_round = SurveyRound(
        team_id=team_id,
        template_id=template_id,
        title=title,
        kind=kind,
        status="open",
        audience=dict(audience or {}),
        created_by=created_by,
        opened_at=opened_at or utcnow(),
        closes_at=closes_at,
        max_reminders=max_reminders,
        reminder_interval_hours=reminder_interval_hours,
    )
    session.add(survey_round)
    session.flush()
    return survey_round


def get_round(session: Session, round_id: int) -> SurveyRound | None:
    return session.get(SurveyRound, round_id)


def get_rounds(session: Session, round_ids: Iterable[int]) -> list[SurveyRound]:
    """The rounds of these ids that exist, in one query."""
    ids = sorted(set(round_ids))
    return list(session.scalars(select(SurveyRound).where(SurveyRound.id.in_(ids)))) if ids else []


def require_round(session: Session, round_id: int) -> SurveyRound:
    survey_round = session.get(SurveyRound, round_id)
    if survey_round is None:
        raise NotFound(f"no survey round {round_id}")
    return survey_round


def latest_round(
    session: Session, team_id: str, status: RoundStatus | None = None, kind: RoundKind | None = "full"
) -> SurveyRound | None:
    """The most recently opened round of a workspace, optionally only open or closed ones;
    full survey rounds unless ``kind`` says otherwise (None: any)."""
    stmt = select(SurveyRound).where(SurveyRound.team_id == team_id)
    if kind is not None:
        stmt = stmt.where(SurveyRound.kind == kind)
    if status is not None:
        stmt = stmt.where(SurveyRound.status == status)
    stmt = stmt.order_by(SurveyRound.opened_at.desc(), SurveyRound.id.desc()).limit(1)
    return session.scalars(stmt).first()


def open_round_for(session: Session, team_id: str, kind: RoundKind | None = "full") -> SurveyRound | None:
    """The workspace's latest open (full, by default) round, if any."""
    return latest_round(session, team_id, status="open", kind=kind)


def list_rounds(
    session: Session,
    team_id: str,
    *,
    status: RoundStatus | None = None,
    limit: int | None = 50,
    kind: RoundKind | None = "full",
) -> list[SurveyRound]:
    """A workspace's rounds (full survey rounds unless ``kind`` says otherwise), newest first."""
    stmt = select(SurveyRound).where(SurveyRound.team_id == team_id)
    if kind is not None:
        stmt = stmt.where(SurveyRound.kind == kind)
    if status is not None:
        stmt = stmt.where(SurveyRound.status == status)
    stmt = stmt.order_by(SurveyRound.opened_at.desc(), SurveyRound.id.desc())
    if limit is not None:
        stmt = stmt.limit(limit)
    return list(session.scalars(stmt))


def open_rounds(session: Session, team_id: str | None = None) -> list[SurveyRound]:
    """Open rounds of one workspace, or of all (for the reminder job), oldest first."""
    stmt = select(SurveyRound).where(SurveyRound.status == "open")
    if team_id is not None:
        stmt = stmt.where(SurveyRound.team_id == team_id)
    return list(session.scalars(stmt.order_by(SurveyRound.opened_at, SurveyRound.id)))


def rounds_due_to_close(session: Session, now: datetime | None = None) -> list[SurveyRound]:
    """Open rounds whose ``closes_at`` has passed (for the closing job)."""
    stmt = (
        select(SurveyRound)
        .where(
            SurveyRound.status == "open",
            SurveyRound.closes_at.is_not(None),
            SurveyRound.closes_at <= (now or utcnow()),
        )
        .order_by(SurveyRound.closes_at, SurveyRound.id)
    )
    return list(session.scalars(stmt))


def close_round(session: Session, round_id: int, at: datetime | None = None) -> SurveyRound:
    """Close a round; closing it again changes nothing (the first ``closed_at`` stays)."""
    session.execute(
        update(SurveyRound)
        .where(SurveyRound.id == round_id, SurveyRound.status == "open")
        .values(status="closed", closed_at=at or utcnow())
        .execution_options(synchronize_session=False)
    )
    survey_round = session.get(SurveyRound, round_id, populate_existing=True)
    if survey_round is None:
        raise NotFound(f"no survey round {round_id}")
    return survey_round


def lock_open_round(session: Session, round_id: int) -> None:
    """Raise unless the round exists and is open, and keep it from closing until commit.

    PostgreSQL: ``FOR SHARE`` on the round row, so a concurrent close waits for this unit of
    work (or this one sees it closed). SQLite: the unit of work already holds the write lock.
    """
    status = session.scalar(
        select(SurveyRound.status).where(SurveyRound.id == round_id).with_for_update(read=True)
    )
    if status is None:
        raise NotFound(f"no survey round {round_id}")
    if status != "open":
        raise RoundClosed(round_id)


# -- participants ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Participation:
    """How far a round has got: invited people, people who answered anything, finished ones."""

    invited: int
    answered: int
    completed: int

    @property
    def response_rate(self) -> float:
        return self.completed / self.invited if self.invited else 0.0


def add_participants(
    session: Session, round_id: int, people: Iterable[tuple[str, str | None]],
    time_zones: Mapping[str, str | None] | None = None,
) -> int:
    """Invite ``(user_id, team)`` pairs to an open round; return how many were new.
    ``time_zones``: each person's Slack time zone (``America/New_York``), where known.

    Idempotent: someone already in the round keeps their pseudonym, ``invited_at`` and
    answers; their team is only filled in when it was unknown. Refused for a closed round.
    """
    # Lock the round (PostgreSQL) so that concurrent calls cannot hand out the same pseudonym.
    status = session.scalar(
        select(SurveyRound.status).where(SurveyRound.id == round_id).with_for_update()
    )
    if status is None:
        raise NotFound(f"no survey round {round_id}")
    if status != "open":
        raise RoundClosed(round_id)
    wanted: dict[str, str | None] = {}
    for user_id, team in people:
        wanted.setdefault(user_id, team)
    if not wanted:
        return 0
    existing = {
        user_id: (pseudonym, team)
        for user_id, pseudonym, team in session.execute(
            select(RoundParticipant.user_id, RoundParticipant.pseudonym, RoundParticipant.team)
            .where(RoundParticipant.round_id == round_id)
        )
    }
    taken = {pseudonym for pseudonym, _ in existing.values()}
    now = utcnow()
    rows = []
    for user_id, team in wanted.items():
        if user_id in existing:
            continue
        pseudonym = new_pseudonym()
        while pseudonym in taken:
            pseudonym = new_pseudonym()
        taken.add(pseudonym)
        rows.append(
            {"round_id": round_id, "user_id": user_id, "team": team, "pseudonym": pseudonym,
             "invited_at": now, "reminders_sent": 0, "tz": (time_zones or {}).get(user_id)}
        )
    if rows:
        session.execute(
            insert(session, RoundParticipant).on_conflict_do_nothing(
                index_elements=["round_id", "user_id"]
            ),
            rows,
        )
    for user_id, team in wanted.items():
        if user_id in existing and existing[user_id][1] is None and team is not None:
            set_team(session, round_id, user_id, team)
    return len(rows)


def get_participant(session: Session, round_id: int, user_id: str) -> RoundParticipant | None:
    return session.get(RoundParticipant, (round_id, user_id))


def list_participants(session: Session, round_id: int) -> list[RoundParticipant]:
    stmt = (
        select(RoundParticipant)
        .where(RoundParticipant.round_id == round_id)
        .order_by(RoundParticipant.invited_at, RoundParticipant.user_id)
    )
    return list(session.scalars(stmt))


def pending_participants(session: Session, round_id: int) -> list[RoundParticipant]:
    """Participants who have not completed the round (for status and reminders)."""
    stmt = (
        select(RoundParticipant)
        .where(RoundParticipant.round_id == round_id, RoundParticipant.completed_at.is_(None))
        .order_by(RoundParticipant.invited_at, RoundParticipant.user_id)
    )
    return list(session.scalars(stmt))


def uninvited_participants(session: Session, round_id: int) -> list[RoundParticipant]:
    """Participants whose invitation DM is not recorded yet (for the fan-out job)."""
    stmt = (
        select(RoundParticipant)
        .where(RoundParticipant.round_id == round_id, RoundParticipant.invite_ts.is_(None))
        .order_by(RoundParticipant.invited_at, RoundParticipant.user_id)
    )
    return list(session.scalars(stmt))


def due_for_reminder(
    session: Session, round_id: int, now: datetime | None = None
) -> list[RoundParticipant]:
    """Invited, not completed, fewer than ``max_reminders`` reminders, and the last invitation
    or reminder at least ``reminder_interval_hours`` ago. Empty for a closed round."""
    survey_round = require_round(session, round_id)
    if survey_round.status != "open":
        return []
    threshold = (now or utcnow()) - timedelta(hours=survey_round.reminder_interval_hours)
    last_contact = func.coalesce(RoundParticipant.last_reminded_at, RoundParticipant.invited_at)
    stmt = (
        select(RoundParticipant)
        .where(
            RoundParticipant.round_id == round_id,
            RoundParticipant.completed_at.is_(None),
            RoundParticipant.dm_channel.is_not(None),
            RoundParticipant.reminders_sent < survey_round.max_reminders,
            last_contact <= threshold,
        )
        .order_by(RoundParticipant.invited_at, RoundParticipant.user_id)
    )
    return list(session.scalars(stmt))


def participation(session: Session, round_id: int) -> Participation:
    """Invited / answered (at least one answer) / completed counts, in one query."""
    has_answer = exists().where(
        Answer.round_id == RoundParticipant.round_id, Answer.user_id == RoundParticipant.user_id
    )
    stmt = select(
        func.count(),
        func.count(case((has_answer, 1))),
        func.count(RoundParticipant.completed_at),
    ).where(RoundParticipant.round_id == round_id)
    invited, answered, completed = session.execute(stmt).one()
    return Participation(invited=invited, answered=answered, completed=completed)


def _update_participant(session: Session, round_id: int, user_id: str, **values: Any) -> None:
    result = session.execute(
        update(RoundParticipant)
        .where(RoundParticipant.round_id == round_id, RoundParticipant.user_id == user_id)
        .values(**values)
        .execution_options(synchronize_session="fetch")
    )
    if result.rowcount == 0:
        raise NotParticipant(round_id, user_id)


def mark_invited(session: Session, round_id: int, user_id: str, dm_channel: str, ts: str) -> None:
    """Record where the invitation DM went, so it can later be updated into a receipt."""
    _update_participant(session, round_id, user_id, dm_channel=dm_channel, invite_ts=ts)


def record_reminder(session: Session, round_id: int, user_id: str, at: datetime | None = None) -> None:
    """Count one more reminder (atomically: two jobs cannot both count the same one as first)."""
    _update_participant(
        session, round_id, user_id,
        reminders_sent=RoundParticipant.reminders_sent + 1,
        last_reminded_at=at or utcnow(),
    )


def mark_completed(session: Session, round_id: int, user_id: str, at: datetime | None = None) -> bool:
    """Record that someone finished the round; True the first time (later edits keep it)."""
    result = session.execute(
        update(RoundParticipant)
        .where(
            RoundParticipant.round_id == round_id,
            RoundParticipant.user_id == user_id,
            RoundParticipant.completed_at.is_(None),
        )
        .values(completed_at=at or utcnow())
        .execution_options(synchronize_session="fetch")
    )
    if result.rowcount == 1:
        return True
    if get_participant(session, round_id, user_id) is None:
        raise NotParticipant(round_id, user_id)
    return False


def set_team(session: Session, round_id: int, user_id: str, team: str | None) -> None:
    """Set the team a participant is counted in for team splits."""
    _update_participant(session, round_id, user_id, team=team)



def mark_all_invited(session: Session, invited: Sequence[tuple[int, str, str, str]]) -> None:
    """``mark_invited`` for many (round, user, DM channel, ts) at once: one statement,
    executed for each (the outbox settles a batch of sent invitations together)."""
    if not invited:
        return
    table = RoundParticipant.__table__
    stmt = (table.update()
            .where(table.c.round_id == bindparam("b_round"), table.c.user_id == bindparam("b_user"))
            .values(dm_channel=bindparam("b_channel"), invite_ts=bindparam("b_ts")))
    session.execute(stmt, [{"b_round": r, "b_user": u, "b_channel": c, "b_ts": t} for r, u, c, t in invited])
