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
    """One question's answers: ``values[k]`` was given by respondent ``rows[k]``."""

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
    (None: unanswered). A multiple-choice answer is cleaned once per distinct set."""
    kept_rows, kept = [], []
    clean = answer_cleaner(question)
    kind = question.kind
    option_ids = frozenset(o.id for o in question.options)
    points = question.points or 0
    sets: dict[tuple, list | None] = {}
    for i, v in zip(rows, values, strict=True):
        if v is None:
            continue
        t = type(v)
        if kind == QuestionKind.SINGLE and t is str:
            if v not in option_ids:
                continue
        elif kind == QuestionKind.SCALE and t is int:
            if not 1 <= v <= points:
                continue
        elif kind == QuestionKind.NUMBER and t is float:
            if not math.isfinite(v):
                continue
        elif kind == QuestionKind.MULTI and t is list:
            key = tuple(v)
            if key not in sets:
                sets[key] = clean(v)
            v = sets[key]
            if v is None:
                continue
        else:
            v = clean(v)
            if v is None:
                continue
        kept_rows.append(i)
        kept.append(v)
    return QuestionAnswers(question, np.asarray(kept_rows, dtype=np.int64), kept)


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
