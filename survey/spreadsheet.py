"""Answers from a spreadsheet (CSV), for teams that ran the exercise outside Slack first.

Layout: one row per respondent; a ``respondent`` column (any unique label), a ``team``
column (may be blank), and one column per question id (in any case). Commas separate the
columns; a file whose header has none may use tabs or semicolons instead. The options of a
``multi`` answer are separated by ``;``. Cells may hold option ids or option labels; blank
cells are unanswered questions. Columns that are not question ids (a form tool's "Timestamp", say)
are ignored with a warning.

Numbers: a spreadsheet saved in a decimal-comma locale writes ``2,5`` and ``80.000`` (eighty
thousand), usually with ``;`` between columns. The number cells of the file decide which
convention it uses (``number_convention``): ``2,5`` or ``1.234,5`` are decimal-comma
evidence, ``2.5``, ``1,234.5`` or ``1.5e3`` decimal-point evidence; a file with both is
refused, naming a cell of each. With no evidence, a ``;``-separated file is read as
decimal-comma and any other as decimal-point, and a cell that would then read as a number
with exactly three decimals (``80.000`` in a comma-separated file, ``80,000`` in a
semicolon one: 80 or 80 thousand?) is refused rather than guessed.

All-or-nothing by default: if any row is malformed, ``SpreadsheetError`` lists every bad row
with its line number and reason, and nothing is reported from a half-read file. With
``skip_invalid=True`` the bad rows are dropped (and still listed) and the rest count.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from survey.answer_columns import AnswerColumns
from survey.answers import (
    AnswerError,
    AnswersInvalid,
    AnswerValue,
    Response,
    is_shown,
    parse_answer,
    unstorable_character,
)
from survey.template import Question, QuestionKind, Template

RESPONDENT_COLUMN = "respondent"
TEAM_COLUMN = "team"
# A text cell starting with one of these is exported with a leading apostrophe, so that a
# spreadsheet does not run it as a formula; reading strips the apostrophe again.
FORMULA_STARTS = ("=", "+", "-", "@", "\t")


def _unescape_formula(cell: str) -> str:
    return cell[1:] if cell.startswith("'") and cell[1:].startswith(FORMULA_STARTS) else cell


@dataclass(frozen=True)
class RowError:
    line: int
    respondent: str | None
    reason: str

    def __str__(self) -> str:
        who = f" ({self.respondent})" if self.respondent else ""
        return f"line {self.line}{who}: {self.reason}"


@dataclass
class SpreadsheetResult:
    responses: list[Response]
    errors: list[RowError] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


class SpreadsheetError(ValueError):
    """The file cannot be used as it is; ``errors`` holds every problem found."""

    def __init__(self, source: str, errors: list[RowError] | list[str]):
        self.source = source
        self.errors = errors
        lines = "\n".join(f"  {e}" for e in errors[:50])
        more = f"\n  ... and {len(errors) - 50} more" if len(errors) > 50 else ""
        super().__init__(f"{source}: {len(errors)} problem(s)\n{lines}{more}")



def data_rows(reader: Any, width: int, errors: list[RowError]) -> Iterator[tuple[int, list[str]]]:
    """(line number, cells) of each non-blank row after the header; a row of another width
    than the header's, and a CSV error (which ends the file), go to ``errors`` by line."""
    while True:
        line = reader.line_num + 1
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            errors.append(RowError(line, None, f"not valid CSV ({exc})"))
            return
        if not any(cell.strip() for cell in row):
            continue
        if len(row) != width:
            errors.append(RowError(line, None, f"has {len(row)} cells, the header has {width}"))
            continue
        yield line, row

def _delimiter(text: str) -> str:
    """Comma, unless the header has none and uses tabs or semicolons (a spreadsheet saved in a
    locale whose decimal separator is the comma writes ';')."""
    header = text.split("\n", 1)[0]
    if "," not in header:
        if "\t" in header:
            return "\t"
        if ";" in header:
            return ";"
    return ","


_DOT_GROUPED = re.compile(r"^[-+]?\d{1,3}(?:\.\d{3})+$")
_COMMA_GROUPED = re.compile(r"^[-+]?\d{1,3}(?:,\d{3})+$")
_NOISE = re.compile(r"[\s\u00a0\u202f_'$€£¥%]")

