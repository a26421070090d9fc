"""Answers: upsert semantics, closed rounds, concurrency, responses for the survey layer."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select, update

from storage import answers, rounds, templates
from storage.db import Database
from storage.errors import NotParticipant, RoundClosed
from storage.models import Answer, SurveyRound
from survey.answers import Response

T0 = datetime(2025, 11, 3, 9, 0, tzinfo=UTC)


def _rows(db: Database, round_id: int) -> list[tuple[str, str, object]]:
    with db.session() as s:
        stmt = (
            select(Answer.user_id, Answer.question_id, Answer.value)
            .where(Answer.round_id == round_id)
            .order_by(Answer.user_id, Answer.question_id)
        )
        return [tuple(r) for r in s.execute(stmt)]


def test_repeat_does_not_duplicate_edit_replaces_other_questions_kept(db: Database, open_round) -> None:
    rid = open_round.id
    first = {"company_size": "51-200", "value_drivers": ["spend", "tenure"], "deal_size": 25000}
    with db.session() as s:
        answers.save_answers(s, rid, "U1", first, at=T0)
    with db.session() as s:  # the same submission again (a Slack retry)
        answers.save_answers(s, rid, "U1", first, at=T0 + timedelta(minutes=1))
    assert _rows(db, rid) == [
        ("U1", "company_size", "51-200"),
        ("U1", "deal_size", 25000),
        ("U1", "value_drivers", ["spend", "tenure"]),
    ]
    with db.session() as s:  # an identical resubmission leaves updated_at alone
        assert set(s.scalars(select(Answer.updated_at).where(Answer.round_id == rid))) == {T0}
    with db.session() as s:  # an edit of one question
        answers.save_answers(s, rid, "U1", {"company_size": "201-1000"}, at=T0 + timedelta(hours=1))
        answers.save_answers(s, rid, "U2", {"company_size": "11-50"})
    assert _rows(db, rid) == [
        ("U1", "company_size", "201-1000"),
        ("U1", "deal_size", 25000),
        ("U1", "value_drivers", ["spend", "tenure"]),
        ("U2", "company_size", "11-50"),
    ]
    with db.session() as s:
        edited = s.get(Answer, (rid, "U1", "company_size"))
        assert edited.updated_at == T0 + timedelta(hours=1)
        assert answers.answers_of(s, rid, "U1") == {
            "company_size": "201-1000", "deal_size": 25000, "value_drivers": ["spend", "tenure"],
        }
        assert answers.answers_of(s, rid, "U3") == {}


def test_none_clears_an_answer(db: Database, open_round) -> None:
    with db.session() as s:
        answers.save_answers(s, open_round.id, "U1", {"company_size": "11-50", "ideal_customer": "Mid-size SaaS"})
        answers.save_answers(s, open_round.id, "U1", {"ideal_customer": None})
        assert answers.answers_of(s, open_round.id, "U1") == {"company_size": "11-50"}


def test_closed_round_refuses_answers_and_changes_nothing(db: Database, open_round) -> None:
    rid = open_round.id
    with db.session() as s:
        answers.save_answers(s, rid, "U1", {"company_size": "51-200"})
        rounds.close_round(s, rid)
    before = _rows(db, rid)
    with pytest.raises(RoundClosed, match="closed"), db.session() as s:
        answers.save_answers(s, rid, "U1", {"company_size": "11-50", "deal_size": 10})
    with pytest.raises(RoundClosed), db.session() as s:
        answers.save_answers(s, rid, "U2", {"company_size": "11-50"})
    assert _rows(db, rid) == before == [("U1", "company_size", "51-200")]


def test_refusal_does_not_depend_on_a_stale_round_in_the_session(db: Database, open_round) -> None:
    """The status is read from the database, not from an object loaded earlier."""
    with db.session() as s:
        loaded = rounds.get_round(s, open_round.id)
        s.execute(
            update(SurveyRound).where(SurveyRound.id == open_round.id).values(status="closed")
            .execution_options(synchronize_session=False)
        )
        assert loaded.status == "open"  # what the identity map still believes
        with pytest.raises(RoundClosed):
            answers.save_answers(s, open_round.id, "U1", {"company_size": "11-50"})
    assert _rows(db, open_round.id) == []


def test_only_participants_can_answer(db: Database, open_round) -> None:
    with pytest.raises(NotParticipant), db.session() as s:
        answers.save_answers(s, open_round.id, "USTRANGER", {"company_size": "11-50"})
    assert _rows(db, open_round.id) == []


def test_concurrent_submissions_of_the_same_answer(db: Database, open_round, race) -> None:
    values = ["11-50", "51-200", "201-1000", "1001-5000"]

    def submit(i: int) -> None:
        with db.session() as s:
            answers.save_answers(s, open_round.id, "U1", {"company_size": values[i % 4], "deal_size": i})

    race(8, submit)
    rows = _rows(db, open_round.id)
    assert [r[:2] for r in rows] == [("U1", "company_size"), ("U1", "deal_size")]
    by_question = dict((q, v) for _, q, v in rows)
    i = by_question["deal_size"]
    assert by_question["company_size"] == values[i % 4]  # both from the same, last, submission


def test_concurrent_submissions_from_many_people(db: Database, open_round, race) -> None:
    people = [f"UP{i}" for i in range(8)]
    with db.session() as s:
        rounds.add_participants(s, open_round.id, [(u, None) for u in people])

    def submit(i: int) -> None:
        for attempt in range(3):  # each person double-submits
            with db.session() as s:
                answers.save_answers(s, open_round.id, people[i], {"company_size": "11-50", "deal_size": attempt})

    race(len(people), submit)
    with db.session() as s:
        assert s.scalar(select(func.count()).select_from(Answer)) == 2 * len(people)


def test_responses_use_pseudonyms_and_teams(db: Database, open_round) -> None:
    rid = open_round.id
    with db.session() as s:
        template = templates.get_template(s, open_round.template_id)
        answers.save_answers(s, rid, "U1", {"company_size": "51-200", "value_drivers": ["spend"]})
        answers.save_answers(s, rid, "U2", {"company_size": "11-50", "team": "sales"})
        # U3 has no round team: their answer to the team question is used
        answers.save_answers(s, rid, "U3", {"company_size": "11-50", "team": "marketing"})
        rounds.add_participants(s, rid, [("U4", "sales")])  # never answers
        rounds.mark_completed(s, rid, "U1")
        pseudonyms = {p.user_id: p.pseudonym for p in rounds.list_participants(s, rid)}
    with db.session(read_only=True) as s:
        responses = answers.responses_for_round(s, rid, template)
        completed = answers.responses_for_round(s, rid, template, completed_only=True)
    assert all(isinstance(r, Response) for r in responses)
    by_name = {r.respondent: r for r in responses}
    assert set(by_name) == {pseudonyms["U1"], pseudonyms["U2"], pseudonyms["U3"]}
    assert [r.respondent for r in responses] == sorted(by_name)
    assert not {"U1", "U2", "U3", "U4"} & set(by_name)
    assert by_name[pseudonyms["U1"]].team == "sales"
    assert by_name[pseudonyms["U1"]].answers == {"company_size": "51-200", "value_drivers": ["spend"]}
    assert by_name[pseudonyms["U2"]].team == "support"  # the round's team wins over the answer
    assert by_name[pseudonyms["U3"]].team == "marketing"
    assert [r.respondent for r in completed] == [pseudonyms["U1"]]


def test_responses_leave_out_answers_to_questions_not_in_the_template(db: Database, open_round) -> None:
    with db.session() as s:
        template = templates.get_template(s, open_round.template_id)
        answers.save_answers(s, open_round.id, "U1", {"company_size": "11-50", "retired_question": "x"})
        (response,) = answers.responses_for_round(s, open_round.id, template)
    assert response.answers == {"company_size": "11-50"}


@pytest.mark.parametrize("bad", [True, {"a": 1}, ["ok", 3], float("nan")])
def test_only_canonical_values_are_stored(db: Database, open_round, bad) -> None:
    with pytest.raises(TypeError, match="company_size"), db.session() as s:
        answers.save_answers(s, open_round.id, "U1", {"deal_size": 5, "company_size": bad})
    assert _rows(db, open_round.id) == []
