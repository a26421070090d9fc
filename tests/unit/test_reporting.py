"""The report of a stored round: open rounds in steps, closed rounds counted like status."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.services.reporting import round_report
from storage import answers, rounds, templates, workspaces
from storage.db import Database
from survey.answers import validate_answers
from survey.template import load_builtin

CORE = load_builtin("icp-core")
TEAM = "T0001"
START = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


def _round(db: Database, people: dict[str, dict]) -> int:
    with db.session() as s:
        workspaces.get_or_create_workspace(s, TEAM)
        stored = templates.latest_template(s, TEAM, "icp-core")
        rnd = rounds.create_round(s, TEAM, stored.id, title="Q1", created_by="ULEADER01")
        rounds.add_participants(s, rnd.id, [(user, None) for user in people])
        for user, raw in people.items():
            answers.save_answers(s, rnd.id, user, validate_answers(CORE, raw, require=False))
        return rnd.id


def _finish(db: Database, round_id: int, users: list[str], offset: int = 0) -> None:
    with db.session() as s:
        for i, user in enumerate(users):
            rounds.mark_completed(s, round_id, user, at=START + timedelta(minutes=offset + i))


SIZES = ["51-200", "51-200", "11-50", "1-10", "1001-5000", "5000-plus", "201-1000"]
PEOPLE = {f"U0AAAAAA{i:02d}": {"team": "sales", "company_size": size} for i, size in enumerate(SIZES)}


def test_open_round_report_moves_only_when_three_more_have_finished(db: Database):
    users = list(PEOPLE)
    round_id = _round(db, PEOPLE)
    _finish(db, round_id, users[:3])
    at_three = round_report(db, TEAM, round_id, bootstrap=0).report
    _finish(db, round_id, users[3:4], offset=3)
    at_four = round_report(db, TEAM, round_id, bootstrap=0).report
    assert at_three.questions == at_four.questions  # the 4th person's answer cannot be read off
    assert at_four.respondents == 3 and at_four.snapshot.finished == 4
    assert at_four.snapshot.next_refresh_at == 6 and at_four.teams_withheld and at_four.teams == {}
    _finish(db, round_id, users[4:6], offset=4)
    at_six = round_report(db, TEAM, round_id, bootstrap=0).report
    assert at_six.respondents == 6 and at_six.questions != at_three.questions


def test_closed_round_counts_everyone_who_answered_and_says_how_many_finished(db: Database):
    users = list(PEOPLE)
    round_id = _round(db, PEOPLE)
    _finish(db, round_id, users[:6])
    with db.session() as s:
        rounds.close_round(s, round_id)
    report = round_report(db, TEAM, round_id, bootstrap=0).report
    assert report.respondents == 7 and report.finished == 6
    assert report.respondents_text == "7 respondents, 6 finished"
    assert not report.teams_withheld and report.teams == {"sales": 7}
