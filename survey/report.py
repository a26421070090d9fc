"""The alignment report of a survey round: data in, a report object out.

``build_report(template, responses)`` computes, on the answers given:

- per question: the agreement index and consensus of ``survey.agreement`` (on those who
  answered it), its labelled distribution, and whether it is agreed (see below);
- the alignment **score**, 0-100: the weighted mean of the indices of the scored questions,
  with a 95% bootstrap interval over respondents (``survey.score``: 1,000 resamples and
  percentile intervals, or above ``LARGE_ROUND`` respondents 200 and normal intervals);
- Krippendorff's alpha (ordinal) and r_WG(J) over the scored scale questions;
- per question, a 95% respondent-bootstrap interval of its index (from the same resamples);
  no interval at all below ``MIN_INTERVAL_N`` (5) respondents, and the report says why;
- "agreed" under one named rule (``survey.consensus``: the 0.70 index convention or the
  Delphi share rule), from the template or overridden;
- **team splits**: one line per question with every shown team's answer, flagged by a
  permutation test (chi-square on large pairs) with Benjamini-Hochberg FDR (``survey.team_splits``); team sizes and
  splits obey complementary suppression; withheld while a round is open (``survey.snapshot``);
- the **headline**: the score in words, 3 agreed traits, 3 split ones, the next step;
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
  (``teams`` holds the shown teams' sizes, the rest pooled); ``mean_confidence`` is on the
  confidence question's own 1..A scale;
- number questions have no ``distribution`` (their spread is in ``details``: q1, q3, iqr);
- ``splits`` holds the questions with a flagged team split, largest first, at most
  ``MAX_SPLITS`` (``splits_total`` counts them all, ``pairs_tested`` the pairs tested);
- a scale's consensus is its median rounded half up ("3 of 5" for 2.5), the same in the
  table and the profile; the exact median stays in ``consensus``.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Sequence
from itertools import islice
from typing import Literal

import numpy as np
from pydantic import BaseModel, Field

from survey.agreement import AGREEMENT_THRESHOLD, ItemAgreement, krippendorff_ordinal, rwg_j
from survey.answer_columns import AnswerColumns
from survey.answer_labels import consensus_label
from survey.answers import Response
from survey.consensus import RULE_TEXT, ConsensusRule, is_agreed
from survey.gc_pause import with_collector_paused
from survey.profile import IcpProfile, profile_from_report
from survey.question_answers import QuestionAnswers, collect_answers, collect_column, summarize
from survey.score import (
    MIN_INTERVAL_N,
    bootstrap_resamples,
    interval_plan,
    normal_interval,
    percentile_interval,
    weighted_score,
)
from survey.snapshot import Snapshot
from survey.team_splits import (
    FDR_LEVEL,
    OTHER_TEAMS,
    SPLIT_THRESHOLD,
    UNASSIGNED,
    TeamSplit,
    flagged_splits,
    team_of,
    team_sizes,
    team_splits,
)
from survey.template import Question, QuestionKind, Role, Template
from survey.text_answers import TextSummary, text_summary

__all__ = [
    "MAX_SPLITS",
    "OTHER_TEAMS",
    "SPLIT_THRESHOLD",
    "UNASSIGNED",
    "AlignmentReport",
    "Headline",
    "HeadlineItem",
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
    name: str = ""
    """The short trait name (``Question.name``)."""
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
    """Agreed under the report's ``consensus_rule``."""
    interval: tuple[float, float] | None = None
    """95% bootstrap interval of the index over respondents (n >= 5; percentile, or normal on a
    large round: ``AlignmentReport.interval_method``)."""
    hidden: bool = False


class HeadlineItem(BaseModel):
    question_id: str
    name: str
    text: str
    """The agreed answer, or the teams' answers (the answers' spread when no team split)."""


class Headline(BaseModel):
    """The top of every report: the score in words, 3 agreed traits, 3 split ones, the next step."""

    score_text: str
    agreed: list[str] = Field(default_factory=list)
    """Question ids of up to 3 agreed traits, most agreed first."""
    split: list[str] = Field(default_factory=list)
    """Question ids of up to 3 traits the team splits on: flagged team splits first, largest
    first, then the least agreed questions."""
    agreed_items: list[HeadlineItem] = Field(default_factory=list)
    split_items: list[HeadlineItem] = Field(default_factory=list)
    next_step: str = ""


