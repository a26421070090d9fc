"""Perception and reality: the staff's ICP beside the customers who actually bring the revenue.

``reality_for(report, template, customers, profile=None)`` compares an ``AlignmentReport``
(what the staff say) with a customer list (``survey.customers``). Everything is stated so
that a person can recompute it:

- **top customers**: the first ``ceil(20% of n)`` customers (at least one) by revenue,
  highest first; equal revenue is ordered by customer id, so the cut is reproducible;
- **revenue concentration**: the top customers' revenue / all customers' revenue, beside the
  staff's answer to ``top20_revenue_share`` (their median, and their interquartile range);
- **per trait**: the top customers' distribution over the options (for a multi question, the
  share of top customers holding each option), their most common answer and its share, among
  the top customers whose value is known; beside it the staff's consensus and its share;
- **match index** of a trait = the share of the top customers (value known) whose value
  matches the staff's consensus by the fit rules of ``survey.profile`` (same option; shares an
  option; within one scale point; inside the number range). 1 = the staff's picture holds for
  every top customer, 0 = for none. The trait with the lowest index is ``largest_gap``;
- **fit**: a customer fits when ``score_fit`` against the ICP (the ratified one when given,
  else the staff's consensus profile) gives a strong fit (score >= ``FIT_STRONG``); the counts
  and revenue of the top customers who fit, and the mean revenue per account of all
  customers who fit against those who do not (``lift`` = the ratio). Customers with no
  known trait of the profile are neither;
- **personas**: the top customers clustered by their categorical traits with k-modes
  (Huang 1998; the ``kmodes`` package, Huang initialisation, the best of ``PERSONA_INITS``
  seeded runs), k = 2 or 3, the one with the higher silhouette on the Hamming distance (ties
  to 2), and no persona of a single customer. Each is named by its dominant traits: the
  answers at least ``DOMINANT_SHARE`` of its customers share, most shared first.

The per-trait match is always against the staff's consensus (perception); ``profile`` (a
ratified ICP) changes only the fit figures.

No customer name or id leaves this module: only counts, shares and sums.
"""

from __future__ import annotations

import math
import statistics
from collections import Counter
from collections.abc import Sequence
from typing import Any

import numpy as np
from pydantic import BaseModel, Field

from survey.customers import Customer
from survey.profile import FIT_STRONG, IcpProfile, describe_value, score_fit
from survey.question_answers import answer_cleaner
from survey.template import Question, QuestionKind, Template

TOP_SHARE = 0.20
REVENUE_SHARE_QUESTION = "top20_revenue_share"
DOMINANT_SHARE = 0.5
PERSONA_KS = (2, 3)
PERSONA_INITS = 10
MIN_PERSONA_CUSTOMERS = 2
NUMBER_TOLERANCE = 0.25


class ShareOf(BaseModel):
    option: str
    label: str
    count: int
    share: float


class TraitComparison(BaseModel):
    question_id: str
    prompt: str
    kind: QuestionKind
    known: int = Field(description="top customers whose value is known")
    top_answer: str | float | None = None
    top_answer_label: str | None = None
    top_share: float | None = None
    distribution: list[ShareOf] = Field(default_factory=list)
    staff_consensus: str | list[str] | float | None = None
    staff_label: str | None = None
    staff_share: float | None = None
    match_index: float | None = None
    agrees: bool | None = Field(default=None, description="the staff's consensus holds the top customers' most common answer")


class RevenueConcentration(BaseModel):
    customers: int
    top_customers: int
    total_revenue: float
    top_revenue: float
    share: float
    staff_estimate: float | None = Field(default=None, description="the staff's median answer, as a fraction")
    staff_low: float | None = None
    staff_high: float | None = None
    difference: float | None = Field(default=None, description="share - staff_estimate, in fractions")


class FitSummary(BaseModel):
    source: str = Field(description="ratified ICP v<version>, or the staff's consensus")
    threshold: int = FIT_STRONG
    top_fitting: int
    top_known: int
    top_revenue_fitting: float
    top_revenue_share_fitting: float
    fitting: int
    not_fitting: int
    unknown: int
    revenue_per_fitting: float | None = None
    revenue_per_not_fitting: float | None = None
    lift: float | None = Field(default=None, description="revenue per fitting account / per other account")


class PersonaTrait(BaseModel):
    question_id: str
    prompt: str
    value: str
    label: str
    share: float


