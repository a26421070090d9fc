"""Start-up refusals, `icp-bot keys`, and the loopback default of `--host`."""

from __future__ import annotations

import pytest
from cryptography.fernet import Fernet

from bot.cli import build_parser, main
from bot.settings import Mode, SettingsError, load_settings
from storage.db import Database
from storage.slack_oauth import installation_store, is_encrypted
from tests.storage.test_storage_slack_oauth import BOT_TOKEN, CLIENT, _installation, _stored

VARIABLES = ("SLACK_BOT_TOKEN", "SLACK_APP_TOKEN", "SLACK_SIGNING_SECRET", "SLACK_CLIENT_ID",
             "SLACK_CLIENT_SECRET", "DATABASE_URL", "ICP_ENCRYPTION_KEY", "ICP_ALLOW_PLAINTEXT_TOKENS")


@pytest.fixture(autouse=True)
def clean_env(monkeypatch, tmp_path):
    for name in VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)  # no .env file from the caller's folder
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'icp.db'}")


def _oauth_env(monkeypatch) -> None:
    monkeypatch.setenv("SLACK_CLIENT_ID", "111.222")
    monkeypatch.setenv("SLACK_CLIENT_SECRET", "client-secret")
    monkeypatch.setenv("SLACK_SIGNING_SECRET", "signing-secret")


def test_oauth_mode_refuses_to_start_without_a_key(monkeypatch, capsys):
    _oauth_env(monkeypatch)
    with pytest.raises(SettingsError) as info:
        load_settings().require(Mode.OAUTH)
    assert "ICP_ENCRYPTION_KEY" in str(info.value) and "ICP_ALLOW_PLAINTEXT_TOKENS=1" in str(info.value)
    assert main(["run", "--oauth"]) == 2
    assert "ICP_ENCRYPTION_KEY" in capsys.readouterr().err


def test_oauth_mode_starts_with_a_key_or_the_explicit_escape_hatch(monkeypatch):
    _oauth_env(monkeypatch)
    monkeypatch.setenv("ICP_ALLOW_PLAINTEXT_TOKENS", "1")
    load_settings().require(Mode.OAUTH)
    monkeypatch.delenv("ICP_ALLOW_PLAINTEXT_TOKENS")
    key = Fernet.generate_key().decode()
    monkeypatch.setenv("ICP_ENCRYPTION_KEY", key)
    settings = load_settings()
    settings.require(Mode.OAUTH)
    assert settings.encryption_key() == key
    assert key not in repr(settings)  # a SecretStr


def test_a_malformed_key_is_named_at_start_up(monkeypatch):
    monkeypatch.setenv("ICP_ENCRYPTION_KEY", "short-secretpart")
    with pytest.raises(SettingsError) as info:
        load_settings()
    assert "ICP_ENCRYPTION_KEY" in str(info.value) and "secretpart" not in str(info.value)


def test_keys_generate_prints_a_fernet_key(capsys):
    assert main(["keys", "generate"]) == 0
    Fernet(capsys.readouterr().out.strip())  # raises if not a key


def test_keys_rotate_re_encrypts_with_the_new_key(monkeypatch, tmp_path, capsys):
    db = Database(f"sqlite:///{tmp_path / 'icp.db'}")
    db.upgrade()
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    installation_store(db, CLIENT, encryption_key=old).save(_installation())
    monkeypatch.setenv("ICP_ENCRYPTION_KEY", new)  # the old key forgotten: refused, nothing changed
    before = _stored(db)
    assert main(["keys", "rotate"]) == 2
    assert "none of the keys" in capsys.readouterr().err and _stored(db) == before
    monkeypatch.setenv("ICP_ENCRYPTION_KEY", f"{new},{old}")
    assert main(["keys", "rotate"]) == 0
    assert "6 stored Slack tokens" in capsys.readouterr().out
    assert all(is_encrypted(v) for v in _stored(db))
    found = installation_store(db, CLIENT, encryption_key=new).find_bot(enterprise_id=None, team_id="T0001")
    assert found.bot_token == BOT_TOKEN


def test_keys_rotate_needs_a_key(capsys):
    assert main(["keys", "rotate"]) == 2
    assert "ICP_ENCRYPTION_KEY is not set" in capsys.readouterr().err


def test_http_listens_on_loopback_unless_told_otherwise():
    parser = build_parser()
    assert parser.parse_args(["run", "--http"]).host == "127.0.0.1"
    assert parser.parse_args(["run", "--http", "--host", "0.0.0.0"]).host == "0.0.0.0"
    run_help = parser._subparsers._group_actions[0].choices["run"].format_help()
    assert "127.0.0.1" in run_help and "proxy" in run_help


def test_forget_from_the_command_line(tmp_path, capsys):
    from storage import rounds
    from tests.storage.sample_data import PEOPLE, TEAM, populate

    db = Database(f"sqlite:///{tmp_path / 'icp.db'}")
    db.upgrade()
    sample = populate(db)
    assert main(["forget", PEOPLE[1], "--team", TEAM]) == 0
    out = capsys.readouterr().out
    assert "1 closed round(s)" in out and "removed from 1 open round(s) with 1 answer(s)" in out
    with db.session(read_only=True) as s:
        assert PEOPLE[1] not in {p.user_id for r in (sample.closed_round, sample.open_round)
                                 for p in rounds.list_participants(s, r)}
    assert main(["forget", PEOPLE[1], "--team", TEAM]) == 0
    assert "nothing of" in capsys.readouterr().out


def test_db_copy_from_the_command_line(tmp_path, capsys):
    from tests.storage.sample_data import populate

    db = Database(f"sqlite:///{tmp_path / 'icp.db'}")
    db.upgrade()
    populate(db)
    target = f"sqlite:///{tmp_path / 'copy.db'}"
    assert main(["db", "copy", "--to", target]) == 0
    out = capsys.readouterr().out
    assert "answers:" in out and "copied" in out
    assert main(["db", "copy", "--to", target]) == 2
    assert "not empty" in capsys.readouterr().err
    assert main(["db", "copy", "--to", "mysql://elsewhere"]) == 2
    assert "--to" in capsys.readouterr().err


def test_oauth_mode_refuses_to_start_with_a_key_that_does_not_open_the_tokens(monkeypatch, tmp_path, capsys):
    db = Database(f"sqlite:///{tmp_path / 'icp.db'}")
    db.upgrade()
    installation_store(db, CLIENT, encryption_key=Fernet.generate_key().decode()).save(_installation())
    _oauth_env(monkeypatch)
    monkeypatch.setenv("ICP_ENCRYPTION_KEY", Fernet.generate_key().decode())
    assert main(["run", "--oauth", "--no-scheduler"]) == 2
    assert "cannot be decrypted with ICP_ENCRYPTION_KEY" in capsys.readouterr().err
