"""Database: URLs, SQLite pragmas, the unit of work, UTC datetimes, migrations, OAuth stores."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from slack_sdk.oauth.installation_store.models.installation import Installation
from sqlalchemy import Column, Integer, MetaData, inspect, select, text

from storage import workspaces
from storage.db import Database, normalize_url
from storage.models import Base, Workspace, include_name
from storage.slack_oauth import installation_store, oauth_state_store

APP_TABLES = {t.name for t in Base.metadata.sorted_tables}


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("postgresql://u:p@h:5432/icp", "postgresql+psycopg://u:p@h:5432/icp"),
        ("postgres://u@h/icp", "postgresql+psycopg://u@h/icp"),
        ("postgresql+psycopg://u@h/icp", "postgresql+psycopg://u@h/icp"),
        ("sqlite:///icp.db", "sqlite:///icp.db"),
    ],
)
def test_postgres_urls_use_psycopg3(given: str, expected: str) -> None:
    assert normalize_url(given).render_as_string(hide_password=False) == expected


def test_sqlite_file_database_pragmas(tmp_path) -> None:
    database = Database(f"sqlite:///{tmp_path / 'p.db'}")
    try:
        with database.engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() >= 5000
            assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 1  # NORMAL
    finally:
        database.dispose()


def test_sqlite_writers_queue_in_the_process_and_a_timed_out_one_writes_nothing(tmp_path) -> None:
    import threading

    from sqlalchemy.exc import OperationalError

    database = Database(f"sqlite:///{tmp_path / 'w.db'}")
    other = Database(f"sqlite:///{tmp_path / 'w.db'}")  # a second engine on the same file shares the queue
    try:
        database.upgrade()
        holding, release = threading.Event(), threading.Event()

        def hold():
            with database.session() as s:
                workspaces.get_or_create_workspace(s, "T1")
                holding.set()
                release.wait(timeout=30)

        holder = threading.Thread(target=hold)
        holder.start()
        assert holding.wait(timeout=10)
        with pytest.raises(OperationalError), other.session(lock_timeout=0.01) as s:
            workspaces.get_or_create_workspace(s, "T2")
        with other.session(read_only=True) as s:  # readers never queue
            assert workspaces.get_workspace(s, "T1") is None
        release.set()
        holder.join(timeout=30)
        with other.session() as s:
            assert workspaces.get_workspace(s, "T1") is not None
            assert workspaces.get_workspace(s, "T2") is None
    finally:
        database.dispose()
        other.dispose()


def test_sqlite_memory_database_still_enforces_foreign_keys() -> None:
    database = Database("sqlite://")
    try:
        with database.engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "memory"
    finally:
        database.dispose()


def test_foreign_keys_are_enforced(db: Database) -> None:
    from sqlalchemy.exc import IntegrityError

    from storage.models import WorkspaceLeader

    with pytest.raises(IntegrityError), db.session() as s:
        s.add(WorkspaceLeader(team_id="TNOPE", user_id="U1", added_at=datetime.now(UTC)))


def test_session_commits_on_success_and_rolls_back_on_error(db: Database) -> None:
    with db.session() as s:
        workspaces.get_or_create_workspace(s, "T1", "Acme")
    with pytest.raises(RuntimeError), db.session() as s:
        workspaces.get_or_create_workspace(s, "T2", "Globex")
        workspaces.update_workspace(s, "T1", name="Renamed")
        raise RuntimeError("boom")
    with db.session() as s:
        assert s.scalars(select(Workspace.team_id).order_by(Workspace.team_id)).all() == ["T1"]
        assert workspaces.get_workspace(s, "T1").name == "Acme"


def test_rows_stay_readable_after_the_unit_of_work(db: Database) -> None:
    with db.session() as s:
        workspace = workspaces.get_or_create_workspace(s, "T1", "Acme")
    assert workspace.name == "Acme"  # no DetachedInstanceError: expire_on_commit=False


def test_read_only_session_reads_and_leaves_later_sessions_writable(db: Database) -> None:
    with db.session() as s:
        workspaces.get_or_create_workspace(s, "T1", "Acme")
    for _ in range(3):  # the pool hands the same connection back
        with db.session(read_only=True) as s:
            assert workspaces.get_workspace(s, "T1").name == "Acme"
    with db.session() as s:
        workspaces.update_workspace(s, "T1", name="Acme Inc")
    with db.session() as s:
        assert workspaces.get_workspace(s, "T1").name == "Acme Inc"


def test_read_only_session_refuses_writes(db: Database) -> None:
    """On both databases, so that a write in a read-only view fails in SQLite tests too."""
    from sqlalchemy.exc import DBAPIError

    with pytest.raises(DBAPIError, match="read-?only"), db.session(read_only=True) as s:
        assert db.is_read_only(s)
        workspaces.get_or_create_workspace(s, "T1")
    with db.session() as s:
        assert not db.is_read_only(s)
        workspaces.get_or_create_workspace(s, "T1")
    with db.session() as s:
        assert workspaces.get_workspace(s, "T1") is not None


def test_datetimes_come_back_aware_utc(db: Database) -> None:
    berlin = timezone(timedelta(hours=1))
    created = datetime(2025, 3, 30, 1, 30, 15, 123456, tzinfo=berlin)
    with db.session() as s:
        s.add(Workspace(team_id="T1", created_at=created))
    with db.session() as s:
        stored = s.scalar(select(Workspace.created_at))
    assert stored.tzinfo is not None and stored.utcoffset() == timedelta(0)
    assert stored == created
    assert stored.hour == 0  # 01:30 at +01:00 is 00:30 UTC
    with db.session() as s:  # comparisons in SQL agree with Python's
        assert s.scalar(select(Workspace.team_id).where(Workspace.created_at < created + timedelta(seconds=1))) == "T1"
        assert s.scalar(select(Workspace.team_id).where(Workspace.created_at > created)) is None


def test_naive_datetimes_are_refused(db: Database) -> None:
    from sqlalchemy.exc import StatementError

    with pytest.raises(StatementError, match="naive datetime"), db.session() as s:
        s.add(Workspace(team_id="T1", created_at=datetime(2025, 1, 1)))
        s.flush()


# -- migrations ------------------------------------------------------------------------------


def _schema_diff(database: Database, metadata: MetaData = Base.metadata) -> list:
    with database.engine.connect() as conn:
        context = MigrationContext.configure(
            conn,
            opts={"include_name": include_name, "compare_type": True, "compare_server_default": True},
        )
        return compare_metadata(context, metadata)


def test_migrated_schema_matches_the_models(db: Database) -> None:
    assert db.current_revision() == db.head_revision()
    assert db.is_up_to_date()
    assert _schema_diff(db) == []


def test_schema_check_notices_a_model_the_migrations_lack(db: Database) -> None:
    """Control for the test above: the comparison is not vacuous."""
    metadata = MetaData()
    for table in Base.metadata.sorted_tables:
        table.to_metadata(metadata)
    metadata.tables["workspaces"].append_column(Column("extra", Integer))
    diff = _schema_diff(db, metadata)
    assert [d[0] for d in diff] == ["add_column"]
    assert diff[0][3].name == "extra"


def test_downgrade_to_base_and_upgrade_again(db: Database) -> None:
    with db.session() as s:
        workspaces.get_or_create_workspace(s, "T1")
    db.downgrade("base")
    assert db.current_revision() is None
    assert set(inspect(db.engine).get_table_names()) <= {"alembic_version"}
    db.upgrade()
    assert set(inspect(db.engine).get_table_names()) == APP_TABLES | {"alembic_version"}
    assert _schema_diff(db) == []
    with db.session() as s:
        assert workspaces.get_workspace(s, "T1") is None


def test_upgrade_is_idempotent_and_independent_of_cwd(db: Database, tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    db.upgrade()
    db.upgrade()
    assert db.is_up_to_date()


def test_upgrade_if_behind_reads_the_head_without_alembic_and_upgrades_only_when_behind(db: Database) -> None:
    from storage.db import _script_head

    assert _script_head() == db.head_revision()
    assert db.upgrade_if_behind() is False  # at head: nothing ran
    db.downgrade("0001")
    assert db.upgrade_if_behind() is True
    assert db.is_up_to_date()
    db.downgrade("base")
    assert db.upgrade_if_behind() is True
    assert db.is_up_to_date()


def test_migrations_leave_foreign_tables_alone(db: Database) -> None:
    """APScheduler creates its job table itself; the schema check must not flag it."""
    with db.engine.begin() as conn:
        conn.execute(text("CREATE TABLE apscheduler_jobs (id VARCHAR(191) PRIMARY KEY)"))
    assert _schema_diff(db) == []


# -- slack_sdk OAuth stores ------------------------------------------------------------------


def test_installation_store_round_trip(db: Database) -> None:
    store = installation_store(db, client_id="111.222")
    store.save(
        Installation(
            app_id="A1", enterprise_id=None, team_id="T1", team_name="Acme", user_id="U1",
            bot_token="xoxb-1", bot_id="B1", bot_user_id="UB1", bot_scopes=["chat:write"],
            installed_at=1_700_000_000.0,
        )
    )
    found = store.find_installation(enterprise_id=None, team_id="T1")
    assert found is not None and found.bot_token == "xoxb-1" and found.user_id == "U1"
    bot = store.find_bot(enterprise_id=None, team_id="T1")
    assert bot is not None and bot.bot_user_id == "UB1"
    assert store.find_installation(enterprise_id=None, team_id="T2") is None


def test_oauth_state_store_consumes_once(db: Database) -> None:
    store = oauth_state_store(db, expiration_seconds=600)
    state = store.issue()
    assert store.consume(state) is True
    assert store.consume(state) is False
    assert store.consume("never-issued") is False