DECIMAL_POINT = "decimal point"
DECIMAL_COMMA = "decimal comma"


def _number_core(cell: str) -> str:
    core = _NOISE.sub("", cell)
    return core[:-1] if core[-1:] in ("k", "K", "m", "M", "b", "B") else core


def _evidence(cell: str) -> str | None:
    """Which decimal separator a number cell shows, or None when it cannot tell."""
    if cell.isascii() and cell.isdigit():  # "25000": no separator at all
        return None
    core = _number_core(cell)
    mantissa = re.split(r"[eE]", core, maxsplit=1)[0] if re.search(r"\d[eE][-+]?\d", core) else core
    has_dot, has_comma = "." in mantissa, "," in mantissa
    if has_dot and has_comma:
        return DECIMAL_POINT if mantissa.rfind(".") > mantissa.rfind(",") else DECIMAL_COMMA
    if has_comma:
        if _COMMA_GROUPED.match(mantissa):
            return DECIMAL_POINT if mantissa.count(",") > 1 else None
        return DECIMAL_COMMA
    if has_dot:
        if _DOT_GROUPED.match(mantissa):
            return DECIMAL_COMMA if mantissa.count(".") > 1 else None
        return DECIMAL_POINT
    return None


def number_convention(cells: list[tuple[int, str, str]], delimiter: str) -> tuple[str, list[str]]:
    """(the file's decimal convention, problems) from its number cells (line, column, text)."""
    seen: dict[str, tuple[int, str, str]] = {}
    for line, column, cell in cells:
        kind = _evidence(cell)
        if kind and kind not in seen:
            seen[kind] = (line, column, cell)
    if len(seen) == 2:
        (l1, c1, v1), (l2, c2, v2) = seen[DECIMAL_POINT], seen[DECIMAL_COMMA]
        return DECIMAL_POINT, [
            f"numbers are written two ways: line {l1} ({c1}) '{v1}' uses a decimal point, line {l2} ({c2}) "
            f"'{v2}' a decimal comma; save the sheet again with one convention"]
    if seen:
        return next(iter(seen)), []
    convention = DECIMAL_COMMA if delimiter == ";" else DECIMAL_POINT
    ambiguous = _DOT_GROUPED if convention == DECIMAL_POINT else _COMMA_GROUPED
    problems = []
    for line, column, cell in cells:
        if cell.isascii() and cell.isdigit():
            continue
        core = _number_core(cell)
        if ambiguous.match(core):
            whole = core.replace(".", "").replace(",", "")
            small = core.replace(",", ".")
            problems.append(f"line {line} ({column}): '{cell}' could be {small} or {whole}; write it without a "
                            f"thousands separator ({whole}) so it cannot be misread")
    return convention, problems


def _normalise_number(cell: str, convention: str) -> str:
    """A number cell in decimal-point form (``parse_number`` removes commas as thousands)."""
    if convention == DECIMAL_COMMA:
        return cell.replace(".", "").replace(",", ".")
    return cell


def _team_value(template: Template, raw: str) -> str | None:
    """Normalise a team cell: the team question's option id when it names one."""
    text = raw.strip()
    if not text:
        return None
    question = template.team_question
    if question is not None:
        lowered = text.casefold()
        for opt in question.options:
            if lowered in (opt.id.casefold(), opt.label.casefold()):
                return opt.id
    return text.casefold()


class _RowValidator:
    """``validate_answers(template, raw, questions=asked, require=False)`` for CSV rows, with
    each column's distinct cells parsed once: a spreadsheet repeats the same few cells ("4",
    "software") thousands of times, and ``parse_answer`` of a string depends on it alone."""

    def __init__(self, template: Template, asked: list[Question]):
        self.asked = asked
        self.caches: dict[str, dict[str, tuple[AnswerValue | None, str | None]]] = {q.id: {} for q in asked}
        self.conditional = [q for q in template.questions if q.show_if]

    def __call__(self, raw: dict[str, str]) -> dict[str, AnswerValue]:
        values: dict[str, AnswerValue] = {}
        errors: dict[str, str] = {}
        for q in self.asked:
            cell = raw[q.id]
            if q.kind == QuestionKind.TEXT:  # distinct per person: not worth a cache
                try:
                    value = parse_answer(q, cell)
                except AnswerError as exc:
                    errors[q.id] = exc.message
                    continue
            else:
                cache = self.caches[q.id]
                hit = cache.get(cell)
                if hit is None:
                    try:
                        hit = (parse_answer(q, cell), None)
                    except AnswerError as exc:
                        hit = (None, exc.message)
                    cache[cell] = hit
                value, message = hit
                if message is not None:
                    errors[q.id] = message
                    continue
                if isinstance(value, list):
                    value = list(value)  # each response owns its list
            if value is not None:
                values[q.id] = value
        hidden = {q.id for q in self.conditional if not is_shown(q, values)}
        if hidden:
            errors = {qid: msg for qid, msg in errors.items() if qid not in hidden}
        if errors:
            raise AnswersInvalid(errors)
        return {qid: v for qid, v in values.items() if qid not in hidden} if hidden else values


