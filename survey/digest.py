"""The weekly alignment digest's content: figures from reports already built, nothing new.

``build_digest(rounds, participation, ...)`` reads the workspace's rounds (their
``AlignmentReport``, oldest first, the last one is the round the digest is about), the current
round's participation and, when there is one, the ratified ICP with its template, and returns
a ``Digest``:

- the score and its change since the latest earlier round that has a score (that round's
  title is carried, so "+4 since Q2" never hides that Q3 was skipped for too few answers);
- the response rate: finished / invited (None when nobody was invited);
- the traits the team agrees on most (up to 3 at or above ``AGREEMENT_THRESHOLD``, highest
  first) and splits on most (up to 3 below it, lowest first), the latter spelled out by team
  with the report's own flagged ``TeamSplit`` texts: those exist only for teams of at least
  ``min_group_size`` people, so the digest shows no team figure the report does not;
- drift from the ratified ICP (see ``drift_from_profile``);
- the score over rounds (None where a round was hidden) and per-trait agreement for the chart.

When the current report is hidden (fewer respondents than ``min_group_size``) the digest is
``hidden`` and carries only counts: the blocks then say "too few answers" in one line.

Pass full rounds only: a StrategyCheck pulse asks one question, and its "score" would be one
trait's agreement, not comparable with a round's.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from pydantic import BaseModel, Field

from survey.agreement import AGREEMENT_THRESHOLD
from survey.answers import AnswersInvalid, Response
from survey.profile import IcpProfile, score_fit
from survey.report import AlignmentReport, QuestionResult
from survey.report_format import share_text
from survey.template import Template

TOP_K = 3
SPLITS_PER_TRAIT = 2

__all__ = [
    "Digest",
    "DigestRound",
    "Drift",
    "Participation",
    "ScorePoint",
    "SplitTrait",
    "TOP_K",
    "TraitAgreement",
    "TraitDrift",
    "build_digest",
    "drift_from_profile",
    "trait_name",
]


class DigestRound(BaseModel):
    """One round as the digest sees it: its title, its date (closing or start) and report."""

    title: str
    date: date
    report: AlignmentReport


class Participation(BaseModel):
    """The current round's participation: people invited and people who finished."""

    invited: int = Field(ge=0)
    finished: int = Field(ge=0)


class TraitAgreement(BaseModel):
    question_id: str
    name: str
    agreement: float
    agreed: bool
    consensus_label: str | None = None
    consensus_share: float | None = None
    share_text: str | None = None
    """What the share counts, as the report says it: "67% within half a point"."""


class SplitTrait(TraitAgreement):
    teams: list[str] = Field(default_factory=list)
    """The teams' answers on this trait as the report compares them (only teams the anonymity
    rules show), e.g. "Sales: SMB (75%) · Support: Enterprise (60%)"."""


class TraitDrift(BaseModel):
    question_id: str
    name: str
    expected: str
    """The ratified answer, as a person reads it."""
    answered: int
    matched: int
    share: float
    """matched / answered."""


class Drift(BaseModel):
    profile_version: int | None = None
    traits: list[TraitDrift] = Field(default_factory=list)
    answered: int = 0
    matched: int = 0
    share: float | None = None
    """Overall share of answers that match the ICP: sum(matched) / sum(answered)."""

    @property
    def drift(self) -> float | None:
        return None if self.share is None else 1.0 - self.share


class ScorePoint(BaseModel):
    title: str
    date: date
    score: float | None = None


class Digest(BaseModel):
    title: str
    date: date
    hidden: bool
    respondents: int
    min_group_size: int
    invited: int
    finished: int
    response_rate: float | None = None
    score: float | None = None
    score_interval: tuple[float, float] | None = None
    previous_score: float | None = None
    previous_title: str | None = None
    score_change: float | None = None
    agreed: list[TraitAgreement] = Field(default_factory=list)
    split: list[SplitTrait] = Field(default_factory=list)
    traits: list[TraitAgreement] = Field(default_factory=list)
    """Every visible scored trait, in template order: the chart's bars."""
    drift: Drift | None = None
    trend: list[ScorePoint] = Field(default_factory=list)
    agreement_threshold: float = AGREEMENT_THRESHOLD


def trait_name(question: object, template: Template | None = None) -> str:
    """A trait's short name where one exists (on the result or the template's question), else
    its prompt: works before and after questions gain a ``short`` field."""
    short = getattr(question, "short", None)
    qid = getattr(question, "id", None) or getattr(question, "question_id", None)
    if not short and template is not None and qid and template.has_question(qid):
        short = getattr(template.question(qid), "short", None)
    return short or getattr(question, "prompt", None) or str(qid)


def _trait(q: QuestionResult, template: Template | None) -> TraitAgreement:
    return TraitAgreement(
        question_id=q.id,
        name=trait_name(q, template),
        agreement=float(q.agreement),  # type: ignore[arg-type]
        agreed=bool(q.agreed),
        consensus_label=q.consensus_label,
        consensus_share=q.consensus_share,
        share_text=share_text(q) if q.consensus_share is not None else None,
    )


