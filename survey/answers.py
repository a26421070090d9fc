"""Answers: one respondent's answers, validated against a template.

Raw values come from a Slack modal, a CSV cell or a test; they are coerced to one canonical
type per question kind and rejected with a message fit to show the person who typed them:

=========  ===================  ================================================
kind       canonical value      accepted raw forms
=========  ===================  ================================================
single     option id (str)      option id or label (any case, spacing and
                                punctuation aside)
multi      sorted option ids    list, or "a;b" with ids or labels
scale      int in 1..points     int, "4", "4 - Early adopter", an end label
number     float (int if        number, "50,000", "$50k", "1.5m", "12%",
           ``integer``)         "5E+06", "1.5e3"
text       stripped str         str up to ``max_length``
=========  ===================  ================================================

A raw value of the wrong type (a dict or a number for a text answer, a dict for a choice) and
a text with a character no database column or export can hold (NUL, or a lone UTF-16
surrogate such as a JSON ``"\\ud800"``) are refused with a message naming the fault, never
stored: a signed payload can carry any JSON value.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from survey.template import Question, QuestionKind, Template

AnswerValue = str | int | float | list[str]


class AnswerError(ValueError):
    """One answer that cannot be accepted; ``message`` is written for the respondent."""

    def __init__(self, question_id: str, message: str):
        self.question_id = question_id
        self.message = message
        super().__init__(f"{question_id}: {message}")


class AnswersInvalid(ValueError):
    """Several answers rejected at once: ``errors`` maps question id to message."""

    def __init__(self, errors: dict[str, str]):
        self.errors = errors
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))


class Response(BaseModel):
    """One respondent's validated answers to one template."""

    model_config = ConfigDict(frozen=True)

    respondent: str = Field(min_length=1)
    team: str | None = None
    answers: dict[str, AnswerValue] = Field(default_factory=dict)


def _is_blank(raw: Any) -> bool:
    if raw is None:
        return True
    if isinstance(raw, str) and not raw.strip():
        return True
    if isinstance(raw, (list, tuple, set)) and not raw:
        return True
    return isinstance(raw, float) and math.isnan(raw)


_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")  # PostgreSQL refuses NUL in text and jsonb; UTF-8 has no surrogates


def unstorable_character(text: str) -> str | None:
    """``U+XXXX`` of the first character of ``text`` that is refused (see the module docstring)."""
    match = _UNSTORABLE.search(text)
    return None if match is None else f"U+{ord(match.group()):04X}"


def printable(text: str) -> str:
    """``text`` with every refused character replaced by U+FFFD: for echoing a bad value in a
    message, and for writing a value stored before these checks (an export never fails)."""
    return _UNSTORABLE.sub("\ufffd", text)


def _check_text(question_id: str, text: str) -> str:
    bad = unstorable_character(text)
    if bad is not None:
        raise AnswerError(question_id, f"contains a character that cannot be saved ({bad}); please retype it")
    return text


_SCALARS = (str, int, float)
_WRONG_TYPE = {QuestionKind.TEXT: "must be text", QuestionKind.NUMBER: "must be a number",
               QuestionKind.SCALE: "must be a number"}


def _check_type(question: Question, raw: Any) -> Any:
    """``raw`` if its type can be an answer to ``question``; strings are checked for characters."""
    qid = question.id
    wrong = AnswerError(qid, _WRONG_TYPE.get(question.kind, "must be one of the options"))
    choice = question.kind in (QuestionKind.SINGLE, QuestionKind.MULTI)
    if isinstance(raw, (list, tuple, set)) and choice:
        for item in raw:
            if isinstance(item, bool) or not isinstance(item, _SCALARS):
                raise wrong
            if isinstance(item, str):
                _check_text(qid, item)
        return raw
    if isinstance(raw, bool) or not isinstance(raw, _SCALARS):
        raise wrong
    if question.kind == QuestionKind.TEXT and not isinstance(raw, str):
        raise wrong
    return _check_text(qid, raw) if isinstance(raw, str) else raw


def _squeeze(text: str) -> str:
    return re.sub(r"[\W_]+", "", text.casefold())