class Persona(BaseModel):
    name: str
    customers: int
    revenue: float
    revenue_share: float = Field(description="of the top customers' revenue")
    revenue_per_account: float
    traits: list[PersonaTrait] = Field(default_factory=list)


class RealityComparison(BaseModel):
    customers: int
    top_customers: int
    revenue_concentration: RevenueConcentration
    traits: list[TraitComparison] = Field(default_factory=list)
    fit: FitSummary | None = None
    personas: list[Persona] = Field(default_factory=list)
    persona_method: str | None = None
    largest_gap: str | None = Field(default=None, description="question id of the trait with the lowest match index")

    def trait(self, question_id: str) -> TraitComparison | None:
        return next((t for t in self.traits if t.question_id == question_id), None)


# -- the pieces -----------------------------------------------------------------------------


def top_customers(customers: Sequence[Customer], share: float = TOP_SHARE) -> list[Customer]:
    """The top ``ceil(share * n)`` customers by revenue (ties by id), at least one."""
    ranked = sorted(customers, key=lambda c: (-c.revenue, c.id))
    k = max(1, math.ceil(share * len(ranked) - 1e-9)) if ranked else 0
    return ranked[:k]


def _staff_result(report: Any, question_id: str) -> Any | None:
    if report is None or getattr(report, "hidden", False):
        return None
    result = next((q for q in report.questions if q.id == question_id), None)
    return None if result is None or result.hidden else result


def revenue_concentration(customers: Sequence[Customer], top: Sequence[Customer], report: Any = None) -> RevenueConcentration:
    total = math.fsum(c.revenue for c in customers)
    top_revenue = math.fsum(c.revenue for c in top)
    share = top_revenue / total if total > 0 else 0.0
    out = RevenueConcentration(customers=len(customers), top_customers=len(top), total_revenue=total,
                               top_revenue=top_revenue, share=share)
    staff = _staff_result(report, REVENUE_SHARE_QUESTION)
    if staff is not None and isinstance(staff.consensus, int | float):
        out.staff_estimate = float(staff.consensus) / 100
        q1, q3 = (staff.details or {}).get("q1"), (staff.details or {}).get("q3")
        out.staff_low = None if q1 is None else float(q1) / 100
        out.staff_high = None if q3 is None else float(q3) / 100
        out.difference = share - out.staff_estimate
    return out


def _label(question: Question, value: Any) -> str:
    if question.kind in (QuestionKind.SINGLE, QuestionKind.MULTI):
        return question.option_label(str(value))
    if question.kind == QuestionKind.SCALE:
        return f"{value} of {question.points}"
    return describe_value(question, value)


def _distribution(question: Question, values: list[Any]) -> tuple[list[ShareOf], Any, float | None]:
    """Shares over the options (multi: share holding each) and the most common answer."""
    n = len(values)
    if not n:
        return [], None, None
    if question.kind == QuestionKind.NUMBER:
        median = statistics.median(float(v) for v in values)
        within = sum(abs(float(v) - median) <= NUMBER_TOLERANCE * abs(median) for v in values)
        return [], median, within / n
    if question.kind == QuestionKind.SCALE:
        keys = [str(p) for p in range(1, (question.points or 2) + 1)]
        counts = Counter(str(v) for v in values)
    else:
        keys = [o.id for o in question.options]
        counts = Counter()
        for v in values:
            counts.update(set(v) if isinstance(v, list) else {v})
    shares = [ShareOf(option=k, label=_label(question, k), count=counts[k], share=counts[k] / n)
              for k in keys if counts[k]]
    best = max(keys, key=lambda k: (counts[k], -keys.index(k)))
    top: Any = int(best) if question.kind == QuestionKind.SCALE else best
    return shares, top, counts[best] / n


def _one_trait_profile(profile: IcpProfile, question_id: str) -> IcpProfile | None:
    trait = profile.trait(question_id)
    if trait is None:
        return None
    return profile.model_copy(update={"traits": [trait], "disqualifiers": [], "disqualifier_question": None})


def _matches(profile: IcpProfile | None, template: Template, question_id: str, value: Any) -> bool | None:
    one = _one_trait_profile(profile, question_id) if profile is not None else None
    if one is None:
        return None
    result = score_fit(one, template, {question_id: value})
    return bool(result.matches)


