"""Ratifying the ICP: the form pre-filled with a round's consensus, and saving it as the
next ICP version.

Saving is exactly-once per form: the save is claimed in the send log under
``ratify:<view id>`` in the same unit of work as the new version, so a replayed submission of
the same form never creates a second version.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from bot.services.reporting import round_report
from bot.views import profile_modals
from bot.views.forms import RatifyMetadata
from storage import icp, rounds, send_log, templates
from storage.db import Database
from survey.answers import AnswersInvalid
from survey.template import QuestionKind, Template

if TYPE_CHECKING:  # survey's numeric modules load numpy and scipy: not at start-up
    from survey.profile import IcpProfile

log = logging.getLogger(__name__)


class Unavailable(Exception):
    """No form, or nothing saved; the message says why."""


@dataclass(frozen=True)
class RatifyForm:
    template: Template
    profile: IcpProfile
    round_id: int
    template_row_id: int
    round_title: str
    respondents: int
    round_open: bool
    next_version: int
    agreement: dict[str, tuple[float, bool]]  # question id -> (index, agreed)
    customer_hints: dict[str, str]  # question id -> what the top customers look like


def _customer_hints(db: Database, team_id: str, template: Template) -> dict[str, str]:
    """For each trait, the top 20% of customers by revenue, where a customer list is imported."""
    from storage import customer_lists
    from survey.reality import (
        RealityComparison,
        clean_customers,
        compare_traits,
        revenue_concentration,
        top_customers,
    )
    from survey.reality_format import trait_hint

    with db.session(read_only=True) as session:
        imported = customer_lists.list_customers(session, team_id)
    if not imported:
        return {}
    cleaned = clean_customers(imported, template)
    top = top_customers(cleaned)
    comparison = RealityComparison(customers=len(cleaned), top_customers=len(top),
                                   revenue_concentration=revenue_concentration(cleaned, top),
                                   traits=compare_traits(top, template))
    hints = {q.id: trait_hint(comparison, q.id) for q in template.questions}
    return {qid: hint for qid, hint in hints.items() if hint}


def ratify_form(db: Database, team_id: str, round_id: int | None) -> RatifyForm:
    """The consensus of ``round_id`` (default: the latest round) to edit. Raises Unavailable."""
    from survey.profile import IcpProfile

    result = round_report(db, team_id, round_id, bootstrap=0)
    if result is None:
        raise Unavailable("There is no such survey round yet. Start one with `/icp-check start`.")
    report, rnd = result.report, result.round
    if report.hidden:
        raise Unavailable(
            f"Round {rnd.id} has answers from {report.respondents} people, and figures are only shown "
            f"for {report.min_group_size} or more, so there is no consensus to ratify yet. "
            "Remind people with `/icp-check remind`, or ratify an earlier round with `/icp-check ratify <round>`.")
    with db.session(read_only=True) as session:
        current = icp.current_icp(session, team_id)
    agreement = {q.id: (q.agreement, bool(q.agreed)) for q in report.questions
                 if q.agreement is not None and not q.hidden}
    return RatifyForm(template=result.template, profile=report.profile or IcpProfile(template_id=result.template.id),
                      round_id=rnd.id, template_row_id=rnd.template_id, round_title=rnd.title,
                      respondents=report.respondents, round_open=rnd.is_open,
                      next_version=(current.version + 1) if current else 1, agreement=agreement,
                      customer_hints=_customer_hints(db, team_id, result.template))


@dataclass(frozen=True)
class Ratified:
    """``errors`` (question id -> message) when the edits do not validate; else the version
    saved, or None when this form was already saved."""

    errors: dict[str, str] | None = None
    version: int | None = None
    profile: IcpProfile | None = None
    template: Template | None = None
    round_id: int | None = None


def ratify(db: Database, team_id: str, user_id: str, view_id: str, meta: RatifyMetadata,
           raw: dict[str, Any], *, now: datetime) -> Ratified:
    """Save the leader's edits of the ratify form. Raises Unavailable."""
    from survey.profile import edit_profile

    with db.session(read_only=True) as session:
        rnd = rounds.get_round(session, meta.round)
        stored = None
        if rnd is not None and rnd.team_id == team_id and rnd.template_id == meta.template:
            stored = templates.get_stored_template(session, rnd.template_id)
    if stored is None or rnd is None:
        raise Unavailable("That survey round is not available any more. Nothing was saved.")
    template = stored.template
    shown = profile_modals.ratify_questions(template)
    # Slack sends every input block; one missing from the payload counts as left blank, and so
    # does the explicit "Not part of our ICP" choice.
    edits = {q.id: None if raw.get(q.id) == profile_modals.NOT_IN_ICP else raw.get(q.id) for q in shown}
    base = _ratify_base(db, team_id, meta, template, {q.id for q in shown})
    try:
        profile = edit_profile(base, template, edits)
    except AnswersInvalid as exc:
        errors = {qid: str(msg) for qid, msg in exc.errors.items() if qid in edits}
        return Ratified(errors=errors or {shown[0].id: "This form is out of date; please run the command again."})
    if not profile.traits and not profile.disqualifiers:
        return Ratified(errors={shown[0].id: "Keep at least one trait: an empty ICP cannot score anyone."})
    profile = profile.model_copy(update={"source_round_id": rnd.id, "ratified_by": user_id})
    key = f"ratify:{view_id}"
    with db.session() as session:
        if not send_log.claim(session, key, kind="ratify", team_id=team_id, target=user_id):
            return Ratified(template=template, round_id=rnd.id)
        version = icp.ratify(session, team_id, profile.model_dump(mode="json", exclude={"version", "ratified_at"}),
                             source_round_id=rnd.id, ratified_by=user_id, at=now)
        send_log.mark_sent(session, key, channel=None, ts=None)
    log.info("ICP version %s ratified for %s from round %s", version, team_id, rnd.id)
    return Ratified(version=version, template=template, round_id=rnd.id,
                    profile=profile.model_copy(update={"version": version, "ratified_at": now}))


def _ratify_base(db: Database, team_id: str, meta: RatifyMetadata, template: Template,
                 shown: set[str]) -> IcpProfile:
    """What the leader's edits apply to: the number traits as shown (their ranges travel in
    the form's metadata) and, for a template too big for one form, the consensus of the
    traits that were not shown."""
    from survey.profile import IcpProfile, ProfileTrait

    traits: list[ProfileTrait] = []
    for qid, (value, low, high) in meta.ranges.items():
        if qid not in shown or not template.has_question(qid):
            continue
        question = template.question(qid)
        if question.kind != QuestionKind.NUMBER:
            continue
        traits.append(ProfileTrait(question_id=qid, kind=question.kind, prompt=question.prompt, value=value,
                                   low=low, high=high, weight=question.weight))
    base = IcpProfile(template_id=template.id, traits=traits)
    if len(profile_modals.trait_questions(template)) > len(shown):
        result = round_report(db, team_id, meta.round, bootstrap=0)
        if result is not None and result.report.profile is not None:
            consensus = result.report.profile
            extra = [t for t in consensus.traits if t.question_id not in shown]
            base = base.model_copy(update={"traits": traits + extra})
            if consensus.disqualifier_question and consensus.disqualifier_question not in shown:
                base = base.model_copy(update={"disqualifier_question": consensus.disqualifier_question,
                                               "disqualifiers": consensus.disqualifiers})
    return base
