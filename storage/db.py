"""One engine, one session factory, and the migrations that shape the database.

``Database(url)`` is the only place that knows about drivers and dialect quirks:

- ``postgresql://`` (and Heroku's ``postgres://``) URLs are rewritten to psycopg 3
  (``postgresql+psycopg://``); an explicit driver in the URL is kept.
- SQLite connections get ``foreign_keys=ON`` and a ``busy_timeout``; file databases also get
  ``journal_mode=WAL`` so that readers never block the writer, and ``synchronous=NORMAL``:
  in WAL mode that cannot corrupt the database (SQLite's documentation), a commit is simply
  not fsynced until the next checkpoint, so a power cut or an OS crash (not a crash of this
  process) may roll back the last transactions. That is the trade every WAL deployment of
  SQLite makes for commits that cost microseconds instead of an fsync each; a deployment that
  cannot accept it runs PostgreSQL.
- Writers in one process queue on a Python lock per database file before ``BEGIN
  IMMEDIATE``. SQLite's own busy handler sleeps with a growing back-off (up to 100 ms a try)
  while it waits for the write lock, so under load the lock sat free while every waiter slept
  and throughput collapsed; a Python lock hands it over at once. ``busy_timeout`` still
  covers writers in other processes (a CLI command next to the bot).
- SQLite transactions are started by us, not by the sqlite3 module (SQLAlchemy's documented
  recipe): a unit of work begins with ``BEGIN IMMEDIATE``, so it holds the write lock from its
  first statement and concurrent writers queue on ``busy_timeout`` instead of failing with
  "database is locked" when a read snapshot cannot be upgraded to a write. Units of work are
  therefore serialisable on SQLite, which is what a single-process bot wants. A session opened
  with ``read_only=True`` uses a deferred ``BEGIN`` instead: a consistent snapshot that does not
  hold up writers (reports, exports).

``db.session()`` is the unit of work: commit when the block ends, roll back when it raises.
Objects stay readable after the block (``expire_on_commit=False``), so a repository can return
ORM rows to a Slack listener that renders them after the transaction is gone.
"""

from __future__ import annotations

import logging
import re
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from importlib import resources
from pathlib import Path
from typing import Any

from sqlalchemy import URL, Connection, Engine, create_engine, event, make_url, text
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

log = logging.getLogger(__name__)

SQLITE_BUSY_TIMEOUT_MS = 15_000
READ_ONLY = "icp_read_only"  # execution option read by the SQLite "begin" hook
LOCK_TIMEOUT = "icp_lock_timeout_ms"  # execution option: how long a unit of work waits for a lock

# An arbitrary constant: the PostgreSQL advisory lock key that serialises concurrent upgrades.
_MIGRATION_LOCK_KEY = 0x1C9A1160


def normalize_url(url: str | URL) -> URL:
    """The URL the engine is built from: PostgreSQL without a driver means psycopg 3."""
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed


def _is_sqlite_file(url: URL) -> bool:
    database = url.database or ""
    if database in ("", ":memory:") or database.startswith("file::memory:"):
        return False
    return url.query.get("mode") != "memory"


_REVISION = re.compile(r'^revision(?:: *[^=]+)? *= *["\']([^"\']+)["\']', re.M)
_DOWN_REVISION = re.compile(r'^down_revision(?:: *[^=]+)? *= *(.+)$', re.M)


def _script_head() -> str | None:
    """The one head of the migration scripts, read from their text (no Alembic import);
    None when there is not exactly one, or a script does not look as expected."""
    revisions: set[str] = set()
    parents: set[str] = set()
    for script in (migrations_path() / "versions").glob("*.py"):
        source = script.read_text("utf-8")
        revision, down = _REVISION.search(source), _DOWN_REVISION.search(source)
        if revision is None or down is None:
            return None
        revisions.add(revision.group(1))
        parents.update(re.findall(r'["\']([^"\']+)["\']', down.group(1)))
    heads = revisions - parents
    return heads.pop() if len(heads) == 1 else None


_WRITE_LOCKS: dict[str, threading.RLock] = {}
_WRITE_LOCKS_GUARD = threading.Lock()


def _write_lock(key: str) -> threading.RLock:
    """The in-process writer queue of one SQLite database (one per file, shared by every
    ``Database`` on it). Re-entrant, so a write session opened inside another in the same
    thread behaves as before: it waits on SQLite's ``busy_timeout``, not on this lock."""
    with _WRITE_LOCKS_GUARD:
        return _WRITE_LOCKS.setdefault(key, threading.RLock())


def migrations_path() -> Path:
    """The Alembic script directory inside the installed ``storage`` package."""
    return Path(str(resources.files("storage").joinpath("migrations")))