def compare_traits(top: Sequence[Customer], template: Template, report: Any = None) -> list[TraitComparison]:
    """One comparison per profile trait question that some top customer has a value for."""
    consensus = getattr(report, "profile", None) if report is not None else None
    out: list[TraitComparison] = []
    for question in template.questions:
        if question.role != "trait" or not question.scored or not question.in_profile:
            continue
        values = [c.traits[question.id] for c in top if question.id in c.traits]
        if not values:
            continue
        shares, best, best_share = _distribution(question, values)
        comparison = TraitComparison(
            question_id=question.id, prompt=question.prompt, kind=question.kind, known=len(values),
            top_answer=best, top_answer_label=None if best is None else _label(question, best),
            top_share=best_share, distribution=shares,
        )
        staff = _staff_result(report, question.id)
        if staff is not None:
            comparison.staff_consensus = staff.consensus
            comparison.staff_label = staff.consensus_label
            comparison.staff_share = staff.consensus_share
        hits = [_matches(consensus, template, question.id, v) for v in values]
        if hits and all(h is not None for h in hits):
            comparison.match_index = sum(bool(h) for h in hits) / len(hits)
            comparison.agrees = bool(_matches(consensus, template, question.id,
                                              [best] if question.kind == QuestionKind.MULTI else best))
        out.append(comparison)
    return out


def fit_summary(customers: Sequence[Customer], top: Sequence[Customer], template: Template,
                profile: IcpProfile, source: str) -> FitSummary:
    top_ids = {c.id for c in top}
    fitting: list[Customer] = []
    others: list[Customer] = []
    unknown = 0
    for c in customers:
        known = {k: v for k, v in c.traits.items() if template.has_question(k)}
        result = score_fit(profile, template, known)
        if result.score is None:
            unknown += 1
        elif result.score >= FIT_STRONG:
            fitting.append(c)
        else:
            others.append(c)
    top_fit = [c for c in fitting if c.id in top_ids]
    top_known = sum(1 for c in fitting + others if c.id in top_ids)
    top_revenue = math.fsum(c.revenue for c in top)
    fit_revenue = math.fsum(c.revenue for c in top_fit)
    per_fit = math.fsum(c.revenue for c in fitting) / len(fitting) if fitting else None
    per_other = math.fsum(c.revenue for c in others) / len(others) if others else None
    return FitSummary(
        source=source, top_fitting=len(top_fit), top_known=top_known,
        top_revenue_fitting=fit_revenue,
        top_revenue_share_fitting=fit_revenue / top_revenue if top_revenue > 0 else 0.0,
        fitting=len(fitting), not_fitting=len(others), unknown=unknown,
        revenue_per_fitting=per_fit, revenue_per_not_fitting=per_other,
        lift=per_fit / per_other if per_fit is not None and per_other else None,
    )


# -- personas -------------------------------------------------------------------------------

UNKNOWN = ""


def persona_features(top: Sequence[Customer], template: Template) -> list[Question]:
    """The categorical trait questions (single, multi, scale) known for at least half the top customers."""
    n = len(top)
    return [q for q in template.questions
            if q.role == "trait" and q.kind in (QuestionKind.SINGLE, QuestionKind.MULTI, QuestionKind.SCALE)
            and n and sum(q.id in c.traits for c in top) * 2 >= n]


def _cell(value: Any) -> str:
    if value is None:
        return UNKNOWN
    return ";".join(sorted(value)) if isinstance(value, list) else str(value)


def _silhouette(codes: np.ndarray, labels: np.ndarray) -> float | None:
    from scipy.spatial.distance import pdist, squareform
    from sklearn.metrics import silhouette_score

    if len(set(labels.tolist())) < 2 or len(set(labels.tolist())) >= len(labels):
        return None
    distances = squareform(pdist(codes, metric="hamming"))
    return float(silhouette_score(distances, labels, metric="precomputed"))


def cluster_top(top: Sequence[Customer], features: Sequence[Question], seed: int = 0) -> tuple[list[int], int, float] | None:
    """Cluster labels per top customer, k and silhouette; None when no clustering fits."""
    from kmodes.kmodes import KModes

    rows = [[_cell(c.traits.get(q.id)) for q in features] for c in top]
    distinct = len({tuple(r) for r in rows})
    if not features or distinct < 2:
        return None
    # Integer codes per column for the silhouette's Hamming distance.
    codes = np.array([[sorted({r[j] for r in rows}).index(r[j]) for j in range(len(features))] for r in rows])
    best: tuple[list[int], int, float] | None = None
    for k in PERSONA_KS:
        if k > distinct or len(top) < k * MIN_PERSONA_CUSTOMERS:
            continue
        model = KModes(n_clusters=k, init="Huang", n_init=PERSONA_INITS, random_state=seed)
        labels = np.asarray(model.fit_predict(np.array(rows, dtype=object)))
        if min(Counter(labels.tolist()).values()) < MIN_PERSONA_CUSTOMERS or len(set(labels.tolist())) < k:
            continue
        score = _silhouette(codes, labels)
        if score is None:
            continue
        if best is None or score > best[2] + 1e-12:
            best = (labels.tolist(), k, score)
    return best


