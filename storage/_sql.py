"""Dialect-aware SQL the ORM does not spell portably (INSERT .. ON CONFLICT)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session


def insert(session: Session, entity: Any):
    """An INSERT that supports ``on_conflict_do_update`` / ``on_conflict_do_nothing``.

    Both SQLite (3.24+) and PostgreSQL resolve the conflict inside the statement, so two
    concurrent inserts of the same key cannot fail with IntegrityError. Built on the Core
    table, not the ORM entity: it runs as plain Core (executemany, RETURNING), and callers
    learn whether a row was inserted from RETURNING (``rowcount`` of an INSERT is not
    reliable across drivers).
    """
    table = getattr(entity, "__table__", entity)
    name = session.get_bind().dialect.name
    if name == "postgresql":  # each dialect imported where used: SQLite never loads PostgreSQL's
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        return pg_insert(table)
    if name == "sqlite":
        from sqlalchemy.dialects.sqlite import insert as sqlite_insert

        return sqlite_insert(table)
    raise NotImplementedError(f"ICP Align supports SQLite and PostgreSQL, not {name}")


def is_postgresql(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"
