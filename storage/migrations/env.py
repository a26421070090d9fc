"""Alembic environment for ICP Align.

Run programmatically by ``storage.db.Database.upgrade()``, which hands over an open connection
in ``config.attributes["connection"]``. From a terminal (``alembic -c storage/alembic.ini ...``)
the URL comes from ``sqlalchemy.url`` or, when that is empty, from ``DATABASE_URL``.
"""

from __future__ import annotations

import os
from logging.config import fileConfig

from alembic import context

from storage.db import Database
from storage.models import Base, include_name

config = context.config
if config.config_file_name and config.attributes.get("connection") is None:
    fileConfig(config.config_file_name, disable_existing_loggers=False)
target_metadata = Base.metadata


def _configure(connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        include_name=include_name,
        compare_type=True,
        # SQLite cannot ALTER most things: autogenerate emits batch operations for it.
        render_as_batch=connection.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _configure(connection)
        return
    url = config.get_main_option("sqlalchemy.url") or os.environ.get("DATABASE_URL", "sqlite:///icp.db")
    database = Database(url)
    try:
        with database.engine.begin() as connection:
            _configure(connection)
    finally:
        database.dispose()


if context.is_offline_mode():
    raise SystemExit("offline (--sql) migrations are not supported; run against a database")
run_migrations_online()