def _dedupe(responses: Sequence[Response]) -> list[Response]:
    """One response per respondent, the last one winning (as ``build_report`` does)."""
    latest: dict[str, Response] = {}
    for r in responses:
        latest[r.respondent] = r
    return [latest[k] for k in sorted(latest)]


def drift_from_profile(
    report: AlignmentReport,
    responses: Sequence[Response],
    profile: IcpProfile,
    template: Template,
) -> Drift | None:
    """How far this round's answers have moved from the ratified ICP.

    Per trait t of the profile whose question the report shows (not hidden under anonymity):
    answered_t = respondents with a valid answer, matched_t = those whose answer fits the
    profile's value by ``score_fit``'s own rule (same option; a shared option for multi;
    within one point for scales; inside the widened range for numbers), share_t =
    matched_t / answered_t. Overall: share = sum_t matched_t / sum_t answered_t (every
    answer counts once, whatever the trait's weight); drift = 1 - share. An answer the
    template would not accept counts as unanswered, as in the report. Disqualifiers are
    not traits and do not count. None when the report is hidden, the profile belongs to
    another template, or no trait is shown.
    """
    if report.hidden or profile.template_id != template.id or report.template_id != template.id:
        return None
    shown = {q.id: q for q in report.questions if not q.hidden}
    people = _dedupe(responses)
    traits: list[TraitDrift] = []
    for trait in profile.traits:
        result = shown.get(trait.question_id)
        if result is None or not template.has_question(trait.question_id):
            continue
        one_trait = profile.model_copy(update={"traits": [trait], "disqualifiers": []})
        answered = matched = 0
        expected: str | None = None
        for person in people:
            raw = person.answers.get(trait.question_id)
            if raw is None:
                continue
            try:
                fit = score_fit(one_trait, template, {trait.question_id: raw})
            except AnswersInvalid:
                continue
            checks = [*fit.matches, *fit.misses]
            if not checks:
                continue
            answered += 1
            matched += bool(fit.matches)
            expected = checks[0].expected  # the ICP's answer as the fit check states it
        if not answered:
            continue
        traits.append(
            TraitDrift(
                question_id=trait.question_id,
                name=trait_name(result, template),
                expected=expected or "",
                answered=answered,
                matched=matched,
                share=matched / answered,
            )
        )
    if not traits:
        return None
    answered = sum(t.answered for t in traits)
    matched = sum(t.matched for t in traits)
    return Drift(
        profile_version=profile.version,
        traits=traits,
        answered=answered,
        matched=matched,
        share=matched / answered,
    )


def build_digest(
    rounds: Sequence[DigestRound],
    participation: Participation,
    *,
    responses: Sequence[Response] = (),
    profile: IcpProfile | None = None,
    template: Template | None = None,
    k: int = TOP_K,
) -> Digest:
    """The digest of ``rounds[-1]`` (rounds oldest first, the current one last).

    ``responses`` are the current round's (they feed the drift only); ``profile`` and
    ``template`` are the ratified ICP and the current round's template (no drift without
    them). Raises ValueError with no rounds.
    """
    if not rounds:
        raise ValueError("a digest needs at least one round")
    current = rounds[-1]
    report = current.report
    rate = participation.finished / participation.invited if participation.invited else None
    digest = Digest(
        title=current.title,
        date=current.date,
        hidden=report.hidden or report.score is None,
        respondents=report.respondents,
        min_group_size=report.min_group_size,
        invited=participation.invited,
        finished=participation.finished,
        response_rate=rate,
        trend=[
            ScorePoint(
                title=r.title,
                date=r.date,
                score=None if r.report.hidden else r.report.score,
            )
            for r in rounds
        ],
        agreement_threshold=report.agreement_threshold,
    )
    if digest.hidden:
        return digest

    digest.score = report.score
    digest.score_interval = report.score_interval
    previous = next(
        (r for r in reversed(rounds[:-1]) if not r.report.hidden and r.report.score is not None),
        None,
    )
    if previous is not None:
        digest.previous_score = previous.report.score
        digest.previous_title = previous.title
        digest.score_change = report.score - previous.report.score  # type: ignore[operator]

    ranked = [q for q in report.questions if q.agreement is not None and not q.hidden]
    digest.traits = [_trait(q, template) for q in ranked]
    by_high = sorted(ranked, key=lambda q: -float(q.agreement))  # type: ignore[arg-type]
    by_low = sorted(ranked, key=lambda q: float(q.agreement))  # type: ignore[arg-type]
    digest.agreed = [_trait(q, template) for q in by_high if q.agreed][:k]
    digest.split = [
        SplitTrait(
            **_trait(q, template).model_dump(),
            teams=[s.text for s in report.team_comparisons if s.question_id == q.id and s.text][:SPLITS_PER_TRAIT],
        )
        for q in by_low
        if not q.agreed
    ][:k]
    if profile is not None and template is not None:
        digest.drift = drift_from_profile(report, responses, profile, template)
    return digest
