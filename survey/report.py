"""The alignment report of a survey round: data in, a report object out.

``build_report(template, responses)`` computes, on the answers given:

- per question: the agreement index and consensus of ``survey.agreement`` (on those who
  answered it), its labelled distribution, and whether it reaches ``AGREEMENT_THRESHOLD``;
- the alignment **score**, 0-100: the weighted mean of the indices of the scored questions,
  with a 95% percentile bootstrap interval over respondents;
- Krippendorff's alpha (ordinal) and r_WG(J) over the scored scale questions;
- **team splits**: Jensen-Shannon distance between two teams' answer distributions,
  flagged at ``SPLIT_THRESHOLD``;
- anonymous quotes and frequent terms of the text questions; mean confidence.

Anonymity: nothing is computed for a group of fewer than ``min_group_size`` people (a
question, a team, a text question, the whole round); no field carries a respondent id;
quotes are shuffled with a seed from their sorted order, so their order says nothing about
who wrote them. Decisions where the design is silent:

- a respondent listed twice counts once (the last response wins); respondents are sorted
  by id first, so the report, the bootstrap included, does not depend on input order;
- answers that do not fit the template (an unknown option, a value out of range, an empty
  set) are ignored as if unanswered;
- the bootstrap leaves out the pairs formed by two copies of the same respondent (see
  ``survey.agreement``), so a resample does not inflate pairwise agreement; a question
  with no defined index in a resample is left out of that resample's weighted mean;
- team and confidence questions get no index; the team question shows no distribution
  (``teams`` holds team sizes, small teams folded); ``mean_confidence`` is on the
  confidence question's own 1..A scale;
- number questions have no ``distribution`` (their spread is in ``details``: q1, q3, iqr);
- a team split is flagged when the distance reaches ``SPLIT_THRESHOLD`` *and* the two teams'
  typical answers differ (another modal option or scale point, or medians more than 25%
  apart): with teams of 5-10 people the distance alone runs high on sampling noise, and
  "51-200 (75%) / 51-200 (70%)" is no split a leader can act on;
- ``splits`` holds the flagged team splits, largest first, at most ``MAX_SPLITS``
  (``splits_total`` counts them all).
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import combinations

import numpy as np
from pydantic import BaseModel, Field
from scipy import sparse

from survey.agreement import (
    AGREEMENT_THRESHOLD,
    NUMBER_TOLERANCE,
    ItemAgreement,
    js_distance,
    krippendorff_ordinal,
    multi_agreement,
    number_agreement,
    rwg_j,
    scale_agreement,
    single_agreement,
)
from survey.answers import AnswerValue, Response
from survey.template import Question, QuestionKind, Role, Template

SPLIT_THRESHOLD = 0.30
"""Jensen-Shannon distance (base 2) from which two teams' answers are flagged as split."""

OTHER_TEAMS = "other (small teams)"
UNASSIGNED = "unassigned"
MAX_SPLITS = 50
MAX_QUOTES = 20
MAX_TERMS = 10
BOOTSTRAP_CELLS = 2_000_000
"""Respondent x resample cells per bootstrap chunk: bounds memory at any n."""


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


class TeamSplit(BaseModel):
    question_id: str
    prompt: str
    team_a: str
    team_b: str
    distance: float
    flagged: bool
    a_answer: str
    a_share: float
    b_answer: str
    b_share: float
    text: str


class TextSummary(BaseModel):
    question_id: str
    prompt: str
    count: int
    quotes: list[str] = Field(default_factory=list)
    terms: list[tuple[str, int]] = Field(default_factory=list)
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


# -- answers of one question --------------------------------------------------------------


def _cleaner(question: Question):
    """A function giving a value in canonical form, or None when it does not fit ``question``."""
    kind = question.kind
    option_ids = frozenset(o.id for o in question.options)
    points = question.points or 0

    def clean(value: AnswerValue | None) -> AnswerValue | None:
        if value is None or isinstance(value, bool):
            return None
        if kind == QuestionKind.SINGLE:
            return value if isinstance(value, str) and value in option_ids else None
        if kind == QuestionKind.MULTI:
            if not isinstance(value, list | tuple | set | frozenset) or not value:
                return None
            ids = sorted({str(v) for v in value})
            return ids if option_ids.issuperset(ids) else None
        if kind == QuestionKind.TEXT:
            return (value.strip() or None) if isinstance(value, str) else None
        if not isinstance(value, int | float) or not math.isfinite(value):
            return None
        if kind == QuestionKind.SCALE:
            return int(value) if float(value).is_integer() and 1 <= value <= points else None
        return float(value)

    return clean