class AlignmentReport(BaseModel):
    template_id: str
    template_name: str
    respondents: int
    finished: int | None = None
    """How many of the respondents finished the survey (None: unknown, e.g. a spreadsheet)."""
    min_group_size: int
    hidden: bool
    score: float | None = None
    score_interval: tuple[float, float] | None = None
    alpha: float | None = None
    rwg_j: float | None = None
    questions: list[QuestionResult] = Field(default_factory=list)
    splits: list[TeamSplit] = Field(default_factory=list)
    """The questions with a flagged team split, largest first."""
    splits_total: int = 0
    team_comparisons: list[TeamSplit] = Field(default_factory=list)
    """Every question compared across the shown teams, flagged or not, in question order:
    all the pair tests of the false discovery rate's family."""
    teams: dict[str, int] = Field(default_factory=dict)
    texts: list[TextSummary] = Field(default_factory=list)
    mean_confidence: float | None = None
    agreement_threshold: float = AGREEMENT_THRESHOLD
    split_threshold: float = SPLIT_THRESHOLD
    consensus_rule: ConsensusRule = "index"
    consensus_rule_text: str = RULE_TEXT["index"]
    fdr_level: float = FDR_LEVEL
    pairs_tested: int = 0
    """Team pairs tested over all questions (the family of the false discovery rate)."""
    bootstrap: int = 0
    """Resamples drawn for the intervals (a large round draws fewer than asked: ``interval_plan``)."""
    interval_method: Literal["percentile", "normal"] | None = None
    """Percentile intervals, or normal ones above ``survey.score.LARGE_ROUND`` respondents."""
    interval_note: str | None = None
    """Why there is no interval, when there is none for lack of respondents."""
    snapshot: Snapshot | None = None
    """Open round: which finished respondents the figures use (``survey.snapshot``)."""
    teams_withheld: bool = False
    """Team figures withheld until the round closes (open round)."""
    quotes_in_channel: bool = False
    """The template allows free-text quotes in a channel post."""
    headline: Headline | None = None
    profile: IcpProfile | None = None
    """The consensus profile (the candidate ICP a leader may ratify); None when hidden."""

    def _ranked(self) -> list[QuestionResult]:
        return [q for q in self.questions if q.agreement is not None and not q.hidden]

    def by_agreement(self) -> list[QuestionResult]:
        """The scored, shown questions, most agreed first (template order on ties)."""
        return sorted(self._ranked(), key=lambda q: -(q.agreement or 0.0))

    @property
    def respondents_text(self) -> str:
        """"11 respondents, 10 finished", counted as the round's status counts them."""
        n = self.respondents
        text = f"{n} respondent{'' if n == 1 else 's'}"
        if self.snapshot is not None and self.snapshot.open:
            return f"{text} (the first {n} of {self.snapshot.finished} finished)"
        if self.finished is not None and self.finished != n:
            text += f", {self.finished} finished"
        return text

    def top_agreements(self, k: int = 3) -> list[QuestionResult]:
        """The k scored questions with the highest agreement (template order on ties)."""
        return sorted(self._ranked(), key=lambda q: -(q.agreement or 0.0))[:k]

    def top_disagreements(self, k: int = 3) -> list[QuestionResult]:
        """The k scored questions with the lowest agreement (template order on ties)."""
        return sorted(self._ranked(), key=lambda q: q.agreement or 0.0)[:k]

    def top_splits(self, k: int = 3) -> list[TeamSplit]:
        """The k questions with the largest flagged team splits."""
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


def _sorted_columns(template: Template, data: AnswerColumns):
    """(n, question -> its ``QuestionAnswers``, each respondent's team) with the respondents
    sorted by id and the last row of a repeated id winning, as ``_dedupe`` does for responses."""
    respondents = data.respondents
    ordered = sorted(respondents)
    order: list[int] | range
    if ordered == respondents and not any(map(operator.eq, ordered, islice(ordered, 1, None))):
        order = range(len(respondents))  # already sorted, no id twice (a spreadsheet by id, say)
        position = np.arange(len(respondents), dtype=np.int64)
    else:
        latest = {r: i for i, r in enumerate(respondents)}
        order = [latest[k] for k in sorted(latest)]
        position = np.full(len(respondents), -1, dtype=np.int64)
        position[order] = np.arange(len(order))
    tq = template.team_question
    if tq is not None and tq.id in data.rows:
        team_answer = dict.fromkeys(range(len(respondents)))
        team_answer.update(zip(data.rows[tq.id], data.values[tq.id], strict=True))
        teams = []
        for i in order:
            answer = team_answer[i]
            teams.append(data.teams[i] or (answer if isinstance(answer, str) and answer else None))
    else:  # no team answers: the team column alone
        teams = [data.teams[i] or None for i in order]

    def column(q: Question) -> QuestionAnswers:
        if q.id not in data.rows:
            return collect_column(q, [], [])
        at = position[np.frombuffer(data.rows[q.id], dtype=np.int64)]
        kept = np.flatnonzero(at >= 0)
        kept = kept[np.argsort(at[kept], kind="stable")]
        values = data.values[q.id]
        if kept.size == len(values) and np.array_equal(kept, np.arange(kept.size)):
            return collect_column(q, at.tolist(), list(values))  # already in order, no repeats
        return collect_column(q, at[kept].tolist(), [values[k] for k in kept.tolist()])

    return len(order), column, teams


