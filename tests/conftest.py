"""Shared fixtures: ``db``, a migrated database per test, on SQLite and on PostgreSQL; and
the hypothesis profile every property test runs under.

SQLite is a file in the test's tmp_path, a copy of one file migrated once per session
(migrating costs more than most tests), written without fsync (a test needs no durability). PostgreSQL runs when ICP_TEST_DATABASE_URL points at a
server (``.ci/run`` starts one): each test module gets its own fresh database, dropped after the
module, and each test starts from empty tables. Without the variable only SQLite runs; with it
set but unreachable the PostgreSQL cases fail.
"""

from __future__ import annotations

import os
import re
import secrets
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings
from hypothesis.configuration import set_hypothesis_home_dir
from sqlalchemy import URL, create_engine, event, inspect, text

from storage.db import Database, normalize_url

PG_ENV = "ICP_TEST_DATABASE_URL"

# Property tests check values, not speed: no per-example deadline and no "too slow" health
# check (both measure wall-clock time, which a loaded CI machine stretches). Hypothesis keeps
# its example database in the checkout's .hypothesis/, not in whatever directory pytest runs from.
set_hypothesis_home_dir(Path(__file__).resolve().parents[1] / ".hypothesis")
settings.register_profile("icp", deadline=None, suppress_health_check=[HealthCheck.too_slow], print_blob=True)
settings.load_profile("icp")


@pytest.fixture(scope="module")
def postgres_url(request: pytest.FixtureRequest) -> Iterator[URL]:
    """A fresh PostgreSQL database for one test module, dropped afterwards."""
    base = os.environ.get(PG_ENV)
    if not base:
        pytest.skip(f"{PG_ENV} is not set")
    admin_url = normalize_url(base)
    module = re.sub(r"[^a-z0-9]+", "_", request.module.__name__.rsplit(".", 1)[-1].lower())
    name = f"icp_{module[:40]}_{secrets.token_hex(3)}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield admin_url.set(database=name)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _empty_tables(database: Database) -> None:
    with database.engine.begin() as conn:
        tables = [t for t in inspect(conn).get_table_names() if t != "alembic_version"]
        if tables:
            quoted = ", ".join(f'"{t}"' for t in tables)
            conn.execute(text(f"TRUNCATE {quoted} RESTART IDENTITY CASCADE"))


# PostgreSQL joins the SQLite runs when ICP_TEST_DATABASE_URL is set (as .ci/run does).
BACKENDS = ["sqlite"] + (["postgresql"] if os.environ.get(PG_ENV) else [])


@pytest.fixture(scope="session")
def migrated_sqlite(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite file migrated to head and closed (the last connection to close folds the WAL
    into the file): copy it, do not open it."""
    path = tmp_path_factory.mktemp("migrated") / "icp.db"
    database = Database(f"sqlite:///{path}")
    try:
        database.upgrade()
    finally:
        database.dispose()
    assert not path.with_name("icp.db-wal").exists(), "the migrated file is not self-contained"
    return path


def _without_fsync(database: Database) -> Database:
    @event.listens_for(database.engine, "connect")
    def _synchronous_off(dbapi_connection, _record) -> None:
        dbapi_connection.execute("PRAGMA synchronous=OFF")

    return database


@pytest.fixture(params=BACKENDS)
def db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    """A database migrated to head with empty tables."""
    if request.param == "sqlite":
        path = tmp_path / "icp.db"
        shutil.copyfile(request.getfixturevalue("migrated_sqlite"), path)
        database = _without_fsync(Database(f"sqlite:///{path}"))
    else:
        database = Database(request.getfixturevalue("postgres_url"))
        database.upgrade()
        _empty_tables(database)
    try:
        yield database
    finally:
        database.dispose()
