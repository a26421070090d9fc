"""Workspaces (one per Slack team that installed the bot), their settings and their leaders."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from enum import Enum
from typing import Final
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import delete, exists, select
from sqlalchemy.orm import Session

from storage._sql import insert
from storage.errors import NotFound
from storage.models import Workspace, WorkspaceLeader, utcnow


class _Unset(Enum):
    UNSET = "UNSET"


UNSET: Final = _Unset.UNSET
"""Marks a setting left as it is (None is a value: ``digest_channel=None`` turns the digest off)."""

_TIME_RE = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")
_HOURS_RE = re.compile(r"^([01]\d|2[0-3]):[0-5]\d-([01]\d|2[0-4]):[0-5]\d$")


def get_workspace(session: Session, team_id: str) -> Workspace | None:
    return session.get(Workspace, team_id)


def require_workspace(session: Session, team_id: str) -> Workspace:
    workspace = session.get(Workspace, team_id)
    if workspace is None:
        raise NotFound(f"no workspace {team_id}")
    return workspace


@dataclass(frozen=True)
class WorkspaceSettings:
    """A workspace's settings as read, with the defaults for a workspace not stored yet."""

    team_id: str
    timezone: str = "UTC"
    min_group_size: int = 3
    working_hours: str | None = "09:00-17:00"
    digest_channel: str | None = None
    digest_set_by: str | None = None
    digest_weekday: int = 0
    digest_time: str = "09:00"
    pulse_every_days: int | None = None

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


def settings_of(session: Session, team_id: str) -> WorkspaceSettings:
    """The settings of ``team_id`` without creating its row (a read never writes)."""
    workspace = session.get(Workspace, team_id)
    if workspace is None:
        return WorkspaceSettings(team_id=team_id)
    return WorkspaceSettings(team_id=team_id, timezone=workspace.timezone,
                             min_group_size=workspace.min_group_size, working_hours=workspace.working_hours,
                             digest_channel=workspace.digest_channel,
                             digest_set_by=workspace.digest_set_by, digest_weekday=workspace.digest_weekday,
                             digest_time=workspace.digest_time, pulse_every_days=workspace.pulse_every_days)


def get_or_create_workspace(session: Session, team_id: str, name: str | None = None) -> Workspace:
    """The workspace row, created with default settings on first sight (race-safe).

    A ``name`` given here replaces the stored one: Slack teams get renamed.
    """
    stmt = insert(session, Workspace).values(team_id=team_id, name=name, created_at=utcnow())
    session.execute(stmt.on_conflict_do_nothing(index_elements=["team_id"]))
    workspace = session.get(Workspace, team_id, populate_existing=True)
    assert workspace is not None
    if name is not None and workspace.name != name:
        workspace.name = name
        session.flush()
    return workspace


def list_workspaces(session: Session) -> list[Workspace]:
    """Every workspace, for jobs that run across all of them (weekly digests)."""
    return list(session.scalars(select(Workspace).order_by(Workspace.team_id)))


def update_workspace(
    session: Session,
    team_id: str,
    *,
    name: str | None | _Unset = UNSET,
    digest_channel: str | None | _Unset = UNSET,
    digest_set_by: str | None | _Unset = UNSET,
    digest_weekday: int | _Unset = UNSET,
    digest_time: str | _Unset = UNSET,
    timezone: str | _Unset = UNSET,
    min_group_size: int | _Unset = UNSET,
    working_hours: str | None | _Unset = UNSET,
    pulse_every_days: int | None | _Unset = UNSET,
) -> Workspace:
    """Change the given settings, validated; raise ValueError naming the bad one."""
    workspace = require_workspace(session, team_id)
    if digest_weekday is not UNSET:
        if isinstance(digest_weekday, bool) or not isinstance(digest_weekday, int) or not 0 <= digest_weekday <= 6:
            raise ValueError(f"digest_weekday must be 0 (Monday) to 6 (Sunday), not {digest_weekday!r}")
        workspace.digest_weekday = digest_weekday
    if digest_time is not UNSET:
        if not isinstance(digest_time, str) or not _TIME_RE.match(digest_time):
            raise ValueError(f"digest_time must be HH:MM on a 24-hour clock, not {digest_time!r}")
        workspace.digest_time = digest_time
    if timezone is not UNSET:
        workspace.timezone = _check_timezone(timezone)
    if min_group_size is not UNSET:
        if isinstance(min_group_size, bool) or not isinstance(min_group_size, int) or min_group_size < 2:
            raise ValueError(
                f"min_group_size must be a whole number of at least 2 (anonymity), not {min_group_size!r}"
            )
        workspace.min_group_size = min_group_size
    if working_hours is not UNSET:
        if working_hours is not None and not _HOURS_RE.match(str(working_hours)):
            raise ValueError(f"working_hours must be HH:MM-HH:MM (09:00-17:00) or None, not {working_hours!r}")
        workspace.working_hours = working_hours
    if pulse_every_days is not UNSET:
        if pulse_every_days is not None and (isinstance(pulse_every_days, bool) or not isinstance(pulse_every_days, int)
                                             or not 1 <= pulse_every_days <= 365):
            raise ValueError(f"pulse_every_days must be 1 to 365 days, or None (off), not {pulse_every_days!r}")
        workspace.pulse_every_days = pulse_every_days
    if digest_channel is not UNSET:
        workspace.digest_channel = digest_channel or None
    if digest_set_by is not UNSET:
        workspace.digest_set_by = digest_set_by
    if name is not UNSET:
        workspace.name = name
    session.flush()
    return workspace


def _check_timezone(name: object) -> str:
    if not isinstance(name, str) or not name:
        raise ValueError(f"timezone must be an IANA name such as Europe/Berlin, not {name!r}")
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"unknown timezone {name!r}: use an IANA name such as Europe/Berlin") from exc
    return name


# -- leaders ---------------------------------------------------------------------------------


def add_leader(
    session: Session, team_id: str, user_id: str, added_by: str | None = None, *, at: datetime | None = None
) -> bool:
    """Make ``user_id`` a leader; False when they already were (the first grant is kept)."""
    get_or_create_workspace(session, team_id)
    stmt = insert(session, WorkspaceLeader).values(
        team_id=team_id, user_id=user_id, added_by=added_by, added_at=at or utcnow()
    )
    stmt = stmt.on_conflict_do_nothing(index_elements=["team_id", "user_id"])
    return session.execute(stmt.returning(WorkspaceLeader.user_id)).first() is not None


def remove_leader(session: Session, team_id: str, user_id: str) -> bool:
    """Revoke leadership; False when ``user_id`` was not a leader."""
    result = session.execute(
        delete(WorkspaceLeader).where(
            WorkspaceLeader.team_id == team_id, WorkspaceLeader.user_id == user_id
        )
    )
    return result.rowcount == 1


def list_leaders(session: Session, team_id: str) -> list[WorkspaceLeader]:
    """Leaders in the order they were added."""
    stmt = (
        select(WorkspaceLeader)
        .where(WorkspaceLeader.team_id == team_id)
        .order_by(WorkspaceLeader.added_at, WorkspaceLeader.user_id)
    )
    return list(session.scalars(stmt))


def is_leader(session: Session, team_id: str, user_id: str) -> bool:
    stmt = select(
        exists().where(WorkspaceLeader.team_id == team_id, WorkspaceLeader.user_id == user_id)
    )
    return bool(session.scalar(stmt))