def _question_result(
    q: Question, weight: float, answers: QuestionAnswers, min_group_size: int, hidden_round: bool,
    rule: ConsensusRule = "index",
) -> QuestionResult:
    base = dict(id=q.id, kind=q.kind, prompt=q.prompt, name=q.name, trait=q.trait, role=q.role, weight=weight)
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
        agreed=is_agreed(rule, q, item, agreement),
    )


SCORE_WORDS = ((70, "your team agrees"), (50, "your team partly agrees"), (0, "your team does not agree yet"))
"""The score in words: 70 and up reads as agreement, as an index of 0.70 does."""


def score_words(score: float) -> str:
    """ "37/100: your team does not agree yet"."""
    words = next(w for floor, w in SCORE_WORDS if round(score) >= floor)
    return f"{score:.0f}/100: {words}"


def _spread_text(q: QuestionResult) -> str:
    """A question's answers in a few words, for a split with no team comparison."""
    if q.kind == QuestionKind.NUMBER:
        return q.consensus_label or "-"
    top = sorted(q.distribution, key=lambda o: -o.count)[:2]
    return " · ".join(f"{o.label} ({o.share:.0%})" for o in top)


def build_headline(report: AlignmentReport, template: Template) -> Headline:
    """The report's headline (see ``Headline``); the next step names the command to run."""
    if report.hidden or report.score is None:
        return Headline(score_text="Not enough answers yet",
                        next_step=f"Wait until at least {report.min_group_size} people have answered.")
    ranked = report.by_agreement()
    agreed = [q for q in ranked if q.agreed][:3]
    splits = {s.question_id: s for s in report.splits}
    split_ids = [s.question_id for s in report.splits[:3]]
    for q in reversed(ranked):
        if len(split_ids) >= 3:
            break
        if not q.agreed and q.id not in split_ids:
            split_ids.append(q.id)
    by_id = {q.id: q for q in report.questions}
    split_items = [
        HeadlineItem(question_id=i, name=by_id[i].name,
                     text=splits[i].text if i in splits else _spread_text(by_id[i]))
        for i in split_ids
    ]
    agreed_items = [HeadlineItem(question_id=q.id, name=q.name, text=q.consensus_label or "-") for q in agreed]
    steps = []
    if report.snapshot is not None and report.snapshot.open:
        steps.append(f"wait for more answers (figures refresh at {report.snapshot.next_refresh_at} finished), "
                     "then close the round")
    agreed_all = [q for q in ranked if q.agreed]
    ratifiable = [q for q in agreed_all if template.has_question(q.id) and template.question(q.id).in_profile]
    if ratifiable:
        # "agreed" counts every agreed trait (the table's ✓); the ICP holds those a prospect can have
        outside = len(agreed_all) - len(ratifiable)
        note = f" ({outside} more agreed trait{'s' * (outside != 1)} describe{'s' * (outside == 1)} us, not a prospect)" \
            if outside else ""
        steps.append(f"ratify the {len(ratifiable)} agreed ICP trait{'s' * (len(ratifiable) != 1)}{note} "
                     "with `/icp-check ratify`")
    if split_items:
        steps.append(f"discuss {split_items[0].name} in a StrategyCheck: "
                     + ("the teams answer it differently" if split_items[0].question_id in splits
                        else "it is where answers differ most"))
    next_step = "; ".join(steps) or "nothing urgent: the team agrees"
    return Headline(score_text=score_words(report.score), agreed=[q.id for q in agreed], split=split_ids,
                    agreed_items=agreed_items, split_items=split_items,
                    next_step=next_step[:1].upper() + next_step[1:] + ".")


