"""The answers of one question across a round's respondents, cleaned against the template.

``collect_answers`` keeps, for one question, the answers that fit it (in canonical form)
and the row of each respondent who gave one; ``summarize`` computes the question's
agreement index and consensus (``survey.agreement``) on those answers. The report, the
team splits, the text summaries and the score bootstrap all read this one column.

Answers that do not fit the template (an unknown option, a value out of range, an empty
set, a non-finite number) are dropped as if unanswered.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from survey.agreement import (
    ItemAgreement,
    multi_agreement,
    number_agreement,
    scale_agreement,
    single_agreement,
)
from survey.answers import AnswerValue, Response
from survey.template import Question, QuestionKind


def answer_cleaner(question: Question) -> Callable[[AnswerValue | None], AnswerValue | None]:
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
class QuestionAnswers:
    """One question's answers: ``values[k]`` was given by respondent ``rows[k]``; a multi
    question's answer is a tuple of option ids (in option order), one tuple shared by everyone
    who chose the same set, so that counting sets needs no conversion per answer."""

    question: Question
    rows: np.ndarray  # respondent indices (into the sorted respondent list)
    values: list
    item: ItemAgreement | None = None


def collect_answers(question: Question, responses: Sequence[Response]) -> QuestionAnswers:
    """The answers to ``question`` that fit it, with the index of each respondent in ``responses``.

    The canonical values a spreadsheet or the survey stored (an option id, a scale point as an
    int, a float) are taken as they are; anything else goes through ``answer_cleaner``."""
    qid = question.id
    given = [(i, v) for i, r in enumerate(responses) if (v := r.answers.get(qid)) is not None]
    return collect_column(question, [i for i, _ in given], [v for _, v in given])


def collect_column(question: Question, rows: Sequence[int], values: Sequence) -> QuestionAnswers:
    """``collect_answers`` of one question's column: ``values[k]`` given by respondent ``rows[k]``
    (None: unanswered). A value already in canonical form (``canonical``) is kept as it is, a
    multiple-choice answer is cleaned once per distinct set, anything else goes through
    ``answer_cleaner``."""
    every = _all_canonical(question, values)
    if every is not None:
        return QuestionAnswers(question, np.asarray(rows, dtype=np.int64), every)
    clean = answer_cleaner(question)
    canonical = _canonical(question)
    by_distinct = _clean_distinct(question, values, clean, canonical)
    if by_distinct is not None:
        return QuestionAnswers(question, np.asarray(rows, dtype=np.int64)[by_distinct[0]], by_distinct[1])
    kept_rows, kept = [], []
    sets: dict[tuple, list | None] = {}
    multi = question.kind == QuestionKind.MULTI
    for i, v in zip(rows, values, strict=True):
        if v is None:
            continue
        fit = canonical(v)
        if fit is None:
            if multi and type(v) is list:
                key = tuple(v)
                if key not in sets:
                    cleaned = clean(v)
                    sets[key] = None if cleaned is None else tuple(cleaned)
                v = sets[key]
            else:
                v = clean(v)
                if multi and v is not None:
                    v = tuple(v)
            if v is None:
                continue
        elif not fit:
            continue
        kept_rows.append(i)
        kept.append(v)
    return QuestionAnswers(question, np.asarray(kept_rows, dtype=np.int64), kept)


def _clean_distinct(question: Question, values: Sequence, clean: Callable, canonical: Callable
                    ) -> tuple[np.ndarray, list] | None:
    """(kept positions, kept values) of ``collect_column``'s loop, deciding once per distinct
    value: for a column of one value type (None aside; multi: lists), where equal values are
    cleaned alike. None when the column is mixed (1, 1.0 and True are equal keys but clean
    apart)."""
    types = set(map(type, values))
    multi = question.kind == QuestionKind.MULTI
    if multi:
        if types != {list}:
            return None
        keys: Sequence = list(map(tuple, values))
    else:
        types.discard(type(None))
        if len(types) != 1 or not types <= {str, int, float}:
            return None
        keys = values
    decided: dict = {}
    for key in set(keys):
        if key is None:
            decided[key] = None
            continue
        value = list(key) if multi else key
        fit = canonical(value)
        decided[key] = clean(value) if fit is None else (value if fit else None)
        if multi and decided[key] is not None:
            decided[key] = tuple(decided[key])  # one shared tuple per distinct set
    kept = list(map(decided.__getitem__, keys))
    if all(v is not None for v in decided.values()):  # per distinct value, not per answer
        return np.arange(len(kept)), kept
    keep = [i for i, v in enumerate(kept) if v is not None]
    return np.asarray(keep, dtype=np.int64), [kept[i] for i in keep]


def _all_canonical(question: Question, values: Sequence) -> list | None:
    """The kept values when every one of a single, scale or number column is already canonical
    and fits (what the spreadsheet reader gives), checked per distinct value, not per answer;
    None when some must go through the loop of ``collect_column``."""
    kind = question.kind
    if not values or kind not in (QuestionKind.SINGLE, QuestionKind.SCALE, QuestionKind.NUMBER):
        return None
    types = set(map(type, values))
    if len(types) != 1:
        return None
    kind_of = types.pop()
    distinct = set(values)
    if kind == QuestionKind.SINGLE:
        fits = kind_of is str and distinct <= frozenset(o.id for o in question.options)
        return list(values) if fits else None
    if kind == QuestionKind.SCALE:
        points = question.points or 0
        return list(values) if kind_of is int and all(1 <= v <= points for v in distinct) else None
    if kind_of is float and all(map(math.isfinite, distinct)):
        return list(values)
    if kind_of is int and all(abs(v) < 2**63 for v in distinct):  # answer_cleaner's float(value)
        return list(map(float, values))
    return None


def _canonical(question: Question) -> Callable[[object], bool | None]:
    """True when a value is canonical and fits ``question``, False when it is canonical and does
    not fit (dropped), None when ``answer_cleaner`` must decide."""
    kind = question.kind
    if kind == QuestionKind.SINGLE:
        option_ids = frozenset(o.id for o in question.options)
        return lambda v: (v in option_ids) if type(v) is str else None
    if kind == QuestionKind.SCALE:
        points = question.points or 0
        return lambda v: (1 <= v <= points) if type(v) is int else None  # type: ignore[operator]
    if kind == QuestionKind.NUMBER:
        return lambda v: math.isfinite(v) if type(v) is float else None  # type: ignore[arg-type]
    return lambda v: None


def summarize(question: Question, values: list, seed: int) -> ItemAgreement:
    """The agreement index and consensus of a closed (non-text) question's answers."""
    kind = question.kind
    option_ids = [o.id for o in question.options]
    if kind == QuestionKind.SINGLE:
        return single_agreement(values, option_ids)
    if kind == QuestionKind.MULTI:
        return multi_agreement(values, option_ids, seed=seed)
    if kind == QuestionKind.SCALE:
        return scale_agreement(values, question.points or 2)
    return number_agreement(values, question.number_resolution)
