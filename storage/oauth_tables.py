"""slack_sdk's OAuth tables (installations, bots, OAuth states), declared as slack_sdk's
``SQLAlchemyInstallationStore.build_*_table`` and ``SQLAlchemyOAuthStateStore.build_oauth_states_table``
build them, so that ``storage.models`` has them in its metadata (migrations, the schema check,
``icp-bot db copy``) without importing slack_sdk's SQLAlchemy stores, which only OAuth mode
uses (``storage.slack_oauth``). tests/storage/test_storage_oauth_tables.py compares these
with slack_sdk's own builders, so a slack_sdk upgrade that changes them fails a test."""

from __future__ import annotations

from sqlalchemy import Boolean, Column, DateTime, Index, Integer, MetaData, String, Table, func

SLACK_BOTS_TABLE = "slack_bots"  # SQLAlchemyInstallationStore.default_bots_table_name
SLACK_INSTALLATIONS_TABLE = "slack_installations"  # .default_installations_table_name
SLACK_OAUTH_STATES_TABLE = "slack_oauth_states"  # SQLAlchemyOAuthStateStore.default_table_name


def _bot_columns() -> list[Column]:
    return [
        Column("id", Integer, primary_key=True, autoincrement=True),
        Column("client_id", String(32), nullable=False),
        Column("app_id", String(32), nullable=False),
        Column("enterprise_id", String(32)),
        Column("enterprise_name", String(200)),
    ]


def _team_bot_columns() -> list[Column]:
    """The workspace and bot-token columns both tables have, in slack_sdk's order."""
    return [
        Column("team_id", String(32)),
        Column("team_name", String(200)),
        Column("bot_token", String(200)),
        Column("bot_id", String(32)),
        Column("bot_user_id", String(32)),
        Column("bot_scopes", String(1000)),
        Column("bot_refresh_token", String(200)),
        Column("bot_token_expires_at", DateTime),
    ]


def installations_table(metadata: MetaData, table_name: str) -> Table:
    return Table(
        table_name,
        metadata,
        *_bot_columns(),
        Column("enterprise_url", String(200)),
        *_team_bot_columns(),
        Column("user_id", String(32), nullable=False),
        Column("user_token", String(200)),
        Column("user_scopes", String(1000)),
        Column("user_refresh_token", String(200)),
        Column("user_token_expires_at", DateTime),
        Column("incoming_webhook_url", String(200)),
        Column("incoming_webhook_channel", String(200)),
        Column("incoming_webhook_channel_id", String(200)),
        Column("incoming_webhook_configuration_url", String(200)),
        Column("is_enterprise_install", Boolean, default=False, nullable=False),
        Column("token_type", String(32)),
        Column("installed_at", DateTime, nullable=False, default=func.now()),
        Index(f"{table_name}_idx", "client_id", "enterprise_id", "team_id", "user_id", "installed_at"),
    )


def bots_table(metadata: MetaData, table_name: str) -> Table:
    return Table(
        table_name,
        metadata,
        *_bot_columns(),
        *_team_bot_columns(),
        Column("is_enterprise_install", Boolean, default=False, nullable=False),
        Column("installed_at", DateTime, nullable=False, default=func.now()),
        Index(f"{table_name}_idx", "client_id", "enterprise_id", "team_id", "installed_at"),
    )


def oauth_states_table(metadata: MetaData, table_name: str) -> Table:
    return Table(
        table_name,
        metadata,
        Column("id", Integer, primary_key=True, autoincrement=True),
        Column("state", String(200), nullable=False),
        Column("expire_at", DateTime, nullable=False),
    )