@with_collector_paused  # its answers' lists and tuples are no cycles (``survey.gc_pause``)
def build_report(
    template: Template,
    responses: list[Response] | AnswerColumns,
    *,
    min_group_size: int = 3,
    bootstrap: int = 1000,
    seed: int = 0,
    weights: dict[str, float] | None = None,
    consensus_rule: ConsensusRule | None = None,
    finished: int | None = None,
    snapshot: Snapshot | None = None,
) -> AlignmentReport:
    """The alignment report of one round of ``template`` from the ``responses`` given (or the
    same answers as ``AnswerColumns``, read from a spreadsheet: the same report).

    ``weights`` overrides the questions' own weights (question id -> weight >= 0) in the
    score. ``bootstrap`` resamples (0: no interval) are drawn with ``Generator(seed)``; no
    interval below ``MIN_INTERVAL_N`` respondents. ``consensus_rule`` overrides the
    template's. ``finished``: how many respondents finished (stated beside the count).
    ``snapshot``: for an open round, the ``survey.snapshot.open_round_snapshot`` whose
    respondents ``responses`` are; team figures are then withheld until close.
    """
    if min_group_size < 1:
        raise ValueError("min_group_size must be at least 1")
    if bootstrap < 0:
        raise ValueError("bootstrap must be >= 0")
    overrides = dict(weights or {})
    bad = {k: v for k, v in overrides.items() if not (math.isfinite(v) and v >= 0)}
    if bad:
        raise ValueError(f"weights must be finite and >= 0: {bad}")
    rule: ConsensusRule = consensus_rule or template.consensus_rule
    if rule not in RULE_TEXT:
        raise ValueError(f"consensus_rule must be one of {', '.join(RULE_TEXT)}")

    questions = template.questions
    if isinstance(responses, AnswerColumns):
        n, columns, team_of_row = _sorted_columns(template, responses)
    else:
        people = _dedupe(responses)
        n = len(people)
    hidden_round = n < min_group_size

    collected: list[QuestionAnswers] = []
    for pos, q in enumerate(questions):
        answers = columns(q) if isinstance(responses, AnswerColumns) else collect_answers(q, people)
        if q.kind != QuestionKind.TEXT and q.role != "team":
            answers.item = summarize(q, answers.values, seed + pos)
        collected.append(answers)

    def weight_of(q: Question) -> float:
        return float(overrides.get(q.id, q.weight))

    results = [
        _question_result(q, weight_of(q), a, min_group_size, hidden_round, rule)
        for q, a in zip(questions, collected, strict=True)
    ]
    report = AlignmentReport(
        template_id=template.id,
        template_name=template.name,
        respondents=n,
        finished=finished,
        min_group_size=min_group_size,
        hidden=hidden_round,
        questions=results,
        bootstrap=bootstrap,
        consensus_rule=rule,
        consensus_rule_text=RULE_TEXT[rule],
        snapshot=snapshot,
        quotes_in_channel=template.quotes_in_channel,
    )
    if hidden_round:
        report.headline = build_headline(report, template)
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
        if bootstrap and n < MIN_INTERVAL_N:
            report.interval_note = (
                f"No interval below {MIN_INTERVAL_N} respondents: resampling so few people repeats "
                "the same one or two answers, so the interval would span almost anything.")
        elif bootstrap:
            replicates, method = interval_plan(n, bootstrap)
            report.bootstrap, report.interval_method = replicates, method
            boot, boot_indices = bootstrap_resamples(scored, w, n, replicates, seed)
            if method == "normal":
                report.score_interval = normal_interval(boot, report.score, 0.0, 100.0)
            else:
                report.score_interval = percentile_interval(boot)
            by_id = {r.id: r for r in results}
            for j, a in enumerate(scored):
                if len(a.values) >= MIN_INTERVAL_N:
                    by_id[a.question.id].interval = (
                        normal_interval(boot_indices[:, j], float(idx[j]), 0.0, 1.0) if method == "normal"
                        else percentile_interval(boot_indices[:, j]))

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

    if snapshot is not None and snapshot.open:
        report.teams_withheld = True
    else:
        if not isinstance(responses, AnswerColumns):
            team_of_row = [team_of(template, r) for r in people]
        report.teams = team_sizes(team_of_row, min_group_size)
        report.team_comparisons = team_splits(template, shown, team_of_row, min_group_size, seed=seed)
        flagged = flagged_splits(report.team_comparisons)
        report.splits = flagged[:MAX_SPLITS]
        report.splits_total = len(flagged)
        report.pairs_tested = sum(len(s.pairs) for s in report.team_comparisons)

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
    report.headline = build_headline(report, template)
    return report
