"""Scoring a prospect against the ratified ICP (``/icp-check fit``). Nothing about the
prospect is stored."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from bot.services.profiles import load_icp
from bot.views import profile_modals
from storage.db import Database
from survey.answers import AnswersInvalid
from survey.template import Question, Template

if TYPE_CHECKING:  # survey's numeric modules load numpy and scipy: not at start-up
    from survey.profile import FitResult, IcpProfile

NO_ICP = ("No ICP has been ratified yet, so there is nothing to score a prospect against. "
          "A leader must ratify one first: run `/icp-check ratify` after a survey round.")
STALE = "That version of our ICP is not available. Please run `/icp-check fit` again."


class Unavailable(Exception):
    """No form to score with; the message says why."""


@dataclass(frozen=True)
class FitForm:
    profile: IcpProfile
    template: Template
    template_row_id: int
    version: int


def fit_form(db: Database, team_id: str, version: int | None = None) -> FitForm:
    """The current ICP (or ``version``) to describe a prospect against. Raises Unavailable."""
    with db.session(read_only=True) as session:
        loaded = load_icp(session, team_id, version)
    if loaded is None:
        raise Unavailable(NO_ICP)
    profile, stored = loaded
    if not profile_modals.fit_questions(profile, stored.template):
        raise Unavailable(f"Our ICP (version {profile.version}) has no traits to score a prospect against. "
                          "Ratify a new version with `/icp-check ratify`.")
    return FitForm(profile=profile, template=stored.template, template_row_id=stored.id,
                   version=profile.version or 0)


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip()) or value == []


@dataclass(frozen=True)
class Scored:
    """``errors`` (question id -> message) when the description does not validate."""

    errors: dict[str, str] | None = None
    result: FitResult | None = None


def score_prospect(db: Database, team_id: str, version: int, template_row_id: int,
                   raw: dict[str, Any]) -> Scored:
    """Score the prospect described in the fit form. Raises Unavailable for a stale form."""
    try:
        form = fit_form(db, team_id, version)
    except Unavailable:
        raise Unavailable(STALE) from None
    if form.template_row_id != template_row_id:
        raise Unavailable(STALE)
    questions: list[Question] = profile_modals.fit_questions(form.profile, form.template)
    prospect = {q.id: raw[q.id] for q in questions if q.id in raw}
    if all(_blank(v) for v in prospect.values()):
        return Scored(errors={questions[0].id: "Describe at least one trait of the prospect."})
    try:
        from survey.profile import score_fit
        return Scored(result=score_fit(form.profile, form.template, prospect))
    except AnswersInvalid as exc:
        errors = {qid: str(msg) for qid, msg in exc.errors.items() if qid in prospect}
        return Scored(errors=errors or {questions[0].id: "This form is out of date; please run the command again."})
