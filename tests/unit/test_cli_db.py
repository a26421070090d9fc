"""`icp-bot db upgrade`: migrates DATABASE_URL, names a bad one."""

from __future__ import annotations

from sqlalchemy import inspect

from bot.cli import main
from storage.db import Database


def test_db_upgrade_migrates_the_configured_database(tmp_path, monkeypatch, capsys):
    url = f"sqlite:///{tmp_path / 'fresh.db'}"
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DATABASE_URL", url)
    assert main(["db", "upgrade"]) == 0
    assert "up to date" in capsys.readouterr().out
    db = Database(url)
    assert db.is_up_to_date()
    tables = set(inspect(db.engine).get_table_names())
    assert {"workspaces", "survey_rounds", "answers", "icp_versions", "sent_messages", "slack_installations"} <= tables
    assert main(["db", "upgrade"]) == 0  # again: nothing to do, nothing broken


def test_db_upgrade_names_a_malformed_url(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DATABASE_URL", "mysql://nope")
    assert main(["db", "upgrade"]) == 2
    assert "DATABASE_URL" in capsys.readouterr().err


def test_an_unreachable_database_is_named_without_a_traceback(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'no-such-folder' / 'icp.db'}")
    assert main(["db", "upgrade"]) == 2
    err = capsys.readouterr().err
    assert "DATABASE_URL" in err and "Traceback" not in err