@dataclass
class _Answers:
    question: Question
    rows: np.ndarray  # respondent indices (into the sorted respondent list)
    values: list
    item: ItemAgreement | None = None


def _collect(question: Question, responses: Sequence[Response]) -> _Answers:
    rows, values = [], []
    clean = _cleaner(question)
    qid = question.id
    for i, r in enumerate(responses):
        v = clean(r.answers.get(qid))
        if v is not None:
            rows.append(i)
            values.append(v)
    return _Answers(question, np.asarray(rows, dtype=np.int64), values)


def _summarize(question: Question, values: list, seed: int) -> ItemAgreement:
    kind = question.kind
    option_ids = [o.id for o in question.options]
    if kind == QuestionKind.SINGLE:
        return single_agreement(values, option_ids)
    if kind == QuestionKind.MULTI:
        return multi_agreement(values, option_ids, seed=seed)
    if kind == QuestionKind.SCALE:
        return scale_agreement(values, question.points or 2)
    return number_agreement(values)


# -- labels --------------------------------------------------------------------------------


def _fmt(x: float) -> str:
    if abs(x) >= 100 or float(x).is_integer():
        return f"{x:,.0f}"
    return f"{x:,.2f}".rstrip("0").rstrip(".")


def _with_unit(question: Question, x: float) -> str:
    unit = question.unit or ""
    if not unit:
        return _fmt(x)
    return f"{_fmt(x)}{unit}" if unit == "%" else f"{_fmt(x)} {unit}"


def _scale_point(question: Question, x: float) -> str:
    return f"{_fmt(x)} of {question.points}"


def _consensus_label(question: Question, item: ItemAgreement) -> str | None:
    kind = question.kind
    if item.n == 0:
        return None
    if kind == QuestionKind.SINGLE:
        top = max(item.counts.values())
        tied = [o for o, c in item.counts.items() if c == top]
        label = " / ".join(question.option_label(o) for o in tied)
        return f"{label} (tie)" if len(tied) > 1 else label
    if kind == QuestionKind.MULTI:
        if isinstance(item.consensus, list):
            return "; ".join(question.option_label(o) for o in item.consensus)
        top = max(item.counts, key=lambda o: item.counts[o])
        return f"No majority (most chosen: {question.option_label(top)}, {item.counts[top] / item.n:.0%})"
    if kind == QuestionKind.SCALE:
        m = float(item.consensus or 0)
        mid = ((question.points or 2) + 1) / 2
        side = (
            f"{question.high_label} side"
            if m > mid
            else f"{question.low_label} side"
            if m < mid
            else "midpoint"
        )
        return f"{_scale_point(question, m)} ({side})"
    q1, q3 = item.details.get("q1"), item.details.get("q3")
    iqr = f" (IQR {_fmt(q1)}-{_fmt(q3)})" if q1 is not None and q3 is not None else ""
    return f"{_with_unit(question, float(item.consensus or 0))}{iqr}"


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


def _team_label(template: Template, team: str) -> str:
    tq = template.team_question
    if tq is not None and tq.option(team):
        return tq.option_label(team)
    return team[:1].upper() + team[1:]


# -- teams and splits ----------------------------------------------------------------------


def _team_of(template: Template, response: Response) -> str | None:
    if response.team:
        return response.team
    tq = template.team_question
    answer = response.answers.get(tq.id) if tq is not None else None
    return answer if isinstance(answer, str) and answer else None


def _split_profile(question: Question, answers: _Answers, mask: np.ndarray, edges: np.ndarray):
    """(distribution for the JSD, modal answer text, its share, typical answer) of one team."""
    values = [v for v, keep in zip(answers.values, mask, strict=True) if keep]
    n = len(values)
    kind = question.kind
    if kind == QuestionKind.SINGLE:
        ids = [o.id for o in question.options]
        counts = np.array([values.count(i) for i in ids], dtype=float)
        top = int(np.argmax(counts))
        return counts, question.option_label(ids[top]), counts[top] / n, ids[top]
    if kind == QuestionKind.MULTI:
        ids = [o.id for o in question.options]
        counts = np.array([sum(1 for v in values if i in v) for i in ids], dtype=float)
        top = int(np.argmax(counts))
        return counts, question.option_label(ids[top]), counts[top] / n, ids[top]
    if kind == QuestionKind.SCALE:
        counts = np.bincount(np.asarray(values) - 1, minlength=question.points or 2).astype(float)
        top = int(np.argmax(counts))
        return counts, _scale_point(question, top + 1), counts[top] / n, top + 1
    x = np.asarray(values, dtype=float)
    counts = np.bincount(np.searchsorted(edges, x, side="left"), minlength=4).astype(float)
    median = float(np.median(x))
    share = float(np.mean(np.abs(x - median) <= NUMBER_TOLERANCE * abs(median)))
    return counts, _with_unit(question, median), share, median