def describe_persona(members: Sequence[Customer], features: Sequence[Question], top_revenue: float) -> Persona:
    """A persona from its customers: per feature the most shared answer (multi: option) and its share."""
    n = len(members)
    traits: list[PersonaTrait] = []
    for q in features:
        values = [c.traits[q.id] for c in members if q.id in c.traits]
        counts: Counter[str] = Counter()
        for v in values:
            counts.update(set(v) if isinstance(v, list) else {str(v)})
        if not counts:
            continue
        order = [o.id for o in q.options] if q.options else [str(p) for p in range(1, (q.points or 2) + 1)]
        value = max(counts, key=lambda k: (counts[k], -order.index(k) if k in order else 0))
        share = counts[value] / n
        if share >= DOMINANT_SHARE:
            traits.append(PersonaTrait(question_id=q.id, prompt=q.prompt, value=value,
                                       label=_label(q, int(value) if q.kind == QuestionKind.SCALE else value),
                                       share=share))
    traits.sort(key=lambda t: -t.share)  # stable: template order on ties
    revenue = math.fsum(c.revenue for c in members)
    name = " · ".join(t.label for t in traits[:3]) or "mixed"
    return Persona(name=name, customers=n, revenue=revenue,
                   revenue_share=revenue / top_revenue if top_revenue > 0 else 0.0,
                   revenue_per_account=revenue / n, traits=traits)


def personas_of(top: Sequence[Customer], template: Template, seed: int = 0) -> tuple[list[Persona], str | None]:
    features = persona_features(top, template)
    clustered = cluster_top(top, features, seed)
    if clustered is None:
        return [], None
    labels, k, score = clustered
    top_revenue = math.fsum(c.revenue for c in top)
    groups: dict[int, list[Customer]] = {}
    for customer, label in zip(top, labels, strict=True):
        groups.setdefault(label, []).append(customer)
    personas = [describe_persona(members, features, top_revenue) for members in groups.values()]
    personas.sort(key=lambda p: (-p.revenue, p.name))
    method = (f"k-modes, k={k}, silhouette {score:.2f} on the Hamming distance, over "
              f"{', '.join(q.id for q in features)}")
    return personas, method


# -- all of it ------------------------------------------------------------------------------


def clean_customers(customers: Sequence[Customer], template: Template) -> list[Customer]:
    """The customers with only the traits that fit ``template`` as it is now: a list stored
    under an older template version (or another template) may hold options since removed."""
    cleaners = {q.id: answer_cleaner(q) for q in template.questions if q.role == "trait"}
    out = []
    for c in customers:
        traits = {k: cleaners[k](v) for k, v in c.traits.items() if k in cleaners}
        out.append(c.model_copy(update={"traits": {k: v for k, v in traits.items() if v is not None}}))
    return out


def reality_for(
    report: Any,
    template: Template,
    customers: Sequence[Customer],
    profile: IcpProfile | None = None,
    *,
    seed: int = 0,
) -> RealityComparison:
    """The "Perception and reality" comparison of a round's report and a customer list.

    ``report`` is an ``AlignmentReport`` (or None: the customers alone); ``profile`` the
    ratified ICP (default: the report's consensus profile) that fit is measured against.
    """
    customers = clean_customers(customers, template)
    top = top_customers(customers)
    comparison = RealityComparison(
        customers=len(customers), top_customers=len(top),
        revenue_concentration=revenue_concentration(customers, top, report),
        traits=compare_traits(top, template, report),
    )
    icp = profile if profile is not None else getattr(report, "profile", None)
    if icp is not None and icp.traits:
        source = f"ratified ICP v{icp.version}" if profile is not None and icp.version else (
            "ratified ICP" if profile is not None else "the staff's consensus profile")
        comparison.fit = fit_summary(customers, top, template, icp, source)
    comparison.personas, comparison.persona_method = personas_of(top, template, seed)
    gaps = [t for t in comparison.traits if t.match_index is not None]
    if gaps:
        comparison.largest_gap = min(gaps, key=lambda t: t.match_index).question_id  # type: ignore[arg-type, return-value]
    return comparison
