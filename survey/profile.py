"""The ratified ICP: a versioned profile, and how well a prospect fits it.

A profile holds one chosen answer per trait (taken from a round's consensus, then edited by
a leader before ratifying) and the disqualifiers: signs of a customer to walk away from.

Fit rules, per trait the prospect describes (traits left blank are "unknown" and do not
count either way):

- single: the prospect's option is the profile's option;
- multi: the prospect shares at least one option with the profile (e.g. its industry is one
  of the ideal industries);
- scale: within one point of the profile's value;
- number: inside the profile's range, the interquartile range of the round's answers widened
  to at least -25%/+25% around the median.

score = 100 * (weight of matching traits) / (weight of traits known), rounded. Any
disqualifier the prospect shows sets the score to 0 and the verdict to "walk away": the
literature's "customers from hell" are not worth a partial fit.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from survey.answer_labels import format_number, rounded_median, scale_side, with_unit
from survey.answers import AnswerError, AnswersInvalid, parse_answer
from survey.template import Question, QuestionKind, Template

FIT_STRONG = 70
FIT_PARTIAL = 40
NUMBER_TOLERANCE = 0.25


class ProfileTrait(BaseModel):
    """The agreed answer to one trait question."""

    question_id: str
    kind: QuestionKind
    prompt: str
    value: str | list[str] | int | float
    low: float | None = None
    high: float | None = None
    weight: float = 1.0


class IcpProfile(BaseModel):
    """An ICP: the chosen answer per trait and the walk-away signs."""

    template_id: str
    version: int | None = None
    traits: list[ProfileTrait] = Field(default_factory=list)
    disqualifier_question: str | None = None
    disqualifiers: list[str] = Field(default_factory=list)
    summary: str | None = Field(default=None, max_length=500)
    source_round_id: int | None = None
    ratified_by: str | None = None
    ratified_at: datetime | None = None

    def trait(self, question_id: str) -> ProfileTrait | None:
        return next((t for t in self.traits if t.question_id == question_id), None)


def describe_value(question: Question, value: Any, low: float | None = None, high: float | None = None,
                   *, range_word: str = "middle half") -> str:
    """A value as a person reads it, worded as the report words it: option labels,
    "4 of 5 (Early adopter side)", "50,000 USD (middle half 30,000-80,000)" (``range_word``
    "range" for a fit check's widened range)."""
    if value is None:
        return "-"
    if question.kind == QuestionKind.SINGLE:
        return question.option_label(str(value))
    if question.kind == QuestionKind.MULTI:
        return "; ".join(question.option_label(v) for v in value) or "-"
    if question.kind == QuestionKind.SCALE:
        point = float(value)
        return f"{format_number(point)} of {question.points} ({scale_side(question, point)})"
    if question.kind == QuestionKind.NUMBER:
        text = with_unit(question, float(value))
        if low is not None and high is not None and (low, high) != (value, value):
            text += f" ({range_word} {format_number(low)}-{format_number(high)})"
        return text
    return str(value)


def profile_from_report(report: Any, template: Template) -> IcpProfile:
    """The consensus profile of a round's report (an ``AlignmentReport``).

    A trait enters when its question is scored, meant for the profile (``in_profile``),
    visible under anonymity and has a consensus (a multi question needs a majority option).
    """
    traits: list[ProfileTrait] = []
    disqualifier_question: str | None = None
    disqualifiers: list[str] = []
    for result in report.questions:
        if not template.has_question(result.id):
            continue
        question = template.question(result.id)
        if not question.scored or not question.in_profile or result.hidden or result.consensus in (None, []):
            continue
        if question.role == "disqualifier":
            disqualifier_question = question.id
            disqualifiers = list(result.consensus)
            continue
        value = result.consensus
        low = high = None
        if question.kind == QuestionKind.SCALE:
            value = rounded_median(float(value))  # as the report's consensus label
        elif question.kind == QuestionKind.NUMBER:
            details = result.details or {}
            low, high = details.get("q1"), details.get("q3")
        traits.append(
            ProfileTrait(
                question_id=question.id,
                kind=question.kind,
                prompt=question.prompt,
                value=value,
                low=low,
                high=high,
                weight=question.weight,
            )
        )
    return IcpProfile(
        template_id=template.id,
        traits=traits,
        disqualifier_question=disqualifier_question,
        disqualifiers=disqualifiers,
    )


def edit_profile(profile: IcpProfile, template: Template, edits: Mapping[str, Any]) -> IcpProfile:
    """Apply a leader's edits (question id -> raw value; blank removes the trait).

    Values are validated like answers; every fault is raised at once as AnswersInvalid.
    """
    errors: dict[str, str] = {}
    traits = {t.question_id: t for t in profile.traits}
    disqualifiers = list(profile.disqualifiers)
    disqualifier_question = profile.disqualifier_question
    for question_id, raw in edits.items():
        if not template.has_question(question_id):
            errors[question_id] = "is not a question of this template"
            continue
        question = template.question(question_id)
        try:
            value = parse_answer(question, raw)
        except AnswerError as exc:
            errors[question_id] = exc.message
            continue
        if question.role == "disqualifier":
            disqualifier_question = question.id
            disqualifiers = list(value or [])
            continue
        if not question.scored or not question.in_profile:
            errors[question_id] = "is not a trait of the profile"
            continue
        if value is None:
            traits.pop(question_id, None)
            continue
        old = traits.get(question_id)
        keep_range = old is not None and old.value == value
        traits[question_id] = ProfileTrait(
            question_id=question.id,
            kind=question.kind,
            prompt=question.prompt,
            value=value,
            low=old.low if keep_range else None,
            high=old.high if keep_range else None,
            weight=question.weight,
        )
    if errors:
        raise AnswersInvalid(errors)
    order = {q.id: i for i, q in enumerate(template.questions)}
    return profile.model_copy(
        update={
            "traits": sorted(traits.values(), key=lambda t: order.get(t.question_id, 0)),
            "disqualifiers": disqualifiers,
            "disqualifier_question": disqualifier_question,
        }
    )


class TraitCheck(BaseModel):
    question_id: str
    prompt: str
    expected: str
    actual: str
    matched: bool


class FitResult(BaseModel):
    """Why a prospect fits or not: the score, the traits that match and miss, red flags."""

    score: int | None
    match_score: int | None = Field(description="the trait score before disqualifiers")
    verdict: Literal["strong fit", "partial fit", "poor fit", "walk away", "unknown"]
    matches: list[TraitCheck] = Field(default_factory=list)
    misses: list[TraitCheck] = Field(default_factory=list)
    unknown: list[str] = Field(default_factory=list)
    disqualifiers_hit: list[str] = Field(default_factory=list)


def _number_range(trait: ProfileTrait) -> tuple[float, float]:
    median = float(trait.value)  # type: ignore[arg-type]
    low = median * (1 - NUMBER_TOLERANCE)
    high = median * (1 + NUMBER_TOLERANCE)
    if trait.low is not None:
        low = min(low, trait.low)
    if trait.high is not None:
        high = max(high, trait.high)
    return min(low, high), max(low, high)


def _matches(trait: ProfileTrait, value: Any) -> bool:
    if trait.kind == QuestionKind.SINGLE:
        return value == trait.value
    if trait.kind == QuestionKind.MULTI:
        return bool(set(value) & set(trait.value))  # type: ignore[arg-type]
    if trait.kind == QuestionKind.SCALE:
        return abs(int(value) - int(trait.value)) <= 1  # type: ignore[arg-type]
    low, high = _number_range(trait)
    return low <= float(value) <= high


PROSPECT_NUMBER_MAX = 1e15  # a prospect's figure is a fact: the survey's upper bound does not apply


def _as_fact(question: Question) -> Question:
    """A prospect's trait is a fact, not a survey answer: no cap on how many options apply
    (walk-away signs, industries) and no upper bound on a number."""
    update: dict = {"max_choices": None}
    if question.kind == QuestionKind.NUMBER:
        update["max"] = max(question.max or 0.0, PROSPECT_NUMBER_MAX)
    return question.model_copy(update=update)


def score_fit(profile: IcpProfile, template: Template, prospect: Mapping[str, Any]) -> FitResult:
    """Score a prospect (question id -> raw value, as a respondent would answer) against a profile.

    Raises AnswersInvalid naming each value that the template would not accept.
    """
    errors: dict[str, str] = {}
    values: dict[str, Any] = {}
    for question_id, raw in prospect.items():
        if not template.has_question(question_id):
            errors[question_id] = "is not a trait of this profile's template"
            continue
        try:
            value = parse_answer(_as_fact(template.question(question_id)), raw)
        except AnswerError as exc:
            errors[question_id] = exc.message
            continue
        if value is not None:
            values[question_id] = value
    if errors:
        raise AnswersInvalid(errors)

    matches: list[TraitCheck] = []
    misses: list[TraitCheck] = []
    unknown: list[str] = []
    matched_weight = known_weight = 0.0
    for trait in profile.traits:
        question = template.question(trait.question_id)
        if trait.question_id not in values:
            unknown.append(question.prompt)
            continue
        value = values[trait.question_id]
        low, high = _number_range(trait) if trait.kind == QuestionKind.NUMBER else (None, None)
        check = TraitCheck(
            question_id=trait.question_id,
            prompt=question.prompt,
            expected=describe_value(question, trait.value, low, high, range_word="range"),
            actual=describe_value(question, value),
            matched=_matches(trait, value),
        )
        known_weight += trait.weight
        if check.matched:
            matched_weight += trait.weight
            matches.append(check)
        else:
            misses.append(check)

    hit: list[str] = []
    if profile.disqualifier_question and profile.disqualifier_question in values:
        question = template.question(profile.disqualifier_question)
        shown = set(values[profile.disqualifier_question])
        hit = [question.option_label(d) for d in profile.disqualifiers if d in shown]

    match_score = round(100 * matched_weight / known_weight) if known_weight > 0 else None
    if hit:
        return FitResult(score=0, match_score=match_score, verdict="walk away", matches=matches,
                         misses=misses, unknown=unknown, disqualifiers_hit=hit)
    if match_score is None:
        verdict = "unknown"
    elif match_score >= FIT_STRONG:
        verdict = "strong fit"
    elif match_score >= FIT_PARTIAL:
        verdict = "partial fit"
    else:
        verdict = "poor fit"
    return FitResult(score=match_score, match_score=match_score, verdict=verdict, matches=matches,
                     misses=misses, unknown=unknown, disqualifiers_hit=[])