_SCALE_POINT_RE = re.compile(r"^\s*(\d+)\s*[-–—:)]\s*\S")


def _scale_point(question: Question, raw: Any) -> float:
    """A scale answer: a number, or "4 - Early adopter" as the survey's own option reads, or an
    end label ("Early adopter" is the top of the scale)."""
    if isinstance(raw, str):
        match = _SCALE_POINT_RE.match(raw)
        if match:
            return float(match.group(1))
        if question.low_label and _squeeze(raw) == _squeeze(question.low_label):
            return 1.0
        if question.high_label and _squeeze(raw) == _squeeze(question.high_label):
            return float(question.points or 0)
    return parse_number(question.id, raw)


def _match_option(question: Question, raw: str) -> str:
    text = raw.strip()
    for opt in question.options:
        if text == opt.id:
            return opt.id
    lowered = text.casefold()
    for opt in question.options:
        if lowered in (opt.id.casefold(), opt.label.casefold()):
            return opt.id
    # "Software/SaaS" for "Software / SaaS", "51 - 200" for "51-200": spacing and punctuation aside
    squeezed = _squeeze(text)
    matches = [o.id for o in question.options if squeezed in (_squeeze(o.id), _squeeze(o.label))]
    if len(matches) == 1:
        return matches[0]
    choices = ", ".join(o.label for o in question.options[:6])
    more = ", ..." if len(question.options) > 6 else ""
    raise AnswerError(question.id, f"'{text[:60]}' is not one of the options ({choices}{more})")


_NUMBER_RE = re.compile(r"^([-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?)\s*([kKmMbB]?)\s*%?$")
_MULTIPLIERS = {"": 1, "k": 1e3, "m": 1e6, "b": 1e9}


def parse_number(question_id: str, raw: Any) -> float:
    """A number from a user's text: thousands separators (comma, space, underscore), a currency
    sign, a k/m/b suffix, scientific notation as spreadsheets write it (``5E+06``, ``1.5e3``).
    The decimal separator is the point; ``survey.spreadsheet`` converts decimal-comma files."""
    if type(raw) is str and raw.isascii() and raw.isdigit():  # "25000": the regex would read the same
        value = float(raw)
    elif isinstance(raw, bool):
        raise AnswerError(question_id, "must be a number")
    elif isinstance(raw, (int, float)):
        value = float(raw)
    else:
        text = str(raw).strip().replace(",", "").replace("_", "").replace(" ", "")
        text = text.replace("\u00a0", "").replace("\u202f", "")
        text = text.lstrip("$€£¥")
        match = _NUMBER_RE.match(text)
        if not match:
            raise AnswerError(question_id, f"'{str(raw)[:40]}' is not a number")
        value = float(match.group(1)) * _MULTIPLIERS[match.group(2).lower()]
    if not math.isfinite(value):
        raise AnswerError(question_id, "must be a finite number")
    return value


def _format_bound(question: Question, value: float) -> str:
    text = f"{value:,.0f}" if float(value).is_integer() else f"{value:,}"
    if not question.unit:
        return text
    return f"{text}{question.unit}" if question.unit == "%" else f"{text} {question.unit}"


def parse_answer(question: Question, raw: Any) -> AnswerValue | None:
    """Validate one raw value; None when blank (the caller decides if that is allowed)."""
    if _is_blank(raw):
        return None
    raw = _check_type(question, raw)
    qid = question.id
    kind = question.kind
    if kind == QuestionKind.SINGLE:
        if isinstance(raw, (list, tuple)):
            if len(raw) != 1:
                raise AnswerError(qid, "choose exactly one option")
            raw = raw[0]
        return _match_option(question, str(raw))
    if kind == QuestionKind.MULTI:
        items = raw.split(";") if isinstance(raw, str) else list(raw) if isinstance(raw, (list, tuple, set)) else [raw]
        chosen = sorted({_match_option(question, str(i)) for i in items if str(i).strip()})
        if not chosen:
            return None
        if question.max_choices and len(chosen) > question.max_choices:
            raise AnswerError(qid, f"choose at most {question.max_choices} options ({len(chosen)} chosen)")
        return chosen
    if kind == QuestionKind.SCALE:
        value = _scale_point(question, raw)
        points = question.points or 0
        if not value.is_integer() or not 1 <= value <= points:
            raise AnswerError(qid, f"must be a whole number from 1 to {points}")
        return int(value)
    if kind == QuestionKind.NUMBER:
        value = parse_number(qid, raw)
        assert question.min is not None and question.max is not None
        if question.integer and not value.is_integer():
            raise AnswerError(qid, "must be a whole number")
        if not question.min <= value <= question.max:
            raise AnswerError(
                qid,
                f"must be between {_format_bound(question, question.min)} and "
                f"{_format_bound(question, question.max)}",
            )
        return int(value) if question.integer else value
    text = str(raw).strip()
    limit = question.max_length or 500
    if len(text) > limit:
        raise AnswerError(qid, f"must be at most {limit} characters ({len(text)} given)")
    return text


