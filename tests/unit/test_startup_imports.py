"""What `icp-bot run` imports before it can ack: not the numeric stack nor Alembic; before
`--http` listens, not the database layer nor the listeners; on SQLite, not PostgreSQL's dialect
nor slack_sdk's SQLAlchemy stores.

numpy and scipy (pulled in by survey's report modules) are most of the bot's start-up time and
a third of its idle memory; the listeners import them where a report is built, not at start-up.
Alembic is only imported when the database is behind (``Database.upgrade_if_behind``)."""

from __future__ import annotations

import json
import subprocess
import sys

HEAVY = ("numpy", "scipy", "matplotlib", "krippendorff", "kmodes", "alembic", "cryptography")


def test_the_server_path_imports_no_numeric_stack_and_no_alembic():
    code = ("import json, sys; import bot.app, bot.server, bot.housekeeping, bot.scheduler, bot.cli, "
            "bot.commands.run, bot.listeners, bot.middleware, bot.runtime; "
            f"print(json.dumps([m for m in {HEAVY!r} if m in sys.modules]))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60)
    assert json.loads(out.stdout) == []


def _imported(code: str, modules: tuple[str, ...], env: dict[str, str] | None = None) -> list[str]:
    import os

    out = subprocess.run([sys.executable, "-c", f"import json, sys\n{code}\n"
                          f"print(json.dumps([m for m in {modules!r} if m in sys.modules]))"],
                         capture_output=True, text=True, check=True, timeout=60,
                         env={**os.environ, **(env or {})})
    return json.loads(out.stdout)


def test_http_mode_checks_its_settings_and_listens_without_the_database_layer():
    """What bot.commands.run loads before the server listens (bot.startup): the settings, the
    bare bolt App and the server; SQLAlchemy, the payload models and the listeners come after."""
    code = ("from bot.settings import Mode, load_settings; load_settings().require(Mode.HTTP); "
            "import bot.app, bot.server, bot.startup, bot.commands.run, bot.slack_client")
    env = {"SLACK_BOT_TOKEN": "xoxb-test", "SLACK_SIGNING_SECRET": "s", "DATABASE_URL": "postgresql://u@h:5432/icp"}
    assert _imported(code, ("sqlalchemy", "storage.db", "storage.models", "bot.listeners", "bot.middleware",
                            "bot.payloads", "bot.outbox", "apscheduler"), env) == []


def test_sqlite_loads_neither_postgresql_nor_slack_sdks_sql_stores(tmp_path):
    from storage.db import Database

    url = f"sqlite:///{tmp_path / 'icp.db'}"
    Database(url).upgrade()  # here, so that the bot's process imports no Alembic (which loads every dialect)
    code = f"""
import bot.app, bot.listeners, bot.middleware, bot.scheduler, storage._sql, storage.answers, storage.privacy
from storage import workspaces
from storage.db import Database
db = Database({url!r})
assert db.upgrade_if_behind() is False
with db.session() as session:
    workspaces.get_or_create_workspace(session, "T1")
"""
    assert _imported(code, ("sqlalchemy.dialects.postgresql", "slack_sdk.oauth.installation_store.sqlalchemy",
                            "slack_sdk.oauth.state_store.sqlalchemy", "alembic")) == []