class Database:
    """An engine and its session factory for one database URL."""

    def __init__(self, url: str | URL, *, echo: bool = False, **engine_options: Any):
        self.url = normalize_url(url)
        options: dict[str, Any] = {"echo": echo, **engine_options}
        if self.dialect == "postgresql":
            from storage.models import add_postgresql_options

            add_postgresql_options()
            options.setdefault("pool_pre_ping", True)
            # bolt's listener threads, the dispatch threads, the outbox and the scheduler may each
            # hold a connection at once: SQLAlchemy's default of 5 + 10 made them queue for 30 s
            options.setdefault("pool_size", 10)
            options.setdefault("max_overflow", 20)
        self.engine: Engine = create_engine(self.url, **options)
        if self.dialect == "sqlite":
            self._configure_sqlite(self.engine, wal=_is_sqlite_file(self.url))
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)
        self._writers: threading.RLock | None = None
        if self.dialect == "sqlite":
            key = self.url.database if _is_sqlite_file(self.url) else f"memory:{id(self)}"
            self._writers = _write_lock(str(Path(key).resolve()) if _is_sqlite_file(self.url) else key)

    @property
    def dialect(self) -> str:
        """``"sqlite"`` or ``"postgresql"``."""
        return self.url.get_backend_name()

    def __repr__(self) -> str:
        return f"Database({self.url.render_as_string(hide_password=True)!r})"

    @staticmethod
    def _configure_sqlite(engine: Engine, *, wal: bool) -> None:
        @event.listens_for(engine, "connect")
        def _on_connect(dbapi_connection, _record):  # pragma: no cover - trivial
            # Take transaction control away from the sqlite3 module (see module docstring).
            dbapi_connection.isolation_level = None
            cursor = dbapi_connection.cursor()
            try:
                cursor.execute("PRAGMA foreign_keys=ON")
                cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
                if wal:
                    cursor.execute("PRAGMA journal_mode=WAL")
                    cursor.execute("PRAGMA synchronous=NORMAL")  # safe in WAL: see the module docstring
            finally:
                cursor.close()

        @event.listens_for(engine, "begin")
        def _on_begin(conn):
            options = conn.get_execution_options()
            read_only = bool(options.get(READ_ONLY, False))
            # The lock wait of this unit of work, and query_only, which makes a read-only unit
            # of work refuse writes as PostgreSQL does (so that a mistake shows up in SQLite
            # tests too). A pooled connection keeps what was last set, so a pragma is only
            # sent when it changes: two statements fewer for most units of work.
            # These go to the sqlite3 connection itself, not through SQLAlchemy's statement
            # machinery: every unit of work runs them, and SQLAlchemy's per-statement cost is
            # most of what an empty unit of work costs.
            wanted = (int(options.get(LOCK_TIMEOUT, SQLITE_BUSY_TIMEOUT_MS)), read_only)
            fairy = conn.connection
            raw = fairy.dbapi_connection
            statement = "BEGIN" if read_only else "BEGIN IMMEDIATE"
            try:
                if fairy.info.get("icp_pragmas") != wanted:
                    fairy.info.pop("icp_pragmas", None)  # unknown if a pragma below fails
                    raw.execute(f"PRAGMA busy_timeout={wanted[0]}")
                    raw.execute(f"PRAGMA query_only={int(read_only)}")
                    fairy.info["icp_pragmas"] = wanted
                raw.execute(statement)
            except sqlite3.OperationalError as exc:  # "database is locked": as SQLAlchemy raises it
                raise OperationalError(statement, None, exc) from exc

    @contextmanager
    def session(self, *, read_only: bool = False, lock_timeout: float | None = None) -> Iterator[Session]:
        """A unit of work: commits when the block ends, rolls back if it raises.

        ``read_only=True`` for reads (views, reports, exports): writes are refused on both
        databases; on SQLite it reads a snapshot without taking the write lock, on PostgreSQL
        the transaction is READ ONLY.

        ``lock_timeout`` (seconds): how long to wait for a lock before ``OperationalError``
        (SQLite's write lock, PostgreSQL's row and table locks), for a unit of work that must
        answer a person within Slack's 3 seconds rather than wait 15.

        Do not open a write session inside another one in the same thread: on SQLite the
        inner one waits for the outer one's write lock until ``busy_timeout``.
        """
        with self._queued(read_only, lock_timeout):
            with self._sessions.begin() as session:
                opts = self._options(read_only, lock_timeout)
                if opts:
                    self._started(session.connection(execution_options=opts), lock_timeout)
                yield session

    @contextmanager
    def connection(self, *, read_only: bool = False, lock_timeout: float | None = None) -> Iterator[Connection]:
        """The same unit of work as ``session()`` on a Core connection, without an ORM session.

        For the hot path (a survey step): statements built once and executed on a connection
        cost a fraction of ORM ``session.get`` and identity-map bookkeeping."""
        with self._queued(read_only, lock_timeout), self.engine.connect() as connection:
            opts = self._options(read_only, lock_timeout)
            if opts:
                connection.execution_options(**opts)  # before BEGIN: the begin hook reads them
            with connection.begin():
                self._started(connection, lock_timeout)
                yield connection

    @contextmanager
    def _queued(self, read_only: bool, lock_timeout: float | None) -> Iterator[None]:
        """A SQLite writer waits here, in this process's queue, before ``BEGIN IMMEDIATE``."""
        if self._writers is None or read_only:
            yield
            return
        wait = SQLITE_BUSY_TIMEOUT_MS / 1000 if lock_timeout is None else lock_timeout
        if not self._writers.acquire(timeout=wait):
            raise OperationalError("BEGIN IMMEDIATE", None, sqlite3.OperationalError("database is locked"))
        try:
            yield
        finally:
            self._writers.release()

    def _options(self, read_only: bool, lock_timeout: float | None) -> dict[str, Any]:
        opts: dict[str, Any] = {}
        if read_only:
            opts[READ_ONLY] = True
            if self.dialect == "postgresql":
                opts["postgresql_readonly"] = True
        if lock_timeout is not None:
            opts[LOCK_TIMEOUT] = int(lock_timeout * 1000)
        return opts

    def _started(self, connection: Connection, lock_timeout: float | None) -> None:
        if lock_timeout is not None and self.dialect == "postgresql":
            connection.exec_driver_sql(f"SET LOCAL lock_timeout = {int(lock_timeout * 1000)}")

    @staticmethod
    def is_read_only(session: Session) -> bool:
        """Whether ``session`` was opened with ``read_only=True``."""
        return bool(session.connection().get_execution_options().get(READ_ONLY, False))

    def dispose(self) -> None:
        """Close every pooled connection (tests, shutdown)."""
        self.engine.dispose()

    # -- migrations -------------------------------------------------------------------------

    def alembic_config(self):
        """An Alembic config built in code: works from any cwd and from an installed wheel."""
        from alembic.config import Config

        config = Config()
        config.set_main_option("script_location", str(migrations_path()).replace("%", "%%"))
        config.set_main_option(
            "sqlalchemy.url", self.url.render_as_string(hide_password=False).replace("%", "%%")
        )
        return config

    def _run_alembic(self, fn, *args: Any) -> None:
        config = self.alembic_config()
        with self.engine.begin() as connection:
            if self.dialect == "postgresql":
                # Two replicas starting at once must not both run the same migration.
                connection.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _MIGRATION_LOCK_KEY})
            config.attributes["connection"] = connection
            fn(config, *args)

    def upgrade(self, revision: str = "head") -> None:
        """Run the Alembic migrations up to ``revision`` (default: the newest)."""
        from alembic import command

        self._run_alembic(command.upgrade, revision)

    def downgrade(self, revision: str = "base") -> None:
        """Undo migrations down to ``revision`` (default: an empty database)."""
        from alembic import command

        self._run_alembic(command.downgrade, revision)

    def current_revision(self) -> str | None:
        """The revision the database is at, None when it was never migrated."""
        from alembic.runtime.migration import MigrationContext

        with self.engine.connect() as connection:
            connection.execution_options(**{READ_ONLY: True})  # no SQLite write lock to read
            return MigrationContext.configure(connection).get_current_revision()

    def head_revision(self) -> str | None:
        """The newest revision the installed code knows."""
        from alembic.script import ScriptDirectory

        return ScriptDirectory.from_config(self.alembic_config()).get_current_head()

    def is_up_to_date(self) -> bool:
        return self.current_revision() == self.head_revision()

    def upgrade_if_behind(self) -> bool:
        """``upgrade()`` unless the database is already at the head revision; True if it ran.

        A restart of an up-to-date bot (the usual case) then costs one query, not Alembic's
        import and its reading of every migration script (about a second on a small machine).
        Both revisions are read without Alembic; anything unexpected falls back to Alembic,
        which has the final word."""
        head = _script_head()
        if head is not None and self._stored_revisions() == {head}:
            return False
        self.upgrade()
        return True

    def _stored_revisions(self) -> set[str] | None:
        try:
            with self.session(read_only=True) as session:
                return {row[0] for row in session.execute(text("SELECT version_num FROM alembic_version"))}
        except Exception:  # no such table yet (a new database): Alembic creates it
            return None