def is_shown(question: Question, answers: Mapping[str, Any]) -> bool:
    """Whether ``question`` is asked, given the (canonical) answers known so far.

    Every ``show_if`` condition must hold: the answer to the question it names is one of the
    listed options (for a multi answer, any of its options). An unanswered deciding question
    hides the question: nothing is asked that may not apply.
    """
    for ref, option_ids in (question.show_if or {}).items():
        value = answers.get(ref)
        chosen = set(value) if isinstance(value, (list, tuple, set)) else {value}
        if not chosen & set(option_ids):
            return False
    return True


def hidden_questions(template: Template, answers: Mapping[str, Any]) -> list[str]:
    """Ids of the questions the answers so far leave out (their stored answers are dropped)."""
    return [q.id for q in template.questions if not is_shown(q, answers)]


def validate_answers(
    template: Template,
    raw: Mapping[str, Any],
    *,
    questions: Iterable[Question] | None = None,
    require: bool = True,
    known: Mapping[str, Any] | None = None,
) -> dict[str, AnswerValue]:
    """Validate ``raw`` (question id -> value) for ``questions`` (default: all of the template).

    Unknown question ids are rejected; blank answers to required questions are rejected when
    ``require`` is true. Collects every fault and raises AnswersInvalid with all of them.
    Questions that ``show_if`` hides, given ``known`` answers (from earlier steps) and the
    valid ones in ``raw``, are skipped: neither required nor returned.
    """
    values = _validate_all(template, raw, questions=questions, require=require)
    context = {**(known or {}), **values.values}
    hidden = set(hidden_questions(template, context))
    errors = {qid: msg for qid, msg in values.errors.items() if qid not in hidden}
    if errors:
        raise AnswersInvalid(errors)
    return {qid: value for qid, value in values.values.items() if qid not in hidden}


@dataclass(frozen=True)
class _Checked:
    values: dict[str, AnswerValue]
    errors: dict[str, str]


def _validate_all(
    template: Template,
    raw: Mapping[str, Any],
    *,
    questions: Iterable[Question] | None,
    require: bool,
) -> _Checked:
    asked = list(questions) if questions is not None else template.questions
    asked_ids = {q.id for q in asked}
    errors: dict[str, str] = {}
    for key in raw:
        if key not in asked_ids:
            errors[key] = "is not a question of this survey" + (
                " section" if questions is not None and template.has_question(key) else ""
            )
    values: dict[str, AnswerValue] = {}
    for question in asked:
        try:
            value = parse_answer(question, raw.get(question.id))
        except AnswerError as exc:
            errors[question.id] = exc.message
            continue
        if value is None:
            if require and question.required:
                errors[question.id] = "this question needs an answer"
            continue
        values[question.id] = value
    return _Checked(values, errors)


def validate_response(
    template: Template, respondent: str, raw: Mapping[str, Any], team: str | None = None
) -> Response:
    """A whole respondent's answers, all required ones present."""
    return Response(respondent=respondent, team=team, answers=validate_answers(template, raw))


def missing_required(template: Template, answers: Mapping[str, Any]) -> list[str]:
    """Ids of required questions not yet answered (for progress and completion); a question
    the answers hide (``show_if``) is not missing."""
    return [q.id for q in template.questions if q.required and q.id not in answers and is_shown(q, answers)]
