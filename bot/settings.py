"""Settings from the environment (pydantic-settings), checked once at start-up.

Every fault names the variable: a missing token for the chosen mode, a token of the wrong
kind (a user token where a bot token belongs), a database URL that cannot be parsed.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from enum import StrEnum

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

_SQLALCHEMY_URL = re.compile(r"""
    (?P<name>[\w\+]+)://
    (?:(?P<username>[^:/]*)(?::(?P<password>[^@]*))?@)?
    (?:(?:\[(?P<ipv6host>[^/\?]+)\]|(?P<ipv4host>[^/:\?]+))?(?::(?P<port>[^/\?]*))?)?
    (?:/(?P<database>[^\?]*))?
    (?:\?(?P<query>.*))?
    """, re.X)


class Mode(StrEnum):
    SOCKET = "socket"
    HTTP = "http"
    OAUTH = "oauth"


class SettingsError(ValueError):
    """Start-up cannot go on; the message names each variable at fault."""


_PREFIXES = {
    "slack_bot_token": ("xoxb-", "a bot token (xoxb-...), from OAuth & Permissions"),
    "slack_app_token": ("xapp-", "an app-level token (xapp-...) with connections:write, from Basic Information"),
}

DEFAULT_SCOPES = (
    "commands,chat:write,chat:write.public,im:write,users:read,usergroups:read,"
    "channels:read,groups:read,files:write,im:history,channels:history,groups:history"
)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    slack_bot_token: str | None = None
    slack_app_token: str | None = None
    slack_signing_secret: str | None = None
    slack_client_id: str | None = None
    slack_client_secret: str | None = None
    slack_scopes: str = DEFAULT_SCOPES
    slack_api_url: str = Field(default="https://slack.com/api/")
    database_url: str = "sqlite:///icp.db"
    icp_log_level: str = "INFO"
    # Fernet keys for the Slack tokens stored in OAuth mode, comma-separated: "new,old" while
    # rotating (the first encrypts, all decrypt). SecretStr: never shown in a repr or a log.
    icp_encryption_key: SecretStr | None = None
    icp_allow_plaintext_tokens: bool = False
    # TEST-ONLY: seconds added to the bot's clock (listeners, outbox, scheduler), so that a
    # process-level test can start `icp-bot run` just before a digest's due time, or after the
    # leases a killed process held ran out, without waiting real minutes. Never set it in
    # production: messages would go out early or late by as much.
    icp_clock_offset: float = 0.0
    # The digest's chart also as a PNG in its thread (bot.services.digest.CHART_PNG).
    icp_digest_chart_png: bool = False
    # Pacing (bot.pacing): chat.postMessage per workspace and per channel. Slack documents the
    # rates ("several hundred messages per minute", "1 per second per channel"), not the bursts.
    icp_post_per_minute: float = Field(default=300, gt=0)
    icp_post_burst: int = Field(default=300, ge=1)
    icp_post_channel_per_minute: float = Field(default=60, gt=0)
    icp_post_channel_burst: int = Field(default=3, ge=1)
    icp_outbox_workers: int = Field(default=8, ge=1, le=64)  # calls in flight at once

    @field_validator("slack_bot_token", "slack_app_token")
    @classmethod
    def _token_kind(cls, value: str | None, info) -> str | None:
        if value is None or value == "":
            return None
        prefix, what = _PREFIXES[info.field_name]
        if not value.startswith(prefix):
            raise ValueError(f"must be {what}; got a value starting with {value[:5]!r}")
        return value

    @field_validator("slack_api_url")
    @classmethod
    def _api_url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("must be an http(s) URL such as https://slack.com/api/")
        return value if value.endswith("/") else value + "/"

    @field_validator("database_url")
    @classmethod
    def _database_url(cls, value: str) -> str:
        # SQLAlchemy's own URL pattern (sqlalchemy.engine.url._parse_url), matched here so that
        # checking the setting does not import SQLAlchemy before `icp-bot run --http` listens;
        # tests/unit/test_settings.py checks that it accepts what make_url accepts.
        match = _SQLALCHEMY_URL.match(value)
        if match is None:
            raise ValueError("is not a database URL (Could not parse SQLAlchemy URL from given URL string); "
                             "e.g. sqlite:///icp.db or postgresql://user@host/db")
        if match["port"] is not None:
            try:
                int(match["port"])
            except ValueError as exc:
                raise ValueError(f"is not a database URL (port {match['port']!r} is not a number)") from exc
        backend = match["name"].split("+", 1)[0]
        # "postgres" is Heroku's / Render's spelling; storage.db.normalize_url rewrites it
        if backend not in ("sqlite", "postgresql", "postgres"):
            raise ValueError(f"backend {backend!r} is not supported; use sqlite or postgresql")
        return value

    @field_validator("icp_log_level")
    @classmethod
    def _log_level(cls, value: str) -> str:
        level = value.upper()
        if level not in ("DEBUG", "INFO", "WARNING", "ERROR"):
            raise ValueError("must be one of DEBUG, INFO, WARNING, ERROR")
        return level

    @field_validator("icp_encryption_key")
    @classmethod
    def _encryption_key(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None or not value.get_secret_value().strip():
            return None
        from storage.slack_oauth import token_cipher  # cryptography: only when a key is set

        token_cipher(value.get_secret_value())  # ValueError (naming no key) when malformed
        return value

    @field_validator("icp_clock_offset")
    @classmethod
    def _clock_offset(cls, value: float) -> float:
        if not math.isfinite(value) or abs(value) > 400 * 86400:
            raise ValueError("must be a number of seconds within 400 days (a test-only setting; leave it unset)")
        return value

    def clock(self) -> Callable[[], datetime] | None:
        """The bot's clock when ICP_CLOCK_OFFSET shifts it (tests only); None: the real one."""
        if not self.icp_clock_offset:
            return None
        offset = timedelta(seconds=self.icp_clock_offset)
        return lambda: datetime.now(UTC) + offset

    def encryption_key(self) -> str | None:
        """ICP_ENCRYPTION_KEY's value, for storage.slack_oauth.installation_store."""
        return self.icp_encryption_key.get_secret_value() if self.icp_encryption_key else None

    def pacing_limits(self) -> dict:
        """The limits for ``bot.pacing.Pacer(limits=...)``."""
        from bot.pacing import Limit

        return {"chat.postMessage": Limit(self.icp_post_per_minute, self.icp_post_burst),
                "chat.postMessage:channel": Limit(self.icp_post_channel_per_minute, self.icp_post_channel_burst)}

    def require(self, mode: Mode) -> None:
        """Raise SettingsError naming every variable that ``mode`` needs and lacks."""
        needed = {
            Mode.SOCKET: ["slack_bot_token", "slack_app_token"],
            Mode.HTTP: ["slack_bot_token", "slack_signing_secret"],
            Mode.OAUTH: ["slack_client_id", "slack_client_secret", "slack_signing_secret"],
        }[mode]
        missing = [name.upper() for name in needed if not getattr(self, name)]
        if missing:
            raise SettingsError(
                f"{mode.value} mode needs {' and '.join(missing)} in the environment, and "
                f"{'it is' if len(missing) == 1 else 'they are'} not set. See README, 'Connect a Slack workspace'."
            )
        if mode == Mode.OAUTH and self.icp_encryption_key is None and not self.icp_allow_plaintext_tokens:
            raise SettingsError(
                "oauth mode stores every workspace's Slack tokens in the database: set ICP_ENCRYPTION_KEY "
                "to encrypt them (make a key with `icp-bot keys generate`), or set "
                "ICP_ALLOW_PLAINTEXT_TOKENS=1 to store them in plaintext."
            )


def load_settings(**overrides) -> Settings:
    """Read the environment; a malformed variable raises SettingsError naming it."""
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            name = str(err["loc"][0]).upper() if err["loc"] else "settings"
            problems.append(f"{name}: {err['msg'].removeprefix('Value error, ')}")
        raise SettingsError("invalid settings: " + "; ".join(problems)) from exc
