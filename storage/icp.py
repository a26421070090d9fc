"""Ratified Ideal Customer Profiles: versions 1, 2, ... per workspace, never edited.

The profile itself belongs to the survey layer (a pydantic model); it is stored as the JSON of
``model_dump(mode="json")`` and handed back as a plain dict, so storage does not depend on
that model's shape. Rebuild it with ``Profile.model_validate(version.profile)``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from pydantic import BaseModel
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from storage.models import IcpVersion, Workspace, utcnow
from storage.workspaces import get_or_create_workspace


def profile_to_json(profile: BaseModel | Mapping[str, Any]) -> dict[str, Any]:
    """A JSON-safe dict from a pydantic model or a mapping; raise TypeError if it is not."""
    data = profile.model_dump(mode="json") if isinstance(profile, BaseModel) else dict(profile)
    try:
        # Round-trip so that what is returned later equals what is returned now.
        return json.loads(json.dumps(data, allow_nan=False))
    except (TypeError, ValueError) as exc:
        raise TypeError(f"the ICP profile is not plain JSON: {exc}") from exc


def ratify(
    session: Session,
    team_id: str,
    profile: BaseModel | Mapping[str, Any],
    source_round_id: int | None = None,
    ratified_by: str | None = None,
    *,
    at: datetime | None = None,
) -> int:
    """Store a new ratified version of the workspace's ICP and return its number.

    Race-safe: the workspace row is locked (PostgreSQL ``FOR UPDATE``; on SQLite the unit of
    work holds the write lock), so two leaders ratifying at once get consecutive versions.
    """
    data = profile_to_json(profile)
    get_or_create_workspace(session, team_id)
    session.execute(select(Workspace.team_id).where(Workspace.team_id == team_id).with_for_update())
    version = session.scalar(
        select(func.coalesce(func.max(IcpVersion.version), 0) + 1).where(IcpVersion.team_id == team_id)
    )
    session.add(
        IcpVersion(
            team_id=team_id,
            version=version,
            profile=data,
            source_round_id=source_round_id,
            ratified_by=ratified_by,
            ratified_at=at or utcnow(),
        )
    )
    session.flush()
    return int(version)


def current_icp(session: Session, team_id: str) -> IcpVersion | None:
    """The newest ratified version, None before the first ratification."""
    stmt = (
        select(IcpVersion)
        .where(IcpVersion.team_id == team_id)
        .order_by(IcpVersion.version.desc())
        .limit(1)
    )
    return session.scalars(stmt).first()


def get_icp_version(session: Session, team_id: str, version: int) -> IcpVersion | None:
    stmt = select(IcpVersion).where(IcpVersion.team_id == team_id, IcpVersion.version == version)
    return session.scalars(stmt).first()


def icp_history(session: Session, team_id: str, limit: int | None = None) -> list[IcpVersion]:
    """All ratified versions, newest first."""
    stmt = select(IcpVersion).where(IcpVersion.team_id == team_id).order_by(IcpVersion.version.desc())
    if limit is not None:
        stmt = stmt.limit(limit)
    return list(session.scalars(stmt))
