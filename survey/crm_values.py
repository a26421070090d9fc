"""A CRM cell as an answer to a question: mapped values, option ids and labels, and numbers
into the option whose band holds them ("250" employees is the option "201-1000")."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from datetime import date, datetime

from survey.answers import AnswerError, AnswerValue, parse_answer, parse_number
from survey.crm_vocabulary import BUILTIN_VALUES, squeeze
from survey.template import Question, QuestionKind

_RANGE_RE = re.compile(r"(\d[\d,]*)\s*(?:-|–|to)\s*(\d[\d,]*)")
_ABOVE_RE = re.compile(r"(?:more than|over|above)\s*(\d[\d,]*)|(\d[\d,]*)\s*(?:\+|-?plus|or more)")
_BELOW_RE = re.compile(r"(?:fewer than|less than|under|below)\s*(\d[\d,]*)|(?:up to)\s*(\d[\d,]*)")


def option_bands(question: Question) -> list[tuple[str, float, float]]:
    """Numeric bands read from a single question's option labels (or ids): "51-200 employees"
    is [51, 200], "More than 5000" is (5000, inf), "5000+" is [5000, inf), "Up to 10" [0, 10]."""
    bands: list[tuple[str, float, float]] = []
    for option in question.options:
        for text in (option.label.casefold(), option.id.casefold()):
            if m := _RANGE_RE.search(text):
                bands.append((option.id, float(m.group(1).replace(",", "")), float(m.group(2).replace(",", ""))))
                break
            if m := _ABOVE_RE.search(text):
                if m.group(1):  # "more than N" excludes N
                    bands.append((option.id, math.nextafter(float(m.group(1).replace(",", "")), math.inf), math.inf))
                else:
                    bands.append((option.id, float(m.group(2).replace(",", "")), math.inf))
                break
            if m := _BELOW_RE.search(text):
                if m.group(1):
                    bands.append((option.id, 0.0, math.nextafter(float(m.group(1).replace(",", "")), -math.inf)))
                else:
                    bands.append((option.id, 0.0, float(m.group(2).replace(",", ""))))
                break
    return bands


def band_of(question: Question, number: float) -> str | None:
    """The option whose band holds ``number`` (the first, if bands overlap), None if none."""
    for option_id, low, high in option_bands(question):
        if low <= number <= high:
            return option_id
    return None


_NUMERIC_RE = re.compile(r"^\s*[-+]?[\d,]+(?:\.\d+)?\s*[kKmM]?\s*$")


class UnmappedValue(Exception):
    """A value that maps to no option: the trait stays unknown, with a warning."""


def to_answer(question: Question, raw: str, values: Mapping[str, list[str]] | None = None) -> AnswerValue | None:
    """A CRM cell as an answer to ``question``: mapped values first, then the question's own
    option ids and labels, then, for a single question with numeric bands, the band of a number.

    Raises ``AnswerError`` for a malformed value, ``UnmappedValue`` for one that maps to nothing.
    """
    text = raw.strip()
    if not text:
        return None
    table = {**BUILTIN_VALUES.get(question.id, {}), **(values or {})}
    kind = question.kind
    if kind in (QuestionKind.SINGLE, QuestionKind.MULTI):
        parts = [p for p in (text.split(";") if kind == QuestionKind.MULTI else [text]) if p.strip()]
        chosen: list[str] = []
        for part in parts:
            hit = table.get(squeeze(part))
            if hit is not None:
                chosen.extend([hit] if isinstance(hit, str) else hit)
                continue
            if kind == QuestionKind.SINGLE and _NUMERIC_RE.match(part) and option_bands(question):
                # A count goes to its band before any option is matched: squeezed, 110 would
                # read as the option "1-10".
                number = parse_number(question.id, part)
                if number < 0:
                    raise AnswerError(question.id, f"'{part}' is below 0")
                band = band_of(question, number)
                if band is None:
                    raise UnmappedValue(part)
                chosen.append(band)
                continue
            try:
                value = parse_answer(question, part)
            except AnswerError:
                raise UnmappedValue(part) from None
            chosen.extend(value if isinstance(value, list) else [value])  # type: ignore[list-item]
        if kind == QuestionKind.SINGLE:
            if len(set(chosen)) != 1:
                raise AnswerError(question.id, f"'{text[:60]}' maps to {len(set(chosen))} options, one is needed")
            return chosen[0]
        return parse_answer(question, sorted(set(chosen)))
    return parse_answer(question, text)


def parse_date(text: str) -> date | None:
    """ISO dates and datetimes (HubSpot: ``2024-03-01 10:15``), or month/day/year (US exports)."""
    text = text.strip()
    if not text:
        return None
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00")).date()
    except ValueError:
        pass
    for fmt in ("%m/%d/%Y", "%m/%d/%Y %H:%M", "%m/%d/%Y %I:%M %p", "%d.%m.%Y"):
        try:
            return datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    raise ValueError(f"'{text[:30]}' is not a date (use 2024-03-01)")


def parse_money(text: str) -> float | None:
    text = text.strip()
    if not text:
        return None
    text = re.sub(r"^(USD|EUR|GBP|CHF|CAD|AUD)\s*", "", text, flags=re.IGNORECASE)
    value = parse_number("revenue", text)
    if value < 0:
        raise AnswerError("revenue", f"'{text}' is below 0")
    return value
