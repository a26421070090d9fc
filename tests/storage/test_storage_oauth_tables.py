"""storage.oauth_tables declares slack_sdk's OAuth tables by hand (so the server path does not
import slack_sdk's SQLAlchemy stores); these tests fail when a slack_sdk upgrade changes them."""

from __future__ import annotations

import pytest
from slack_sdk.oauth.installation_store.sqlalchemy import SQLAlchemyInstallationStore
from slack_sdk.oauth.state_store.sqlalchemy import SQLAlchemyOAuthStateStore
from sqlalchemy import MetaData, Table

from storage import oauth_tables


def _shape(table: Table) -> dict:
    return {
        "columns": [(c.name, repr(c.type), c.nullable, c.primary_key,
                     None if c.default is None else type(c.default.arg).__name__) for c in table.columns],
        "indexes": sorted((i.name, tuple(c.name for c in i.columns), i.unique) for i in table.indexes),
    }


@pytest.mark.parametrize(("ours", "theirs", "name"), [
    (oauth_tables.installations_table, SQLAlchemyInstallationStore.build_installations_table,
     SQLAlchemyInstallationStore.default_installations_table_name),
    (oauth_tables.bots_table, SQLAlchemyInstallationStore.build_bots_table,
     SQLAlchemyInstallationStore.default_bots_table_name),
    (oauth_tables.oauth_states_table, SQLAlchemyOAuthStateStore.build_oauth_states_table,
     SQLAlchemyOAuthStateStore.default_table_name),
])
def test_oauth_tables_match_slack_sdk(ours, theirs, name):
    assert _shape(ours(MetaData(), name)) == _shape(theirs(MetaData(), name))


def test_table_names_are_slack_sdk_defaults():
    assert (oauth_tables.SLACK_BOTS_TABLE, oauth_tables.SLACK_INSTALLATIONS_TABLE,
            oauth_tables.SLACK_OAUTH_STATES_TABLE) == (
        SQLAlchemyInstallationStore.default_bots_table_name,
        SQLAlchemyInstallationStore.default_installations_table_name,
        SQLAlchemyOAuthStateStore.default_table_name)