def parse_responses(
    text: str, template: Template, *, source: str = "<csv>", skip_invalid: bool = False,
    into: Callable[[str, str | None, dict[str, AnswerValue]], None] | None = None,
) -> SpreadsheetResult:
    """Parse CSV text into validated responses; see the module docstring for the rules.

    ``into``: each valid row's (respondent, team, answers) goes to it instead of a ``Response``
    (``responses`` is then empty): ``parse_answer_columns`` keeps columns, not an object per
    respondent."""
    text = text.lstrip("\ufeff")
    delimiter = _delimiter(text)
    reader = csv.reader(io.StringIO(text), delimiter=delimiter)
    try:
        header = next(reader)
    except StopIteration:
        raise SpreadsheetError(source, ["the file is empty: expected a header row"]) from None
    columns = [h.strip() for h in header]
    lowered = [c.casefold() for c in columns]
    problems: list[str] = []
    if RESPONDENT_COLUMN not in lowered:
        problems.append(f"line 1: no '{RESPONDENT_COLUMN}' column (found: {', '.join(columns)[:200]})")
    dupes = sorted({c for c in columns if c and columns.count(c) > 1})
    if dupes:
        problems.append(f"line 1: duplicate column(s) {', '.join(dupes)}")
    # Question columns by position (ids matched in any case). The team column is the
    # respondent's team, not an answer to validate, even when the team question shares its id.
    ids = {q.id.casefold(): q.id for q in template.questions}
    question_at = {i: ids[c] for i, c in enumerate(lowered) if c in ids and c != TEAM_COLUMN}
    question_columns = list(question_at.values())
    if not question_columns:
        problems.append(f"line 1: no column is a question id of template '{template.id}'")
    if problems:
        raise SpreadsheetError(source, problems)

    ignored = [c for c in columns if c and c.casefold() not in (RESPONDENT_COLUMN, TEAM_COLUMN, *ids)]
    warnings = [f"ignored column(s) that are not question ids: {', '.join(ignored)}"] if ignored else []
    has_team = TEAM_COLUMN in lowered
    team_question = template.team_question
    has_team_answer = team_question is not None and team_question.id in question_columns
    if not has_team and not has_team_answer:
        warnings.append(f"no '{TEAM_COLUMN}' column, so the report cannot compare teams: add a column named "
                        f"'{TEAM_COLUMN}' with each person's team (Sales, Support, ...) to see where teams split")
    absent = [q.id for q in template.questions if q.id not in question_columns and q.role != "team"]
    if absent:
        warnings.append(f"no column for question(s): {', '.join(absent)} (treated as unanswered)")

    respondent_index = lowered.index(RESPONDENT_COLUMN)
    team_index = lowered.index(TEAM_COLUMN) if has_team else None
    asked = [template.question(c) for c in question_columns]
    text_columns = {q.id for q in asked if q.kind == QuestionKind.TEXT}
    responses: list[Response] = []
    errors: list[RowError] = []
    seen: dict[str, int] = {}
    rows = list(data_rows(reader, len(columns), errors))
    if not rows and not errors:
        raise SpreadsheetError(source, ["the file has a header row but no answers: one row per respondent is needed"])
    number_at = {i: qid for i, qid in question_at.items() if template.question(qid).kind == QuestionKind.NUMBER}
    number_cells = [(line, number_at[i], row[i].strip()) for line, row in rows for i in number_at if row[i].strip()]
    convention, number_problems = number_convention(number_cells, delimiter)
    if number_problems:
        raise SpreadsheetError(source, number_problems)
    validate = _RowValidator(template, asked)
    for line, row in rows:
        respondent = row[respondent_index].strip()
        if not respondent:
            errors.append(RowError(line, None, "the respondent cell is empty"))
            continue
        label_faults = [f"{column}: contains a character that cannot be saved ({bad})"
                        for column, index in ((RESPONDENT_COLUMN, respondent_index), (TEAM_COLUMN, team_index))
                        if index is not None and (bad := unstorable_character(row[index]))]
        if label_faults:
            errors.append(RowError(line, None, "; ".join(label_faults)))
            continue
        if respondent in seen:
            errors.append(RowError(line, respondent, f"respondent already answered on line {seen[respondent]}"))
            continue
        seen[respondent] = line
        raw = {qid: _unescape_formula(row[i]) if qid in text_columns
               else _normalise_number(row[i], convention) if i in number_at else row[i]
               for i, qid in question_at.items()}
        try:
            answers = validate(raw)
        except AnswersInvalid as exc:
            reason = "; ".join(f"{qid}: {msg}" for qid, msg in exc.errors.items())
            errors.append(RowError(line, respondent, reason))
            continue
        except AnswerError as exc:  # pragma: no cover - validate_answers collects these
            errors.append(RowError(line, respondent, str(exc)))
            continue
        team = _team_value(template, row[team_index]) if team_index is not None else None
        if into is not None:
            into(respondent, team, answers)
            continue
        # every field is already checked (a non-empty id, a team or None, canonical answers)
        responses.append(Response.model_construct(respondent=respondent, team=team, answers=answers))
    if errors and not skip_invalid:
        raise SpreadsheetError(source, errors)
    return SpreadsheetResult(responses=responses, errors=errors, warnings=warnings)


