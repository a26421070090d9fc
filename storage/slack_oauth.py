"""slack_sdk's OAuth installation and state stores on the bot's own database.

Their tables are created by the Alembic migrations (never by ``create_tables()``), so a
multi-workspace deployment has one schema to upgrade.
"""

from __future__ import annotations

from slack_sdk.oauth.installation_store.sqlalchemy import SQLAlchemyInstallationStore
from slack_sdk.oauth.state_store.sqlalchemy import SQLAlchemyOAuthStateStore

from storage.db import Database
from storage.models import SLACK_BOTS_TABLE, SLACK_INSTALLATIONS_TABLE, SLACK_OAUTH_STATES_TABLE


def installation_store(db: Database, client_id: str) -> SQLAlchemyInstallationStore:
    return SQLAlchemyInstallationStore(
        client_id=client_id,
        engine=db.engine,
        bots_table_name=SLACK_BOTS_TABLE,
        installations_table_name=SLACK_INSTALLATIONS_TABLE,
    )


def oauth_state_store(db: Database, expiration_seconds: int = 600) -> SQLAlchemyOAuthStateStore:
    return SQLAlchemyOAuthStateStore(
        expiration_seconds=expiration_seconds, engine=db.engine, table_name=SLACK_OAUTH_STATES_TABLE
    )
