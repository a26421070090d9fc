"""How answers are written for people: numbers with their unit, scale points, consensus labels."""

from __future__ import annotations

import math

from survey.agreement import ItemAgreement
from survey.template import Question, QuestionKind


def format_number(x: float) -> str:
    """``1,234`` for large or whole numbers, else at most two decimals without trailing zeros."""
    if abs(x) >= 100 or float(x).is_integer():
        return f"{x:,.0f}"
    return f"{x:,.2f}".rstrip("0").rstrip(".")


def with_unit(question: Question, x: float) -> str:
    """A number answer with the question's unit ("40%", "30,000 USD")."""
    unit = question.unit or ""
    if not unit:
        return format_number(x)
    return f"{format_number(x)}{unit}" if unit == "%" else f"{format_number(x)} {unit}"


def scale_point(question: Question, x: float) -> str:
    """A point of a scale question ("4 of 5")."""
    return f"{format_number(x)} of {question.points}"


def rounded_median(x: float) -> int:
    """The scale point a median stands for: halves round up (2.5 -> 3), as the ICP profile keeps it."""
    return math.floor(float(x) + 0.5)


def scale_side(question: Question, point: float) -> str:
    """Which end of the scale a point leans to: "Early adopter side", "midpoint"."""
    mid = ((question.points or 2) + 1) / 2
    if point > mid:
        return f"{question.high_label} side"
    if point < mid:
        return f"{question.low_label} side"
    return "midpoint"


def scale_consensus(question: Question, median: float) -> str:
    """A scale consensus in words, the same in the report and the profile: "3 of 5 (Early adopter side)"."""
    point = rounded_median(median)
    return f"{scale_point(question, point)} ({scale_side(question, point)})"


def middle_half(question: Question, q1: float, q3: float) -> str:
    """The middle half of number answers (Q1 to Q3), worded the same everywhere."""
    return f"middle half {format_number(q1)}-{format_number(q3)}"


def consensus_label(question: Question, item: ItemAgreement) -> str | None:
    """The consensus answer in words: the modal option(s), the majority's options, the
    median scale point and its side, or the median number with its IQR."""
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
        return scale_consensus(question, float(item.consensus or 0))
    q1, q3 = item.details.get("q1"), item.details.get("q3")
    spread = f" ({middle_half(question, q1, q3)})" if q1 is not None and q3 is not None else ""
    return f"{with_unit(question, float(item.consensus or 0))}{spread}"
