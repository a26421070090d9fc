"""Copying a whole database to another URL (SQLite to PostgreSQL, typically) without losing
a row.

The target is migrated to head by the same Alembic migrations, so its schema is the one the
code expects; then every table of the metadata (the bot's own and slack_sdk's OAuth tables)
is copied in foreign-key order, through the same SQLAlchemy column types (a UTC datetime
stored naive in SQLite arrives as ``timestamptz``, JSON as ``jsonb``), in one transaction on
the target: all of it, or nothing. ``alembic_version`` is not copied, the migration wrote it;
the source must be at head too, so both hold the same schema. PostgreSQL sequences are then
moved past the copied ids, or the next insert would collide with a copied row. A target that
holds any row is refused: merging two databases is not a copy.

Stored Slack tokens are copied as they are (encrypted ones stay encrypted: the same
ICP_ENCRYPTION_KEY opens them on the target).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy import Integer, func, inspect, select, text

from storage.db import READ_ONLY, Database
from storage.models import FOREIGN_TABLES, Base

BATCH = 1000


class CopyError(RuntimeError):
    """The copy cannot start (or was rolled back); the message says why."""


@dataclass
class CopyResult:
    rows: dict[str, int] = field(default_factory=dict)  # table -> rows copied
    skipped: list[str] = field(default_factory=list)  # source tables that are not ours

    @property
    def total(self) -> int:
        return sum(self.rows.values())


def _count(conn, table) -> int:
    return int(conn.execute(select(func.count()).select_from(table)).scalar_one())


def copy_database(source: Database, target: Database, *,
                  progress: Callable[[str, int], None] | None = None) -> CopyResult:
    """Copy every row of ``source`` into ``target`` (migrated here, and which must be empty)."""
    if source.url == target.url:
        raise CopyError("the source and the target are the same database")
    if source.current_revision() is None:
        raise CopyError("the source database was never migrated: there is nothing to copy")
    if not source.is_up_to_date():
        raise CopyError("the source database is behind this version: run `icp-bot db upgrade` on it "
                        "first, so that both have the same schema")
    tables = Base.metadata.sorted_tables  # parents before children
    existing = set(inspect(target.engine).get_table_names())
    with target.engine.connect() as conn:  # before migrating: a refused target is left as it was
        conn.execution_options(**{READ_ONLY: True})
        filled = [t.name for t in tables if t.name in existing and _count(conn, t) > 0]
    if filled:
        raise CopyError(f"the target database is not empty ({', '.join(filled)} hold rows); "
                        "copy into an empty database")
    target.upgrade()
    known = {t.name for t in tables} | {"alembic_version"}
    result = CopyResult(skipped=sorted(set(inspect(source.engine).get_table_names()) - known))
    unknown = [name for name in result.skipped if name not in FOREIGN_TABLES]
    if unknown:
        raise CopyError(f"the source holds tables this version does not know ({', '.join(unknown)}); "
                        "nothing was copied")

    with source.engine.connect() as src, target.engine.begin() as dst:
        src.execution_options(**{READ_ONLY: True})  # SQLite: a snapshot, without the write lock
        for table in tables:
            copied = 0
            rows = src.execution_options(yield_per=BATCH).execute(select(table)).mappings()
            for chunk in rows.partitions(BATCH):
                dst.execute(table.insert(), [dict(row) for row in chunk])
                copied += len(chunk)
            result.rows[table.name] = copied
            if progress is not None:
                progress(table.name, copied)
        for table in tables:
            if _count(dst, table) != result.rows[table.name]:  # pragma: no cover - a broken driver
                raise CopyError(f"{table.name}: {result.rows[table.name]} rows read, "
                                f"{_count(dst, table)} written; rolled back")
        if target.dialect == "postgresql":
            _reset_sequences(dst, tables)
    return result


def _reset_sequences(conn, tables) -> None:
    """Move each serial/identity sequence past the largest copied id."""
    for table in tables:
        for column in table.primary_key.columns:
            if not isinstance(column.type, Integer) or column.autoincrement is False:
                continue
            sequence = conn.execute(text("SELECT pg_get_serial_sequence(:t, :c)"),
                                    {"t": table.name, "c": column.name}).scalar()
            if sequence is None:
                continue
            conn.execute(text(
                f'SELECT setval(:s, COALESCE((SELECT MAX("{column.name}") FROM "{table.name}"), 0) + 1, false)'),
                {"s": sequence})
