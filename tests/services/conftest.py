"""Service tests: a workspace with an open round of the built-in template, on the ``db``
fixture (SQLite, and PostgreSQL when ICP_TEST_DATABASE_URL is set)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from storage import rounds, templates
from storage.db import Database

TEAM = "T0001"
NOW = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)


class Clock:
    """A clock a test moves by hand (``clock.now += ...``), starting at ``NOW``."""

    def __init__(self):
        self.now = NOW

    def __call__(self):
        return self.now
PEOPLE = ["U1", "U2", "U3", "U4"]


@pytest.fixture
def round_id(db: Database) -> int:
    """Round of icp-core closing in a week; U1-U4 invited (U1 in sales), DM'd as D<user>."""
    with db.session() as s:
        stored = templates.latest_template(s, TEAM, "icp-core")
        rnd = rounds.create_round(s, TEAM, stored.id, title="Q1 ICP check", created_by="ULEAD",
                                  closes_at=NOW + timedelta(days=7), opened_at=NOW - timedelta(days=1))
        rounds.add_participants(s, rnd.id, [("U1", "sales")] + [(u, None) for u in PEOPLE[1:]])
        for user in PEOPLE:
            rounds.mark_invited(s, rnd.id, user, dm_channel=f"D{user}", ts="1700000000.000100")
        return rnd.id