def _typical_answers_differ(question: Question, a: object, b: object) -> bool:
    """Whether two teams' typical answers differ: another modal option or scale point, or
    medians more than ``NUMBER_TOLERANCE`` apart (relative to the larger one)."""
    if question.kind == QuestionKind.NUMBER:
        fa, fb = float(a), float(b)  # type: ignore[arg-type]
        return abs(fa - fb) > NUMBER_TOLERANCE * max(abs(fa), abs(fb))
    return a != b


def _splits(
    template: Template,
    scored: list[_Answers],
    team_of_row: list[str | None],
    min_group_size: int,
) -> list[TeamSplit]:
    out: list[TeamSplit] = []
    for answers in scored:
        q = answers.question
        teams = np.array([team_of_row[r] or "" for r in answers.rows], dtype=object)
        sizes = Counter(t for t in teams if t)
        eligible = sorted(t for t, c in sizes.items() if c >= min_group_size)
        if len(eligible) < 2:
            continue
        edges = (
            np.quantile(np.asarray(answers.values, dtype=float), [0.25, 0.5, 0.75])
            if q.kind == QuestionKind.NUMBER
            else np.zeros(0)
        )
        profiles = {t: _split_profile(q, answers, teams == t, edges) for t in eligible}
        for a, b in combinations(eligible, 2):
            (pa, a_ans, a_share, a_key), (pb, b_ans, b_share, b_key) = profiles[a], profiles[b]
            distance = js_distance(pa, pb)
            la, lb = _team_label(template, a), _team_label(template, b)
            out.append(
                TeamSplit(
                    question_id=q.id,
                    prompt=q.prompt,
                    team_a=a,
                    team_b=b,
                    distance=distance,
                    flagged=distance >= SPLIT_THRESHOLD and _typical_answers_differ(q, a_key, b_key),
                    a_answer=a_ans,
                    a_share=float(a_share),
                    b_answer=b_ans,
                    b_share=float(b_share),
                    text=f"{la}: {a_ans} ({a_share:.0%}) / {lb}: {b_ans} ({b_share:.0%})",
                )
            )
    return out


def _team_sizes(team_of_row: list[str | None], min_group_size: int) -> dict[str, int]:
    sizes = Counter(t for t in team_of_row if t)
    teams = {t: c for t, c in sorted(sizes.items()) if c >= min_group_size}
    small = sum(c for c in sizes.values() if c < min_group_size)
    if small:
        teams[OTHER_TEAMS] = small
    unassigned = sum(1 for t in team_of_row if not t)
    if unassigned:
        teams[UNASSIGNED] = unassigned
    return teams


# -- text ----------------------------------------------------------------------------------

STOP_WORDS = frozenset(
    """a about above after again against all almost also am an and any are as at be because
    been before being below between both but by can could did do does doing down during each
    either else ever every few for from further get gets got had has have having he her here
    hers herself him himself his how i if in into is it its itself just least less like many
    may me might more most much must my myself neither no nor not now of off often on once only
    or other others our ours ourselves out over own per quite rather really same she should so
    some such than that the their theirs them themselves then there these they this those
    through to too under until up upon us very via was we well were what when where which while
    who whom whose why will with within without would yet you your yours yourself yourselves
    customer customers one""".split()
)
_WORD = re.compile(r"[a-z][a-z0-9'\-]*[a-z0-9]|[a-z]")


def _terms(texts: Sequence[str]) -> list[tuple[str, int]]:
    """Most frequent terms, each counted once per answer, English stop words left out."""
    counts: Counter[str] = Counter()
    for text in texts:
        words = {w.removesuffix("'s") for w in _WORD.findall(text.lower())}
        counts.update(w for w in words if len(w) >= 3 and w not in STOP_WORDS)
    return sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:MAX_TERMS]


