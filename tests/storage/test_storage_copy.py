"""`copy_database`: every row of a populated SQLite database arrives in the target, SQLite or
PostgreSQL (when ICP_TEST_DATABASE_URL is set), and the target then works as the bot's own."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from storage import rounds, workspaces
from storage.copy import CopyError, copy_database
from storage.db import Database
from storage.models import Base
from storage.slack_oauth import installation_store, oauth_state_store
from tests.storage.sample_data import KEY, TEAM, populate


def _contents(db: Database) -> dict[str, list[dict]]:
    """Every table's rows, as the bot reads them (types processed), in a stable order."""
    with db.engine.connect() as conn:
        return {t.name: sorted((dict(r) for r in conn.execute(select(t)).mappings()), key=repr)
                for t in Base.metadata.sorted_tables}


@pytest.fixture
def source(tmp_path) -> Database:
    db = Database(f"sqlite:///{tmp_path / 'source.db'}")
    db.upgrade()
    populate(db)
    yield db
    db.dispose()


def _check_copy(source: Database, target: Database) -> None:
    expected = _contents(source)
    assert all(expected[name] for name in ("workspaces", "survey_rounds", "answers", "icp_versions",
                                           "slack_installations", "slack_bots", "slack_oauth_states"))
    result = copy_database(source, target)
    assert result.rows == {name: len(rows) for name, rows in expected.items()}
    assert _contents(target) == expected
    assert target.is_up_to_date()
    # the copy is a working database: ids continue after the copied ones, tokens still open
    with target.session() as s:
        new_round = rounds.create_round(s, TEAM, 1, title="after the move")
        assert new_round.id > max(r["id"] for r in expected["survey_rounds"])
        workspaces.add_leader(s, TEAM, "U0NEW")
    installation = installation_store(target, "111.222", encryption_key=KEY).find_installation(
        enterprise_id=None, team_id=TEAM)
    assert installation.bot_token == "xoxb-1-2-abc"
    oauth_state_store(target).issue()
    # and a second copy into it is refused, leaving it as it was
    before = _contents(target)
    with pytest.raises(CopyError, match="not empty"):
        copy_database(source, target)
    assert _contents(target) == before


def test_sqlite_to_sqlite_copies_every_row(source, tmp_path):
    _check_copy(source, Database(f"sqlite:///{tmp_path / 'target.db'}"))


def test_sqlite_to_postgresql_copies_every_row(source, postgres_url):
    target = Database(postgres_url)
    try:
        _check_copy(source, target)
    finally:
        target.dispose()


def test_a_source_behind_the_code_is_refused(tmp_path):
    never = Database(f"sqlite:///{tmp_path / 'never.db'}")
    with pytest.raises(CopyError, match="never migrated"):
        copy_database(never, Database(f"sqlite:///{tmp_path / 't.db'}"))
    with pytest.raises(CopyError, match="same database"):
        copy_database(never, Database(f"sqlite:///{tmp_path / 'never.db'}"))
