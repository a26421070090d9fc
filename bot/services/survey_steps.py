"""A staff member answering a round: opening a step, recording one, keeping a closed one.

``open_step`` is a read: it never writes, not even to close a round past its close date (the
scheduler does that; until then the round reads as closed here). ``record_step`` validates
the step's answers against the round's template, then saves them and, on the last step,
the completion in one write transaction, so that a person is never saved as answered but
not finished. ``save_entered`` keeps what was typed into a step that was closed or left for
another step ("Jump to"): the valid answers are saved, invalid or blank ones are dropped
(nothing stored is ever cleared by closing), in one write transaction. A person who is not a
participant, a closed round, or another workspace's round gets ``Refused`` with a message to
show, and nothing is written.

Questions that ``show_if`` hides, given the saved answers, are skipped: neither asked nor
required, and an answer stored before an earlier answer changed is cleared, so a report
never counts an answer to a question the person would no longer be asked.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from bot.views import messages
from storage import answers, outbox, rounds, steps, templates
from storage.db import Database
from storage.errors import NotParticipant, RoundClosed
from storage.models import RoundParticipant, SurveyRound
from survey.answers import (
    AnswerError,
    AnswersInvalid,
    hidden_questions,
    is_shown,
    missing_required,
    parse_answer,
    validate_answers,
)
from survey.template import Question, Template

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
    invitation: tuple[str, str] | None = None  # (DM channel, ts) of the person's own invitation
    time_zone: str | None = None  # the person's Slack time zone
    started: bool = False  # some answers are in


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


@dataclass(frozen=True)
class Kept:
    """What closing a step (or jumping away from it) kept."""

    saved: list[str]  # question ids saved
    dropped: list[str]  # question ids whose entered value was invalid, so not saved
    started: bool  # the person has answers now
    completed: bool  # the person had already finished the round
    at: Step  # the step that was left, with every saved answer
    invitation: tuple[str, str] | None = None  # (DM channel, ts) of the invitation
    next: Step | None = None  # the step jumped to


def first_open_section(template: Template, stored: dict[str, Any]) -> int:
    missing = set(missing_required(template, stored))
    for index, section in enumerate(template.sections):
        if any(q.id in missing for q in section.questions):
            return index
    return 0


def shown_in(template: Template, section: int, stored: dict[str, Any]) -> list[Question]:
    """The questions of a step that the saved answers do not hide."""
    return [q for q in template.sections[section].questions if is_shown(q, stored)]


def next_section(template: Template, after: int, stored: dict[str, Any]) -> int | None:
    """The next step with a question to show (a step whose questions are all hidden is skipped)."""
    return next((i for i in range(after + 1, len(template.sections)) if shown_in(template, i, stored)), None)


def _stale_hidden(template: Template, stored: dict[str, Any]) -> dict[str, None]:
    """Stored answers to questions that the answers now hide, as clearing writes."""
    return dict.fromkeys(qid for qid in hidden_questions(template, stored) if qid in stored)


def _admit(session: Session, team_id: str | None, user_id: str, round_id: int,
           now: datetime) -> tuple[SurveyRound, RoundParticipant]:
    rnd = rounds.get_round(session, round_id)
    participant = rounds.get_participant(session, round_id, user_id) if rnd is not None else None
    _check_admitted(rnd, participant, team_id, user_id, round_id, now)
    assert rnd is not None and participant is not None
    return rnd, participant


def _check_admitted(rnd: SurveyRound | steps.StepRound | None,
                    participant: RoundParticipant | steps.StepPerson | None,
                    team_id: str | None, user_id: str, round_id: int, now: datetime) -> None:
    """Raise Refused unless the person takes part in this open round of their workspace."""
    if rnd is None:
        raise Refused(NO_ROUND)
    if rnd.team_id != team_id or participant is None:
        log.warning("refused survey access: user %s, round %s, team %s", user_id, round_id, team_id)
        raise Refused(NOT_PARTICIPANT)
    if not rnd.is_open or (rnd.closes_at is not None and rnd.closes_at <= now):
        raise Refused(CLOSED)


def _step(rnd: SurveyRound | steps.StepRound, participant: RoundParticipant | steps.StepPerson, template: Template, section: int,
          stored: dict[str, Any]) -> Step:
    invitation = (participant.dm_channel, participant.invite_ts) \
        if participant.dm_channel and participant.invite_ts else None
    return Step(round_id=rnd.id, title=rnd.title, closes_at=rnd.closes_at, max_reminders=rnd.max_reminders,
                reminders_sent=participant.reminders_sent, template=template, section=section,
                shown={**assigned_team_answer(template, participant.team), **stored}, invitation=invitation,
                time_zone=participant.tz, started=bool(stored))


def open_step(db: Database, team_id: str | None, user_id: str, round_id: int, *,
              mode: Literal["answer", "edit"], now: datetime, section: int | None = None) -> Step:
    """The step to open from a button: ``section`` if given, else the first with a required
    question unanswered, or the first for an edit. Raises Refused."""
    with db.session(read_only=True) as session:
        rnd, participant = _admit(session, team_id, user_id, round_id, now)
        template = templates.get_template(session, rnd.template_id)
        stored = answers.answers_of(session, round_id, user_id)
    if section is not None and not 0 <= section < len(template.sections):
        raise Refused(OUT_OF_DATE)
    if section is None:
        section = 0 if mode == "edit" else first_open_section(template, stored)
    return _step(rnd, participant, template, section, stored)


def record_step(db: Database, team_id: str | None, user_id: str, round_id: int, section: int,
                raw: dict[str, Any], *, now: datetime) -> StepResult:
    """Validate and save one submitted step, in one write transaction. Raises Refused.

    One unit of work, not a read and then a write: on SQLite the writer holds the database
    alone, so what was read is what the answers are saved against, the answers after the
    save are known without reading them again, and the round and the person are read once.
    Validation is pure Python and short, so holding the write lock for it costs less than a
    second transaction (and the read of the round, the person and the answers twice)."""
    first: str | None = None  # the step's first shown question, once known
    try:
        with db.connection(lock_timeout=STEP_LOCK_WAIT) as connection:
            rnd, participant, known = steps.read_step(connection, round_id, user_id)
            _check_admitted(rnd, participant, team_id, user_id, round_id, now)
            assert rnd is not None and participant is not None
            template = templates.template_on(connection, rnd.template_id)
            if not 0 <= section < len(template.sections):
                raise Refused(OUT_OF_DATE)
            questions = shown_in(template, section, known)
            first = questions[0].id if questions else template.sections[section].questions[0].id
            try:
                values = validate_answers(template, raw, questions=questions, known=known)
            except AnswersInvalid as exc:
                shown = {q.id for q in questions}
                return StepResult("errors", errors={qid: msg for qid, msg in exc.errors.items() if qid in shown},
                                  first_question=first)
            cleared = dict.fromkeys(q.id for q in questions if q.id not in values)
            after = {k: v for k, v in {**known, **values}.items() if k not in cleared}
            stale = _stale_hidden(template, after)
            steps.write_answers(connection, round_id, user_id, {**cleared, **stale, **values}, at=now)
            stored = {k: v for k, v in after.items() if k not in stale}  # what is in the database now
            ahead = next_section(template, section, stored)
            finished = ahead is None and not missing_required(template, stored)
            completed_now = finished and participant.completed_at is None \
                and steps.mark_completed(connection, round_id, user_id, at=now)
    except OperationalError as exc:  # a lock not granted in time: rolled back, so nothing is saved
        log.warning("survey step of round %s not saved in time: %s", round_id, exc.orig)
        raise Busy(first or _first_question_of(db, round_id, section)) from None
    invitation = (participant.dm_channel, participant.invite_ts) \
        if participant.dm_channel and participant.invite_ts else None
    if ahead is not None:
        return StepResult("next", next=_step(rnd, participant, template, ahead, stored))
    if not finished:
        return StepResult("next", next=_step(rnd, participant, template, first_open_section(template, stored), stored))
    return StepResult("done", completed_now=completed_now, invitation=invitation,
                      next=_step(rnd, participant, template, section, stored))


def _first_question_of(db: Database, round_id: int, section: int) -> str:
    """The first question of a step whose save timed out, where the form shows "busy"."""
    with db.session(read_only=True) as session:
        template = templates.get_template(session, rounds.require_round(session, round_id).template_id)
    questions = template.sections[section].questions if 0 <= section < len(template.sections) else ()
    return questions[0].id if questions else template.questions[0].id


def _entered(template: Template, section: int, raw: dict[str, Any],
             known: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """The valid, non-blank answers typed into a step, and the ids of the invalid ones."""
    kept: dict[str, Any] = {}
    dropped: list[str] = []
    for question in shown_in(template, section, known):
        try:
            value = parse_answer(question, raw.get(question.id))
        except AnswerError:
            dropped.append(question.id)
            continue
        if value is not None:
            kept[question.id] = value
    return kept, dropped


def save_entered(db: Database, team_id: str | None, user_id: str, round_id: int, section: int,
                 raw: dict[str, Any], *, now: datetime, jump_to: int | None = None) -> Kept:
    """Keep what was entered in a step that was closed, or left with "Jump to" (``jump_to``:
    the step to show next). Raises Refused; nothing is written then."""
    with db.session(read_only=True) as session:
        rnd, _participant = _admit(session, team_id, user_id, round_id, now)
        template = templates.get_template(session, rnd.template_id)
        known = answers.answers_of(session, round_id, user_id)
    if not 0 <= section < len(template.sections) or (
            jump_to is not None and not 0 <= jump_to < len(template.sections)):
        raise Refused(OUT_OF_DATE)
    values, dropped = _entered(template, section, raw, known)
    writes = {**_stale_hidden(template, {**known, **values}), **values}
    try:
        with db.session(read_only=not writes) as session:  # nothing entered: no write at all
            if writes:
                answers.save_answers(session, round_id, user_id, writes, at=now)
            stored = answers.answers_of(session, round_id, user_id)
            participant = rounds.get_participant(session, round_id, user_id)
            rnd = rounds.require_round(session, round_id)
    except RoundClosed:
        raise Refused(CLOSED_WHILE_ANSWERING) from None
    except NotParticipant:
        raise Refused(NOT_PARTICIPANT) from None
    assert participant is not None
    invitation = (participant.dm_channel, participant.invite_ts) \
        if participant.dm_channel and participant.invite_ts else None
    target = _step(rnd, participant, template, jump_to, stored) if jump_to is not None else None
    return Kept(saved=sorted(values), dropped=dropped, started=bool(stored),
                completed=participant.completed_at is not None,
                at=_step(rnd, participant, template, section, stored), invitation=invitation, next=target)


def remind_me_later(db: Database, team_id: str, user_id: str, step: Step, *, due_at: datetime,
                    now: datetime) -> bool:
    """"Remind me later": one personal reminder in the outbox, due ``due_at`` (the person's next
    working morning); False when one is already planned for this round. The sender skips it
    if the person has finished or the round has closed by then."""
    text, blocks = messages.reminder_blocks(step.round_id, step.title, step.template.minutes, step.closes_at,
                                            started=step.started)
    with db.session() as session:
        return outbox.enqueue(
            session, key=f"{team_id}:remind-later:{user_id}:round-{step.round_id}", team_id=team_id,
            kind="remind-later", method="chat.postMessage", target=user_id, round_id=step.round_id,
            due_at=due_at, at=now, payload={"args": {"channel": user_id, "text": text,
                                                     "blocks": [b.to_dict() for b in blocks]},
                                            "user_id": user_id})
