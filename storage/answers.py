"""Answers: one row per (round, participant, question), upserted.

A submission is written with one ``INSERT .. ON CONFLICT DO UPDATE`` statement (executemany), so repeating
it never duplicates or loses an answer, an edit replaces the old value, other questions'
answers are kept, and two concurrent submissions of the same answer cannot collide. Values are
stored as the canonical JSON values ``survey.answers`` produces (validate before saving).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import datetime
from functools import cache

from sqlalchemy import JSON, delete, func, select
from sqlalchemy.orm import Session

from storage._sql import is_postgresql
from storage.errors import NotParticipant
from storage.models import Answer, RoundParticipant, utcnow
from storage.rounds import lock_open_round
from survey.answers import AnswerValue, Response
from survey.template import Template


def save_answers(
    session: Session,
    round_id: int,
    user_id: str,
    answers: Mapping[str, AnswerValue | None],
    *,
    at: datetime | None = None,
) -> None:
    """Upsert ``{question_id: value}`` for one participant of an open round.

    Values must already be canonical (``survey.answers.validate_answers``); anything that is
    not a str, a finite number or a list of str raises TypeError. A value of None clears that
    answer (an optional question emptied in an edit). Raises RoundClosed for a closed round
    and NotParticipant for someone not invited; in all these cases nothing is written.
    """
    for question_id, value in answers.items():
        check_value(question_id, value)
    lock_open_round(session, round_id)
    if session.get(RoundParticipant, (round_id, user_id)) is None:
        raise NotParticipant(round_id, user_id)
    now = at or utcnow()
    rows = [
        {"round_id": round_id, "user_id": user_id, "question_id": qid, "value": value, "updated_at": now}
        for qid, value in answers.items()
        if value is not None
    ]
    cleared = [qid for qid, value in answers.items() if value is None]
    if rows:
        # Rows as executemany parameters of one statement built once per dialect: a VALUES
        # list would be a new statement per row count, and building the upsert (its
        # ``excluded`` alias) anew cost as much as running it.
        session.connection().execute(upsert_statement(session.get_bind().dialect.name), rows)
    if cleared:
        session.execute(
            delete(Answer).where(
                Answer.round_id == round_id,
                Answer.user_id == user_id,
                Answer.question_id.in_(cleared),
            )
        )


@cache
def upsert_statement(dialect: str):
    """``INSERT .. ON CONFLICT DO UPDATE`` of answer rows (executemany parameters); an identical
    resubmission leaves the row, and its ``updated_at``, alone."""
    table = Answer.__table__
    if dialect == "postgresql":  # imported here: SQLite never loads the PostgreSQL dialect
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    stmt = insert(table)
    return stmt.on_conflict_do_update(
        index_elements=["round_id", "user_id", "question_id"],
        set_={"value": stmt.excluded.value, "updated_at": stmt.excluded.updated_at},
        where=table.c.value.is_distinct_from(stmt.excluded.value),
    )


def check_value(question_id: str, value: object) -> None:
    """Only canonical answer values (see survey.answers) may be stored."""
    ok = value is None or (
        isinstance(value, str | int | float) and not isinstance(value, bool)
    ) or (isinstance(value, list) and all(isinstance(v, str) for v in value))
    if not ok:
        raise TypeError(
            f"answer to {question_id!r} must be a str, number or list of str "
            f"(validate it with survey.answers first), not {type(value).__name__}"
        )
    if isinstance(value, float) and not math.isfinite(value):
        raise TypeError(f"answer to {question_id!r} must be a finite number")


def answers_of(session: Session, round_id: int, user_id: str) -> dict[str, AnswerValue]:
    """One participant's current answers (to prefill the survey modal for an edit)."""
    stmt = select(Answer.question_id, Answer.value).where(
        Answer.round_id == round_id, Answer.user_id == user_id
    )
    return {qid: value for qid, value in session.execute(stmt)}


def responses_for_round(
    session: Session, round_id: int, template: Template, *, completed_only: bool = False
) -> list[Response]:
    """Every participant's answers to ``template``'s questions, ready for the survey layer.

    One query: answers joined to participants and grouped per participant. ``respondent`` is
    the participant's per-round pseudonym, never a Slack user id; ``team`` is the
    participant's team, or, when the round has none for them, their answer to the template's
    team question. Participants without any answer are left out; ``completed_only`` also
    leaves out those who have not finished. Ordered by pseudonym, so exports are stable.
    """
    question_ids = [q.id for q in template.questions]
    team_question = template.team_question
    # One row per respondent with their answers aggregated into a JSON object by the
    # database: 20x fewer rows to fetch and one JSON decode per respondent, not per answer.
    # (json_object_agg, not jsonb_object_agg: building jsonb per group is slower and the
    # result is decoded in Python either way.)
    if is_postgresql(session):
        answers_json = func.json_object_agg(Answer.question_id, Answer.value, type_=JSON)
    else:
        answers_json = func.json_group_object(Answer.question_id, func.json(Answer.value), type_=JSON)
    stmt = (
        select(RoundParticipant.pseudonym, RoundParticipant.team, answers_json)
        .join(
            RoundParticipant,
            (RoundParticipant.round_id == Answer.round_id)
            & (RoundParticipant.user_id == Answer.user_id),
        )
        .where(Answer.round_id == round_id, Answer.question_id.in_(question_ids))
        .group_by(RoundParticipant.round_id, RoundParticipant.user_id)
    )
    if completed_only:
        stmt = stmt.where(RoundParticipant.completed_at.is_not(None))
    grouped = sorted(session.execute(stmt), key=lambda row: row[0])
    responses = []
    for pseudonym, team, values in grouped:
        if team is None and team_question is not None:
            answered_team = values.get(team_question.id)
            team = answered_team if isinstance(answered_team, str) else None
        # Values were type-checked by save_answers; re-validating two million of them here
        # would cost a third of the time.
        responses.append(Response.model_construct(respondent=pseudonym, team=team, answers=values))
    return responses
