"""The alignment report of a survey round: data in, a report object out.

``build_report(template, responses)`` computes, on the answers given:

- per question: the agreement index and consensus of ``survey.agreement`` (on those who
  answered it), its labelled distribution, and whether it reaches ``AGREEMENT_THRESHOLD``;
- the alignment **score**, 0-100: the weighted mean of the indices of the scored questions,
  with a 95% percentile bootstrap interval over respondents (``survey.score``);
- Krippendorff's alpha (ordinal) and r_WG(J) over the scored scale questions;
- **team splits**: Jensen-Shannon distance between two teams' answer distributions,
  flagged at ``SPLIT_THRESHOLD`` (``survey.team_splits``);
- anonymous quotes and frequent terms of the text questions (``survey.text_answers``);
  mean confidence.

This module holds the report objects and the orchestration; each question's answers are
collected and cleaned by ``survey.question_answers`` and written in words by
``survey.answer_labels``.

Anonymity: nothing is computed for a group of fewer than ``min_group_size`` people (a
question, a team, a text question, the whole round); no field carries a respondent id;
quotes are shuffled with a seed from their sorted order, so their order says nothing about
who wrote them. Decisions where the design is silent:

- a respondent listed twice counts once (the last response wins); respondents are sorted
  by id first, so the report, the bootstrap included, does not depend on input order;
- answers that do not fit the template (an unknown option, a value out of range, an empty
  set) are ignored as if unanswered;
- the bootstrap leaves out the pairs formed by two copies of the same respondent, and a
  question with no defined index in a resample is left out of that resample's weighted
  mean (see ``survey.score``);
- team and confidence questions get no index; the team question shows no distribution
  (``teams`` holds team sizes, small teams folded); ``mean_confidence`` is on the
  confidence question's own 1..A scale;
- number questions have no ``distribution`` (their spread is in ``details``: q1, q3, iqr);
- a team split is flagged when the distance reaches ``SPLIT_THRESHOLD`` *and* the two teams'
  typical answers differ (see ``survey.team_splits``);
- ``splits`` holds the flagged team splits, largest first, at most ``MAX_SPLITS``
  (``splits_total`` counts them all).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from pydantic import BaseModel, Field

from survey.agreement import AGREEMENT_THRESHOLD, ItemAgreement, krippendorff_ordinal, rwg_j
from survey.answer_labels import consensus_label
from survey.answers import Response
from survey.profile import IcpProfile, profile_from_report
from survey.question_answers import QuestionAnswers, collect_answers, summarize
from survey.score import bootstrap_scores, weighted_score
from survey.team_splits import (
    OTHER_TEAMS,
    SPLIT_THRESHOLD,
    UNASSIGNED,
    TeamSplit,
    flagged_splits,
    team_of,
    team_sizes,
)
from survey.template import Question, QuestionKind, Role, Template
from survey.text_answers import TextSummary, text_summary

__all__ = [
    "MAX_SPLITS",
    "OTHER_TEAMS",
    "SPLIT_THRESHOLD",
    "UNASSIGNED",
    "AlignmentReport",
    "OptionShare",
    "QuestionResult",
    "TeamSplit",
    "TextSummary",
    "build_report",
]

MAX_SPLITS = 50


# -- the report object --------------------------------------------------------------------


class OptionShare(BaseModel):
    option: str
    label: str
    count: int
    share: float


class QuestionResult(BaseModel):
    id: str
    kind: QuestionKind
    prompt: str
    trait: str | None = None
    role: Role
    weight: float
    n: int
    agreement: float | None = None
    consensus: str | list[str] | float | None = None
    consensus_label: str | None = None
    consensus_share: float | None = None
    distribution: list[OptionShare] = Field(default_factory=list)
    details: dict[str, float | bool | None] = Field(default_factory=dict)
    agreed: bool | None = None
    hidden: bool = False


class AlignmentReport(BaseModel):
    template_id: str
    template_name: str
    respondents: int
    min_group_size: int
    hidden: bool
    score: float | None = None
    score_interval: tuple[float, float] | None = None
    alpha: float | None = None
    rwg_j: float | None = None
    questions: list[QuestionResult] = Field(default_factory=list)
    splits: list[TeamSplit] = Field(default_factory=list)
    splits_total: int = 0
    teams: dict[str, int] = Field(default_factory=dict)
    texts: list[TextSummary] = Field(default_factory=list)
    mean_confidence: float | None = None
    agreement_threshold: float = AGREEMENT_THRESHOLD
    split_threshold: float = SPLIT_THRESHOLD
    bootstrap: int = 0
    profile: IcpProfile | None = None
    """The consensus profile (the candidate ICP a leader may ratify); None when hidden."""

    def _ranked(self) -> list[QuestionResult]:
        return [q for q in self.questions if q.agreement is not None and not q.hidden]

    def top_agreements(self, k: int = 3) -> list[QuestionResult]:
        """The k scored questions with the highest agreement (template order on ties)."""
        return sorted(self._ranked(), key=lambda q: -(q.agreement or 0.0))[:k]

    def top_disagreements(self, k: int = 3) -> list[QuestionResult]:
        """The k scored questions with the lowest agreement (template order on ties)."""
        return sorted(self._ranked(), key=lambda q: q.agreement or 0.0)[:k]

    def top_splits(self, k: int = 3) -> list[TeamSplit]:
        """The k largest flagged team splits."""
        return self.splits[:k]


# -- one question's result -----------------------------------------------------------------


def _distribution(question: Question, item: ItemAgreement) -> list[OptionShare]:
    n = item.n
    if not n or question.kind == QuestionKind.NUMBER:
        return []
    if question.kind == QuestionKind.SCALE:
        points = question.points or 2
        labels = {1: question.low_label, points: question.high_label}
        return [
            OptionShare(
                option=str(p),
                label=f"{p} ({labels[p]})" if labels.get(p) else str(p),
                count=item.counts[str(p)],
                share=item.counts[str(p)] / n,
            )
            for p in range(1, points + 1)
        ]
    return [
        OptionShare(
            option=o.id, label=o.label, count=item.counts[o.id], share=item.counts[o.id] / n
        )
        for o in question.options
    ]


# -- the report ----------------------------------------------------------------------------


def _dedupe(responses: Sequence[Response]) -> list[Response]:
    latest: dict[str, Response] = {}
    for r in responses:
        latest[r.respondent] = r
    return [latest[k] for k in sorted(latest)]


def _question_result(
    q: Question, weight: float, answers: QuestionAnswers, min_group_size: int, hidden_round: bool
) -> QuestionResult:
    base = dict(id=q.id, kind=q.kind, prompt=q.prompt, trait=q.trait, role=q.role, weight=weight)
    n = len(answers.values)
    item = answers.item
    if hidden_round or n < min_group_size or item is None:
        hidden = hidden_round or n < min_group_size
        return QuestionResult(**base, n=n, hidden=hidden)
    agreement = item.index if q.scored else None
    return QuestionResult(
        **base,
        n=n,
        agreement=agreement,
        consensus=item.consensus,
        consensus_label=consensus_label(q, item),
        consensus_share=item.consensus_share,
        distribution=_distribution(q, item),
        details=dict(item.details),
        agreed=None if agreement is None else agreement >= AGREEMENT_THRESHOLD,
    )


def build_report(
    template: Template,
    responses: list[Response],
    *,
    min_group_size: int = 3,
    bootstrap: int = 1000,
    seed: int = 0,
    weights: dict[str, float] | None = None,
) -> AlignmentReport:
    """The alignment report of one round of ``template`` from the ``responses`` given.

    ``weights`` overrides the questions' own weights (question id -> weight >= 0) in the
    score. ``bootstrap`` resamples (0: no interval) are drawn with ``Generator(seed)``.
    """
    if min_group_size < 1:
        raise ValueError("min_group_size must be at least 1")
    if bootstrap < 0:
        raise ValueError("bootstrap must be >= 0")
    overrides = dict(weights or {})
    bad = {k: v for k, v in overrides.items() if not (math.isfinite(v) and v >= 0)}
    if bad:
        raise ValueError(f"weights must be finite and >= 0: {bad}")

    people = _dedupe(responses)
    n = len(people)
    hidden_round = n < min_group_size
    questions = template.questions

    collected: list[QuestionAnswers] = []
    for pos, q in enumerate(questions):
        answers = collect_answers(q, people)
        if q.kind != QuestionKind.TEXT and q.role != "team":
            answers.item = summarize(q, answers.values, seed + pos)
        collected.append(answers)

    def weight_of(q: Question) -> float:
        return float(overrides.get(q.id, q.weight))

    results = [
        _question_result(q, weight_of(q), a, min_group_size, hidden_round)
        for q, a in zip(questions, collected, strict=True)
    ]
    report = AlignmentReport(
        template_id=template.id,
        template_name=template.name,
        respondents=n,
        min_group_size=min_group_size,
        hidden=hidden_round,
        questions=results,
        bootstrap=bootstrap,
    )
    if hidden_round:
        return report

    shown = [
        a for a, r in zip(collected, results, strict=True) if a.question.scored and not r.hidden
    ]
    scored = [a for a in shown if a.item is not None and a.item.index is not None]
    w = np.array([weight_of(a.question) for a in scored], dtype=float)
    idx = np.array([a.item.index for a in scored], dtype=float)  # type: ignore[union-attr]
    score = weighted_score(idx, w) if scored else np.nan
    if math.isfinite(float(score)):
        report.score = float(score)
        if bootstrap:
            boot = bootstrap_scores(scored, w, n, bootstrap, seed)
            boot = boot[np.isfinite(boot)]
            if boot.size:
                lo, hi = np.percentile(boot, [2.5, 97.5])
                report.score_interval = (float(lo), float(hi))

    scale = [a for a in shown if a.question.kind == QuestionKind.SCALE]
    if scale:
        ratings = np.full((n, len(scale)), np.nan)
        for j, a in enumerate(scale):
            ratings[a.rows, j] = a.values
        report.alpha = krippendorff_ordinal(ratings)
        blocks = [(a.item.details.get("variance"), a.question.points) for a in scale]  # type: ignore[union-attr]
        blocks = [(v, p) for v, p in blocks if v is not None]
        if blocks:
            report.rwg_j = rwg_j([v for v, _ in blocks], [p for _, p in blocks])

    team_of_row = [team_of(template, r) for r in people]
    report.teams = team_sizes(team_of_row, min_group_size)
    flagged = flagged_splits(template, shown, team_of_row, min_group_size)
    report.splits = flagged[:MAX_SPLITS]
    report.splits_total = len(flagged)

    report.texts = [
        text_summary(a, min_group_size, seed + pos)
        for pos, a in enumerate(collected)
        if a.question.kind == QuestionKind.TEXT
    ]
    confidence = next(
        (
            a
            for a, r in zip(collected, results, strict=True)
            if a.question.role == "confidence" and not r.hidden
        ),
        None,
    )
    if confidence is not None:
        report.mean_confidence = float(np.mean(confidence.values))
    report.profile = profile_from_report(report, template)
    return report
