"""Settings from the environment: every fault names the variable at fault."""

from __future__ import annotations

import pytest

from bot.settings import DEFAULT_SCOPES, Mode, SettingsError, load_settings

VARIABLES = (
    "SLACK_BOT_TOKEN", "SLACK_APP_TOKEN", "SLACK_SIGNING_SECRET", "SLACK_CLIENT_ID",
    "SLACK_CLIENT_SECRET", "SLACK_SCOPES", "SLACK_API_URL", "DATABASE_URL", "ICP_LOG_LEVEL",
)
BOT = "xoxb-1111-2222-abcdefghijkl"
APP = "xapp-1-A111-2222-abcdef"


@pytest.fixture(autouse=True)
def clean_env(monkeypatch, tmp_path):
    """No variable from the caller's shell and no .env file: the working dir is empty."""
    for name in VARIABLES:
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)
    monkeypatch.chdir(tmp_path)


def _require_fails(mode: Mode) -> str:
    settings = load_settings()
    with pytest.raises(SettingsError) as info:
        settings.require(mode)
    return str(info.value)


def test_defaults():
    settings = load_settings()
    assert settings.database_url == "sqlite:///icp.db"
    assert settings.slack_scopes == DEFAULT_SCOPES
    assert settings.slack_api_url == "https://slack.com/api/"
    assert settings.icp_log_level == "INFO"


@pytest.mark.parametrize(
    ("mode", "names"),
    [
        (Mode.SOCKET, ["SLACK_BOT_TOKEN", "SLACK_APP_TOKEN"]),
        (Mode.HTTP, ["SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET"]),
        (Mode.OAUTH, ["SLACK_CLIENT_ID", "SLACK_CLIENT_SECRET", "SLACK_SIGNING_SECRET"]),
    ],
)
def test_missing_tokens_are_named_per_mode(mode, names):
    message = _require_fails(mode)
    assert f"{mode.value} mode needs" in message
    for name in names:
        assert name in message
    others = {"SLACK_BOT_TOKEN", "SLACK_APP_TOKEN", "SLACK_SIGNING_SECRET", "SLACK_CLIENT_ID",
              "SLACK_CLIENT_SECRET"} - set(names)
    for name in others:
        assert name not in message


def test_only_the_missing_token_is_named(monkeypatch):
    monkeypatch.setenv("SLACK_BOT_TOKEN", BOT)
    message = _require_fails(Mode.SOCKET)
    assert "SLACK_APP_TOKEN" in message and "SLACK_BOT_TOKEN" not in message


def test_complete_modes_pass(monkeypatch):
    monkeypatch.setenv("SLACK_BOT_TOKEN", BOT)
    monkeypatch.setenv("SLACK_APP_TOKEN", APP)
    monkeypatch.setenv("SLACK_SIGNING_SECRET", "8f742231b10e8888abcd99yyyzzz85a5")
    settings = load_settings()
    settings.require(Mode.SOCKET)
    settings.require(Mode.HTTP)
    assert settings.slack_bot_token == BOT


def test_empty_token_counts_as_missing(monkeypatch):
    monkeypatch.setenv("SLACK_BOT_TOKEN", "")
    monkeypatch.setenv("SLACK_APP_TOKEN", APP)
    assert "SLACK_BOT_TOKEN" in _require_fails(Mode.SOCKET)


def test_user_token_as_bot_token_is_rejected(monkeypatch):
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxp-1111-2222-3333-secretpart")
    with pytest.raises(SettingsError) as info:
        load_settings()
    message = str(info.value)
    assert "SLACK_BOT_TOKEN" in message
    assert "xoxb-" in message  # says what belongs there
    assert "secretpart" not in message  # and never echoes the token


def test_bot_token_as_app_token_is_rejected(monkeypatch):
    monkeypatch.setenv("SLACK_APP_TOKEN", BOT)
    with pytest.raises(SettingsError) as info:
        load_settings()
    assert "SLACK_APP_TOKEN" in str(info.value) and "xapp-" in str(info.value)
    assert "SLACK_BOT_TOKEN" not in str(info.value)


@pytest.mark.parametrize("url", ["not a url", "localhost/icp", "mysql://u@h/icp",
                                 "postgresql://u:pw@h:notaport/icp"])
def test_malformed_database_url_is_rejected(monkeypatch, url):
    monkeypatch.setenv("DATABASE_URL", url)
    with pytest.raises(SettingsError) as info:
        load_settings()
    assert "DATABASE_URL" in str(info.value)


@pytest.mark.parametrize("url", ["sqlite:///icp.db", "sqlite://", "postgresql://u@h/icp",
                                 "postgresql+psycopg://u:pw@h:5432/icp",
                                 # Heroku / Render style, which storage.db rewrites to psycopg
                                 "postgres://u:pw@h:5432/icp"])
def test_supported_database_urls(monkeypatch, url):
    monkeypatch.setenv("DATABASE_URL", url)
    assert load_settings().database_url == url


def test_dotenv_in_the_working_directory_is_read(tmp_path):
    (tmp_path / ".env").write_text(f"SLACK_BOT_TOKEN={BOT}\n", encoding="utf-8")
    assert load_settings().slack_bot_token == BOT


def test_every_fault_is_named_at_once(monkeypatch):
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxp-1")
    monkeypatch.setenv("DATABASE_URL", "nonsense")
    monkeypatch.setenv("ICP_LOG_LEVEL", "chatty")
    monkeypatch.setenv("SLACK_API_URL", "slack.com/api")
    with pytest.raises(SettingsError) as info:
        load_settings()
    for name in ("SLACK_BOT_TOKEN", "DATABASE_URL", "ICP_LOG_LEVEL", "SLACK_API_URL"):
        assert name in str(info.value)


def test_api_url_gets_a_trailing_slash_and_log_level_is_upper(monkeypatch):
    monkeypatch.setenv("SLACK_API_URL", "http://127.0.0.1:8080/api")
    monkeypatch.setenv("ICP_LOG_LEVEL", "debug")
    settings = load_settings()
    assert settings.slack_api_url == "http://127.0.0.1:8080/api/"
    assert settings.icp_log_level == "DEBUG"


def test_cli_run_names_the_missing_tokens(capsys):
    from bot.cli import main

    assert main(["run"]) == 2
    err = capsys.readouterr().err
    assert "SLACK_BOT_TOKEN" in err and "SLACK_APP_TOKEN" in err


@pytest.mark.parametrize("url", ["not a url", "localhost/icp", "sqlite:///icp.db", "sqlite://", "sqlite:///:memory:",
                                 "postgresql://u@h/icp", "postgresql://u:p@h:notaport/icp", "postgresql://u:p@h:/icp",
                                 "postgresql+psycopg://u:pw@[::1]:5432/icp?sslmode=require", "postgres://u:p@h:5432/icp",
                                 "postgresql://u:p%40ss@h/icp", "postgresql:///icp?host=/run/pg", "sqlite:////abs/path.db",
                                 "postgresql://h:99999999999/icp", " postgresql://h/icp", "sqlite:relative.db"])
def test_database_url_check_accepts_what_sqlalchemy_parses(monkeypatch, url):
    """bot.settings checks DATABASE_URL without importing SQLAlchemy (so the HTTP server can listen
    first); it must accept exactly the URLs make_url parses."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        make_url(url)
        parses = True
    except (ArgumentError, ValueError):
        parses = False
    monkeypatch.setenv("DATABASE_URL", url)
    try:
        load_settings()
        accepted = True
    except SettingsError as exc:
        assert "DATABASE_URL" in str(exc)
        accepted = False
    assert accepted == parses
