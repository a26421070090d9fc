"""``/icp-check leaders``: who else may run rounds (owners and admins always may)."""

from __future__ import annotations

from bot.services.access import Leaders
from storage import workspaces
from storage.db import Database


def named_leaders(db: Database, team_id: str) -> list[str]:
    with db.session(read_only=True) as session:
        return [leader.user_id for leader in workspaces.list_leaders(session, team_id)]


def add_leader(db: Database, leaders: Leaders, team_id: str, user_id: str, added_by: str) -> None:
    with db.session() as session:
        workspaces.add_leader(session, team_id, user_id, added_by=added_by)
    leaders.forget(team_id, user_id)


def remove_leader(db: Database, leaders: Leaders, team_id: str, user_id: str) -> bool:
    """False when the person was not on the list."""
    with db.session() as session:
        removed = workspaces.remove_leader(session, team_id, user_id)
    leaders.forget(team_id, user_id)
    return removed