def read_responses(path: str | Path, template: Template, *, skip_invalid: bool = False) -> SpreadsheetResult:
    """Read a CSV file (UTF-8, with or without a BOM)."""
    return parse_responses(_read_text(path), template, source=str(path), skip_invalid=skip_invalid)


@dataclass
class ColumnsResult:
    """``parse_answer_columns``'s result: the answers by question, and what was left out."""

    columns: AnswerColumns
    errors: list[RowError] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def parse_answer_columns(
    text: str, template: Template, *, source: str = "<csv>", skip_invalid: bool = False
) -> ColumnsResult:
    """``parse_responses`` (the same rules, rows, errors and warnings) into ``AnswerColumns``,
    one list per question instead of a ``Response`` per respondent: what ``build_report`` reads,
    in a fifth of the memory."""
    columns = AnswerColumns()
    result = parse_responses(text, template, source=source, skip_invalid=skip_invalid, into=columns.add)
    return ColumnsResult(columns=columns, errors=result.errors, warnings=result.warnings)


def _read_text(path: str | Path) -> str:
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise SpreadsheetError(str(path), [f"cannot read the file ({exc.strerror})"]) from exc
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise SpreadsheetError(str(path), [f"{_where_bytes(data, exc.start)}: not UTF-8 text (byte {exc.start}, "
                                           f"0x{data[exc.start]:02X}); save the sheet as CSV UTF-8"]) from exc


def _where_bytes(data: bytes, offset: int) -> str:
    """"line N, column NAME" of byte ``offset`` of a CSV file, read from the valid text before it
    (a quoted cell with a line break counts as one more line, as csv's own line numbers do)."""
    before = data[:offset].decode("utf-8-sig", errors="replace")
    line = before.count("\n") + 1
    delimiter = _delimiter(before if "\n" in before else before + "\n")
    header = next(csv.reader(io.StringIO(before.split("\n", 1)[0]), delimiter=delimiter), [])
    current = before.rsplit("\n", 1)[-1]
    index = len(next(csv.reader(io.StringIO(current), delimiter=delimiter), [""])) - 1
    column = header[index].strip() if line > 1 and 0 <= index < len(header) else None
    return f"line {line}" + (f", column {column}" if column else "")


def read_answer_columns(path: str | Path, template: Template, *, skip_invalid: bool = False) -> ColumnsResult:
    """``read_responses`` into ``AnswerColumns`` (``parse_answer_columns``)."""
    return parse_answer_columns(_read_text(path), template, source=str(path), skip_invalid=skip_invalid)
