"""`forget_user`: the person's user id leaves every row of the workspace; closed rounds keep
their anonymous answers (same report), open rounds lose what the person gave."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from storage import answers, rounds, workspaces
from storage.db import Database
from storage.models import Base
from storage.privacy import forget_user
from storage.slack_oauth import installation_store
from survey.report import build_report
from survey.report_format import FORMATS
from tests.storage.sample_data import KEY, OTHER_TEAM, PEOPLE, TEAM, populate

GONE = PEOPLE[0]


def _report(db: Database, round_id: int, template) -> str:
    with db.session(read_only=True) as s:
        responses = answers.responses_for_round(s, round_id, template, completed_only=True)
    return FORMATS["json"](build_report(template, responses, bootstrap=200, seed=1), template)


def _rows_holding(db: Database, text: str) -> list[tuple[str, dict]]:
    hits = []
    with db.engine.connect() as conn:
        for table in Base.metadata.sorted_tables:
            for row in conn.execute(select(table)).mappings():
                if text in json.dumps(dict(row), default=str):
                    hits.append((table.name, dict(row)))
    return hits


def test_forget_erases_the_person_and_keeps_closed_rounds_as_they_were(db):
    sample = populate(db)
    report_before = _report(db, sample.closed_round, sample.template)
    with db.session(read_only=True) as s:
        pseudonyms = {p.pseudonym for p in rounds.list_participants(s, sample.closed_round)}
        completed_before = rounds.participation(s, sample.closed_round)
    assert len(_rows_holding(db, GONE)) > 10  # participants, answers, leaders, log, ICP, install...

    with db.session() as s:
        done = forget_user(s, TEAM, GONE)
    assert (done.closed_rounds, done.open_rounds, done.leader) == (1, 1, True)
    assert done.answers_kept == len(sample.template.questions) and done.answers_deleted == 1

    # the only rows left with the id are the other workspace's, which was not asked
    left = {(name, row.get("round_id") or row.get("team_id")) for name, row in _rows_holding(db, GONE)}
    assert left == {("round_participants", sample.other_round), ("answers", sample.other_round),
                    ("workspace_leaders", OTHER_TEAM)}
    # the closed round: same report, same pseudonyms, same completion
    assert _report(db, sample.closed_round, sample.template) == report_before
    with db.session(read_only=True) as s:
        assert {p.pseudonym for p in rounds.list_participants(s, sample.closed_round)} == pseudonyms
        assert rounds.participation(s, sample.closed_round) == completed_before
        # the open round: not asked any more, nothing of theirs counted
        assert GONE not in {p.user_id for p in rounds.list_participants(s, sample.open_round)}
        assert len(rounds.list_participants(s, sample.open_round)) == 3
        assert answers.answers_of(s, sample.open_round, PEOPLE[1])  # the others' answers stay
        assert not workspaces.is_leader(s, TEAM, GONE)
        assert workspaces.is_leader(s, OTHER_TEAM, GONE)
    # the workspace's installation still works; the installer's own token is gone
    found = installation_store(db, "111.222", encryption_key=KEY).find_installation(enterprise_id=None, team_id=TEAM)
    assert found.bot_token == "xoxb-1-2-abc" and found.user_token is None

    with db.session() as s:  # again: nothing left to do
        assert not forget_user(s, TEAM, GONE).anything


def test_forget_refuses_a_placeholder_or_empty_id(db):
    with db.session() as s, pytest.raises(ValueError):
        forget_user(s, TEAM, "forgotten:ABC234")
    with db.session() as s, pytest.raises(ValueError):
        forget_user(s, TEAM, "")
