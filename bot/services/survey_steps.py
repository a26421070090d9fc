"""A staff member answering a round: opening a step, and recording one.

``open_step`` is a read: it never writes, not even to close a round past its close date (the
scheduler does that; until then the round reads as closed here). ``record_step`` validates
the step's answers against the round's template, then saves them and, on the last step,
the completion in one write transaction, so that a person is never saved as answered but
not finished. A person who is not a participant, a closed round, or another workspace's
round gets ``Refused`` with a message to show, and nothing is written.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from storage import answers, rounds, templates
from storage.db import Database
from storage.errors import NotParticipant, RoundClosed
from storage.models import RoundParticipant, SurveyRound
from survey.answers import (
    AnswerError,
    AnswersInvalid,
    missing_required,
    parse_answer,
    validate_answers,
)
from survey.template import Template

log = logging.getLogger(__name__)

NO_ROUND = "That survey round does not exist any more."
NOT_PARTICIPANT = "You are not part of this survey round."
CLOSED = "This survey round is closed: answers can no longer be changed."
CLOSED_WHILE_ANSWERING = "This round closed while you were answering; your last step was not saved."
OUT_OF_DATE = "This form is out of date. Please start again from the invitation."


STEP_LOCK_WAIT = 2.0  # seconds a step waits for the database before it tells the person
BUSY = "Not saved yet: the survey is busy for a moment. Press the button again; nothing you entered is lost."


class Refused(Exception):
    """The person may not answer this round; the message says why, politely."""


class Busy(Exception):
    """The step could not be saved in time (the database was locked); nothing was written.
    ``question_id``: the step's first question, where the form shows the message."""

    def __init__(self, question_id: str):
        super().__init__(BUSY)
        self.question_id = question_id


@dataclass(frozen=True)
class Step:
    """A step to show: the round, its template, which section, what to pre-fill."""

    round_id: int
    title: str
    closes_at: datetime | None
    max_reminders: int
    reminders_sent: int
    template: Template
    section: int
    shown: dict[str, Any]


@dataclass(frozen=True)
class StepResult:
    """What a submitted step led to: field errors, the next step, or the end."""

    outcome: Literal["errors", "next", "done"]
    errors: dict[str, str] = field(default_factory=dict)  # question id -> message
    next: Step | None = None
    completed_now: bool = False  # this step finished the round for the person
    invitation: tuple[str, str] | None = None  # (DM channel, ts) of the invitation
    first_question: str = ""  # of the submitted step, where an error about the whole form goes


def assigned_team_answer(template: Template, team: str | None) -> dict[str, str]:
    """The team question pre-filled with the team the round assigned (a user group whose
    handle names one of its options), so that people need not say what the round knows."""
    question = template.team_question
    if question is None or not team:
        return {}
    try:
        return {question.id: parse_answer(question, team)}
    except AnswerError:
        return {}


def first_open_section(template: Template, stored: dict[str, Any]) -> int:
    missing = set(missing_required(template, stored))
    for index, section in enumerate(template.sections):
        if any(q.id in missing for q in section.questions):
            return index
    return 0


def _admit(session: Session, team_id: str | None, user_id: str, round_id: int,
           now: datetime) -> tuple[SurveyRound, RoundParticipant]:
    rnd = rounds.get_round(session, round_id)
    if rnd is None:
        raise Refused(NO_ROUND)
    participant = rounds.get_participant(session, round_id, user_id)
    if rnd.team_id != team_id or participant is None:
        log.warning("refused survey access: user %s, round %s, team %s", user_id, round_id, team_id)
        raise Refused(NOT_PARTICIPANT)
    if not rnd.is_open or (rnd.closes_at is not None and rnd.closes_at <= now):
        raise Refused(CLOSED)
    return rnd, participant


def _step(rnd: SurveyRound, participant: RoundParticipant, template: Template, section: int,
          stored: dict[str, Any]) -> Step:
    return Step(round_id=rnd.id, title=rnd.title, closes_at=rnd.closes_at, max_reminders=rnd.max_reminders,
                reminders_sent=participant.reminders_sent, template=template, section=section,
                shown={**assigned_team_answer(template, participant.team), **stored})


def open_step(db: Database, team_id: str | None, user_id: str, round_id: int, *,
              mode: Literal["answer", "edit"], now: datetime) -> Step:
    """The step to open from a button: the first with a required question unanswered, or
    the first for an edit. Raises Refused."""
    with db.session(read_only=True) as session:
        rnd, participant = _admit(session, team_id, user_id, round_id, now)
        template = templates.get_template(session, rnd.template_id)
        stored = answers.answers_of(session, round_id, user_id)
    section = 0 if mode == "edit" else first_open_section(template, stored)
    return _step(rnd, participant, template, section, stored)


def record_step(db: Database, team_id: str | None, user_id: str, round_id: int, section: int,
                raw: dict[str, Any], *, now: datetime) -> StepResult:
    """Validate and save one submitted step. Raises Refused."""
    with db.session(read_only=True) as session:
        rnd, _participant = _admit(session, team_id, user_id, round_id, now)
        template = templates.get_template(session, rnd.template_id)
    if not 0 <= section < len(template.sections):
        raise Refused(OUT_OF_DATE)
    questions = template.sections[section].questions
    try:
        values = validate_answers(template, raw, questions=questions)
    except AnswersInvalid as exc:
        shown = {q.id for q in questions}
        return StepResult("errors", errors={qid: msg for qid, msg in exc.errors.items() if qid in shown},
                          first_question=questions[0].id)
    cleared = dict.fromkeys(q.id for q in questions if q.id not in values)
    try:
        with db.session(lock_timeout=STEP_LOCK_WAIT) as session:
            answers.save_answers(session, round_id, user_id, {**cleared, **values}, at=now)
            stored = answers.answers_of(session, round_id, user_id)
            finished = section + 1 >= len(template.sections) and not missing_required(template, stored)
            completed_now = finished and rounds.mark_completed(session, round_id, user_id, at=now)
            participant = rounds.get_participant(session, round_id, user_id)
            rnd = rounds.require_round(session, round_id)
    except RoundClosed:
        raise Refused(CLOSED_WHILE_ANSWERING) from None
    except NotParticipant:
        raise Refused(NOT_PARTICIPANT) from None
    except OperationalError as exc:  # a lock not granted in time: rolled back, so nothing is saved
        log.warning("survey step of round %s not saved in time: %s", round_id, exc.orig)
        raise Busy(questions[0].id) from None
    assert participant is not None
    invitation = (participant.dm_channel, participant.invite_ts) \
        if participant.dm_channel and participant.invite_ts else None
    if section + 1 < len(template.sections):
        return StepResult("next", next=_step(rnd, participant, template, section + 1, stored))
    if not finished:
        return StepResult("next", next=_step(rnd, participant, template, first_open_section(template, stored), stored))
    return StepResult("done", completed_now=completed_now, invitation=invitation,
                      next=_step(rnd, participant, template, section, stored))