def _text_summary(answers: _Answers, min_group_size: int, seed: int) -> TextSummary:
    q = answers.question
    count = len(answers.values)
    if count < min_group_size:
        return TextSummary(question_id=q.id, prompt=q.prompt, count=count, hidden=True)
    ordered = sorted(answers.values)  # forget respondent order before shuffling
    distinct = sorted(set(ordered))
    rng = np.random.default_rng(seed)
    quotes = [distinct[i] for i in rng.permutation(len(distinct))[:MAX_QUOTES]]
    return TextSummary(
        question_id=q.id, prompt=q.prompt, count=count, quotes=quotes, terms=_terms(ordered)
    )


# -- score and bootstrap -------------------------------------------------------------------


def _weighted_score(indices: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """100 * sum_q w_q a_q / sum_q w_q over the defined indices (last axis = questions)."""
    defined = ~np.isnan(indices)
    w = np.where(defined, weights, 0.0)
    total = w.sum(axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(
            total > 0, 100.0 * (np.where(defined, indices, 0.0) * w).sum(-1) / total, np.nan
        )


def _bootstrap_scores(
    items: list[_Answers], weights: np.ndarray, n: int, replicates: int, seed: int
) -> np.ndarray:
    """Scores of ``replicates`` resamples of the n respondents (with replacement).

    Respondent multiplicities W (n x chunk) come from one Generator(seed) stream; each
    question's category counts are W summed over the answers of each category (a sparse
    one-hot product), then the question's kernel gives the index of every resample at once.
    Memory is bounded by ``BOOTSTRAP_CELLS`` per chunk.
    """
    rng = np.random.default_rng(seed)
    onehots, full = [], []
    for it in items:
        item = it.item
        assert item is not None
        m = sparse.csr_matrix(
            (np.ones(len(it.rows)), (item.codes, it.rows)), shape=(item.n_categories, n)
        )
        onehots.append(m)
        full.append(len(it.rows) == n)
    chunk = max(1, min(replicates, BOOTSTRAP_CELLS // max(n, 1)))
    scores = []
    for start in range(0, replicates, chunk):
        b = min(chunk, replicates - start)
        # cells < 2^31 by BOOTSTRAP_CELLS, so int32 indices suffice
        flat = rng.integers(0, n, size=(b, n), dtype=np.int32)
        flat *= b
        flat += np.arange(b, dtype=np.int32)[:, None]
        w = np.bincount(flat.ravel(), minlength=n * b).reshape(n, b).astype(np.float64)
        del flat
        w2 = w * w
        sum_w2_all = w2.sum(axis=0)
        indices = np.empty((b, len(items)))
        for j, (it, m) in enumerate(zip(items, onehots, strict=True)):
            counts = np.asarray(m @ w).T  # (b, categories)
            sum_w2 = sum_w2_all if full[j] else w2[it.rows].sum(axis=0)
            indices[:, j] = it.item.resample(counts, sum_w2)  # type: ignore[union-attr]
        scores.append(_weighted_score(indices, weights))
    return np.concatenate(scores) if scores else np.zeros(0)


# -- the report ----------------------------------------------------------------------------


def _dedupe(responses: Sequence[Response]) -> list[Response]:
    latest: dict[str, Response] = {}
    for r in responses:
        latest[r.respondent] = r
    return [latest[k] for k in sorted(latest)]


def _question_result(
    q: Question, weight: float, answers: _Answers, min_group_size: int, hidden_round: bool
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
        consensus_label=_consensus_label(q, item),
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

    collected: list[_Answers] = []
    for pos, q in enumerate(questions):
        answers = _collect(q, people)
        if q.kind != QuestionKind.TEXT and q.role != "team":
            answers.item = _summarize(q, answers.values, seed + pos)
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
    score = _weighted_score(idx, w) if scored else np.nan
    if math.isfinite(float(score)):
        report.score = float(score)
        if bootstrap:
            boot = _bootstrap_scores(scored, w, n, bootstrap, seed)
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

    team_of_row = [_team_of(template, r) for r in people]
    report.teams = _team_sizes(team_of_row, min_group_size)
    splits = _splits(template, shown, team_of_row, min_group_size)
    flagged = sorted((s for s in splits if s.flagged), key=lambda s: -s.distance)
    report.splits = flagged[:MAX_SPLITS]
    report.splits_total = len(flagged)

    report.texts = [
        _text_summary(a, min_group_size, seed + pos)
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
    return report
