"""Answers from a spreadsheet (CSV), for teams that ran the exercise outside Slack first.

Layout: one row per respondent; a ``respondent`` column (any unique label), a ``team``
column (may be blank), and one column per question id (in any case). Commas separate the
columns; a file whose header has none may use tabs or semicolons instead. The options of a
``multi`` answer are separated by ``;``. Cells may hold option ids or option labels; blank
cells are unanswered questions. Columns that are not question ids (a form tool's "Timestamp", say)
are ignored with a warning.

Numbers: a spreadsheet saved in a decimal-comma locale writes ``2,5`` and ``80.000`` (eighty
thousand), usually with ``;`` between columns. The number cells of the file decide which
convention it uses (``survey.number_convention``): ``2,5`` or ``1.234,5`` are decimal-comma
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
import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from itertools import accumulate, compress, repeat
from operator import is_not
from pathlib import Path
from typing import Any

from survey.answer_columns import AnswerColumns
from survey.answers import (
    AnswerError,
    AnswersInvalid,
    AnswerValue,
    Response,
    parse_answer,
    unstorable_character,
)
from survey.gc_pause import collector_paused
from survey.number_convention import (
    NumberEvidence,
    normalise_number,
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
        if not "".join(row).strip():  # no cell but blanks (one join, not a strip per cell)
            continue
        if len(row) != width:
            errors.append(RowError(line, None, f"has {len(row)} cells, the header has {width}"))
            continue
        yield line, row

def _delimiter(text: str) -> str:
    """Comma, unless the header has none and uses tabs or semicolons (a spreadsheet saved in a
    locale whose decimal separator is the comma writes ';')."""
    end = text.find("\n")
    header = text if end < 0 else text[:end]  # not text.split: that copies the rest of the file
    if "," not in header:
        if "\t" in header:
            return "\t"
        if ";" in header:
            return ";"
    return ","


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


CHUNK_ROWS = 1024
"""Rows that the columns reader (``parse_answer_columns``) validates together, column by column:
enough that a column's repeated cells are looked up once, few enough that the rows' cells are
not the file held in memory."""

CACHE_LIMIT = 4096
"""Distinct cells of one column whose parse is kept: a spreadsheet repeats the same few cells
("4", "software") thousands of times, while a number or text column may hold a distinct cell
per person, which a cache would only hold in memory."""


def _lines(text: str) -> Iterator[str]:
    """The lines of ``text`` as ``io.StringIO`` iterates them (split after each "\n" only),
    without its copy of the whole text (4 bytes a character)."""
    find, start = text.find, 0
    while True:
        end = find("\n", start) + 1
        if not end:
            if start < len(text):
                yield text[start:]
            return
        yield text[start:end]
        start = end


def _storable(text: str) -> str | None:
    """``unstorable_character``, without its regex for the plain ASCII of nearly every cell."""
    if text.isascii() and "\x00" not in text:
        return None
    return unstorable_character(text)


class _Column:
    """One question column of a CSV: its cells parsed by ``parse_answer`` (after the formula
    apostrophe of a text cell is removed, a number cell is put in decimal-point form), each
    distinct cell once up to ``CACHE_LIMIT`` (``parse_answer`` of a string depends on it alone)."""

    __slots__ = ("question", "qid", "index", "cache", "text", "number", "convention", "fast_number")

    def __init__(self, question: Question, index: int, convention: str):
        self.question = question
        self.qid = question.id
        self.index = index
        self.cache: dict[str, tuple[AnswerValue | None, str | None]] = {}
        self.text = question.kind == QuestionKind.TEXT
        self.number = question.kind == QuestionKind.NUMBER
        self.convention = convention
        # a plain "25000" of a number question reads without parse_answer's regexes
        self.fast_number = self.number and question.min is not None and question.max is not None

    def parse(self, cell: str) -> tuple[AnswerValue | None, str | None]:
        """(canonical value or None when blank, None) or (None, the error message)."""
        q = self.question
        if self.fast_number and cell.isascii() and cell.isdigit():
            value = float(cell)  # what parse_number reads; the checks below are parse_answer's
            if math.isfinite(value) and q.min <= value <= q.max and (not q.integer or value.is_integer()):  # type: ignore[operator]
                return (int(value) if q.integer else value), None
        raw = _unescape_formula(cell) if self.text else normalise_number(cell, self.convention) if self.number else cell
        try:
            return parse_answer(q, raw), None
        except AnswerError as exc:
            return None, exc.message

    def plain_numbers(self, cells: set[str], value_of: dict[str, AnswerValue | None]) -> list[str]:
        """``parse`` of the plain numbers ("25000") among ``cells`` at once, into ``value_of``
        when all fit the question (else none is: each is then parsed alone, for its message);
        the cells left to parse one by one."""
        q = self.question
        joined = "".join(cells)
        plain = list(cells) if joined.isascii() and joined.isdigit() else [
            cell for cell in cells if cell.isascii() and cell.isdigit()]
        values = list(map(float, plain))  # what ``parse`` reads; never NaN, inf past any max
        if not values or not (q.min <= min(values) and max(values) <= q.max):  # type: ignore[operator]
            return list(cells)
        value_of.update(zip(plain, map(int, values) if q.integer else values, strict=True))
        return [cell for cell in cells if cell not in value_of] if len(plain) < len(cells) else []

    def __call__(self, cell: str) -> tuple[AnswerValue | None, str | None]:
        cache = self.cache
        hit = cache.get(cell)
        if hit is None:
            hit = self.parse(cell)
            if len(cache) < CACHE_LIMIT:
                cache[cell] = hit
        return hit


class _RowValidator:
    """``validate_answers(template, raw, questions=asked, require=False)`` of a CSV row's cells,
    each column's cells parsed by its ``_Column``; ``show_if`` conditions compiled once."""

    def __init__(self, template: Template, columns: list[_Column]):
        # only a multi question's value is a list (``parse_answer``), copied so each row owns it
        self.columns = [(c.qid, c.index, c.cache, c, c.question.kind == QuestionKind.MULTI) for c in columns]
        self.conditions = [(q.id, [(ref, frozenset(ids)) for ref, ids in q.show_if.items()])
                           for q in template.questions if q.show_if]

    def _hidden(self, values: dict[str, AnswerValue]) -> set[str] | None:
        """The questions that ``values`` (a row's valid answers) hide: ``is_shown``, once a row."""
        hidden = None
        for qid, conditions in self.conditions:
            for ref, ids in conditions:
                given = values.get(ref)
                if not (any(v in ids for v in given) if type(given) is list else given in ids):
                    if hidden is None:
                        hidden = set()
                    hidden.add(qid)
                    break
        return hidden

    def __call__(self, row: list[str]) -> dict[str, AnswerValue]:
        values: dict[str, AnswerValue] = {}
        errors: dict[str, str] | None = None
        for qid, index, cache, column, multi in self.columns:
            cell = row[index]
            hit = cache.get(cell)  # the column's cache, looked up here: a call per cell costs more
            value, message = column(cell) if hit is None else hit
            if value is not None:  # a value has no message: the common case tested first
                values[qid] = list(value) if multi else value
            elif message is not None:
                if errors is None:
                    errors = {}
                errors[qid] = message
        hidden = self._hidden(values)
        if hidden and errors:
            errors = {qid: msg for qid, msg in errors.items() if qid not in hidden}
        if errors:
            raise AnswersInvalid(errors)
        return {qid: v for qid, v in values.items() if qid not in hidden} if hidden else values

    def append_chunk(self, rows: list[list[str]], columns: AnswerColumns,
                     by_column: list[tuple[str, ...]] | None = None) -> dict[int, dict[str, str]]:
        """``__call__`` of each of ``rows`` (the next rows of a file), column by column, into
        ``columns``: a column's cells are parsed once per distinct cell and mapped back, which
        rows keep a cell is a mask built with ``map``, and only a column with an invalid cell
        goes through its cells one by one. The errors that ``AnswersInvalid`` would carry, by
        position in ``rows``; every other row's cells are appended, numbered on from
        ``len(columns.respondents)`` (the respondents and teams of those rows are then the
        caller's to append)."""
        n = len(rows)
        if not n:
            return {}
        parsed: dict[str, tuple[tuple[str, ...], dict[str, AnswerValue | None]]] = {}
        messages: dict[int, dict[str, str]] = {}
        if by_column is None:  # the chunk's columns, transposed at once
            by_column = list(zip(*rows, strict=True))
        for qid, index, cache, column, _multi in self.columns:
            cells = by_column[index]
            value_of: dict[str, AnswerValue | None] = {}
            invalid: dict[str, str] | None = None
            distinct: set[str] | list[str] = set(cells)
            if column.fast_number and len(distinct) > CACHE_LIMIT // 8:  # a distinct number a person
                distinct = column.plain_numbers(distinct, value_of)
            for cell in distinct:
                hit = cache.get(cell)
                if hit is None:
                    hit = column(cell)
                value_of[cell] = hit[0]
                if hit[1] is not None:
                    if invalid is None:
                        invalid = {}
                    invalid[cell] = hit[1]
            if invalid:  # in column order within a row, as ``__call__`` collects them
                for k, cell in enumerate(cells):
                    message = invalid.get(cell)
                    if message is not None:
                        messages.setdefault(k, {})[qid] = message
            parsed[qid] = (cells, value_of)
        shown = self._shown(parsed, n)
        for k in list(messages):
            kept = {qid: msg for qid, msg in messages[k].items() if qid not in shown or shown[qid][k]}
            if kept:
                messages[k] = kept
            else:
                del messages[k]
        base = len(columns.respondents)
        if messages:
            valid = [k not in messages for k in range(n)]
            numbers: list[int] | range = list(accumulate(valid, initial=base - 1))[1:]
        else:
            valid, numbers = None, range(base, base + n)
        new: list[tuple[int, int, str, list[int] | range, list[AnswerValue]]] = []
        for position, (qid, _index, _cache, _column, multi) in enumerate(self.columns):
            cells, value_of = parsed[qid]
            values = list(map(value_of.__getitem__, cells))
            keep = [shown[qid]] if qid in shown else []
            if valid is not None:
                keep.append(valid)
            if None in value_of.values():  # a blank cell: nothing to keep
                keep.append(list(map(is_not, values, repeat(None))))
            kept_numbers: list[int] | range = numbers
            if keep:
                mask = keep[0] if len(keep) == 1 else list(map(all, zip(*keep, strict=True)))
                kept_numbers, values = list(compress(numbers, mask)), list(compress(values, mask))
            if not values:
                continue
            if multi:  # a multi answer is a list: each row owns its copy
                values = list(map(list, values))  # type: ignore[arg-type]
            if qid in columns.rows:
                columns.extend(qid, kept_numbers, values)
            else:
                new.append((kept_numbers[0], position, qid, kept_numbers, values))
        for _first, _position, qid, kept_numbers, values in sorted(new, key=lambda c: c[:2]):
            columns.extend(qid, kept_numbers, values)  # new columns in the order rows first gave them
        return messages

    def _shown(self, parsed: dict[str, tuple[tuple[str, ...], dict[str, AnswerValue | None]]],
               n: int) -> dict[str, list[bool]]:
        """``_hidden`` of a chunk: whether each conditional question is shown at each position
        (questions shown at every position left out), each reference's distinct cells tested
        once."""
        shown: dict[str, list[bool]] = {}
        for qid, conditions in self.conditions:
            masks = []
            for ref, ids in conditions:
                if ref not in parsed:  # no column: never answered, so never shown
                    masks = [[False] * n]
                    break
                cells, value_of = parsed[ref]
                holds = {cell: (any(v in ids for v in given) if type(given) is list else given in ids)
                         for cell, given in value_of.items()}
                if not all(holds.values()):
                    masks.append(list(map(holds.__getitem__, cells)))
            if masks:
                shown[qid] = masks[0] if len(masks) == 1 else list(map(all, zip(*masks, strict=True)))
        return shown


class _Pass:
    """One pass over a file's rows with a number convention assumed, ``CHUNK_ROWS`` rows at a
    time: a chunk's number cells are evidence first (one that contradicts the convention ends the
    pass, ``restart`` then naming the file's own), then its respondents are checked and its rows
    validated, into ``sink`` column by column, else one by one to ``into`` or ``responses``. A
    chunk with none but plain numbers, and unique, storable respondents, is checked a column at a
    time. ``errors`` gather by chunk, so out of line order."""

    def __init__(self, text: str, template: Template, delimiter: str, width: int, convention: str,
                 columns: list[_Column],
                 number_at: list[tuple[int, str]], respondent_index: int, team_index: int | None,
                 sink: AnswerColumns | None,
                 into: Callable[[str, str | None, dict[str, AnswerValue]], None] | None):
        self.text, self.template, self.delimiter, self.width = text, template, delimiter, width
        self.convention = convention
        self.validate = _RowValidator(template, columns)
        self.number_at, self.respondent_index, self.team_index = number_at, respondent_index, team_index
        self.sink, self.into = sink, into
        self.evidence = NumberEvidence(delimiter)
        self.width_errors: list[RowError] = []
        self.errors: list[RowError] = []
        self.responses: list[Response] = []
        self.seen: dict[str, int] = {}
        self.teams: dict[str, str | None] = {}
        self.any_rows = False
        self.restart: str | None = None

    def run(self) -> None:
        """``data_rows`` inlined, with the width checked first: a row of the header's width whose
        cells are all blank is left to ``_respondents`` (its respondent cell is blank too), not
        joined here. ``data_rows`` itself with a flag for that measured 1% slower on 100,000 rows
        (a generator step a row), which is the 2x line of ``benchmarks.report``."""
        reader = csv.reader(_lines(self.text), delimiter=self.delimiter)
        next(reader)
        chunk: list[list[str]] = []
        lines: list[int] = []
        width, width_errors = self.width, self.width_errors
        while True:
            line = reader.line_num + 1
            try:
                row = next(reader)
            except StopIteration:
                break
            except csv.Error as exc:
                width_errors.append(RowError(line, None, f"not valid CSV ({exc})"))
                break
            if len(row) != width:
                if "".join(row).strip():
                    width_errors.append(RowError(line, None, f"has {len(row)} cells, the header has {width}"))
                continue
            chunk.append(row)
            lines.append(line)
            if len(chunk) == CHUNK_ROWS:
                if not self._take(chunk, lines):
                    return
                chunk, lines = [], []
        if chunk:
            self._take(chunk, lines)

    def _take(self, chunk: list[list[str]], lines: list[int]) -> bool:
        """Check and keep a chunk of rows; False when its evidence ends the pass."""
        by_column = list(zip(*chunk, strict=True))  # the chunk's columns, transposed at once
        if self._contradicts(by_column, lines):
            self.restart = next(iter(self.evidence.seen))
            return False
        positions, names, team_cells = self._respondents(chunk, by_column, lines)
        every = len(positions) == len(chunk)
        rows = chunk if every else [chunk[k] for k in positions]
        if self.sink is not None:
            self._into_columns(rows, lines if every else [lines[k] for k in positions], names, team_cells,
                               by_column if every else None)
            return True
        for row, k, name, team_cell in zip(rows, positions, names, team_cells, strict=True):
            try:
                answers = self.validate(row)
            except AnswersInvalid as exc:
                reason = "; ".join(f"{qid}: {msg}" for qid, msg in exc.errors.items())
                self.errors.append(RowError(lines[k], name, reason))
                continue
            team = self._team(team_cell)
            if self.into is not None:
                self.into(name, team, answers)
            else:  # every field is already checked (a non-empty id, a team or None, canonical answers)
                self.responses.append(Response.model_construct(respondent=name, team=team, answers=answers))
        return True

    def _contradicts(self, by_column: list[tuple[str, ...]], lines: list[int]) -> bool:
        """The chunk's number cells given to ``evidence`` in file order (by row, then column),
        up to the first that contradicts the assumed convention (True)."""
        odd = []
        for order, (i, qid) in enumerate(self.number_at):
            cells = by_column[i]
            joined = "".join(cells)
            if joined.isascii() and joined.isdigit():  # plain numbers such as "25000" (or blanks)
                continue
            for k, cell in enumerate(cells):
                if not (cell.isascii() and cell.isdigit()):
                    cell = cell.strip()
                    if cell:
                        odd.append((k, order, qid, cell))
        evidence, convention = self.evidence, self.convention
        for k, _order, qid, cell in sorted(odd):
            evidence.add(lines[k], qid, cell)
            if evidence.seen and next(iter(evidence.seen)) != convention:
                return True
        return False

    def _respondents(self, chunk: list[list[str]], by_column: list[tuple[str, ...]], lines: list[int]
                     ) -> tuple[list[int] | range, list[str], list[str | None]]:
        """(positions, respondents, team cells) of the chunk's rows whose respondent is given,
        storable and new; the others' errors go to ``errors``."""
        index, team_index, seen = self.respondent_index, self.team_index, self.seen
        raw = by_column[index]
        names = list(map(str.strip, raw))
        team_cells: list[str | None] = list(by_column[team_index]) if team_index is not None else [None] * len(chunk)
        joined = "".join(raw) + ("".join(team_cells) if team_index is not None else "")  # type: ignore[arg-type]
        if ("" not in names and joined.isascii() and "\x00" not in joined
                and len(set(names)) == len(names) and seen.keys().isdisjoint(names)):
            seen.update(zip(names, lines, strict=True))
            self.any_rows = True
            return range(len(chunk)), names, team_cells
        positions: list[int] = []
        kept_names: list[str] = []
        kept_teams: list[str | None] = []
        for k, (line, respondent, team_cell) in enumerate(zip(lines, names, team_cells, strict=True)):
            if not respondent and not "".join(chunk[k]).strip():
                continue  # a blank row (``run`` leaves it here): skipped, as ``data_rows`` does
            self.any_rows = True
            if not respondent:
                self.errors.append(RowError(line, None, "the respondent cell is empty"))
                continue
            bad_respondent = _storable(raw[k])
            bad_team = _storable(team_cell) if team_cell is not None else None
            if bad_respondent or bad_team:
                self.errors.append(RowError(line, None, "; ".join(
                    f"{column}: contains a character that cannot be saved ({bad})"
                    for column, bad in ((RESPONDENT_COLUMN, bad_respondent), (TEAM_COLUMN, bad_team)) if bad)))
                continue
            if respondent in seen:
                self.errors.append(RowError(line, respondent, f"respondent already answered on line {seen[respondent]}"))
                continue
            seen[respondent] = line
            positions.append(k)
            kept_names.append(respondent)
            kept_teams.append(team_cell)
        return positions, kept_names, kept_teams

    def _into_columns(self, rows: list[list[str]], lines: list[int], names: list[str],
                      team_cells: list[str | None], by_column: list[tuple[str, ...]] | None) -> None:
        sink = self.sink
        assert sink is not None
        invalid = self.validate.append_chunk(rows, sink, by_column)
        if not invalid:
            sink.respondents.extend(names)
            sink.teams.extend(map(self._team, team_cells))
            return
        for k, (line, name, team_cell) in enumerate(zip(lines, names, team_cells, strict=True)):
            reasons = invalid.get(k)
            if reasons:
                self.errors.append(RowError(line, name, "; ".join(f"{qid}: {msg}" for qid, msg in reasons.items())))
            else:
                sink.respondents.append(name)
                sink.teams.append(self._team(team_cell))

    def _team(self, cell: str | None) -> str | None:
        if cell is None:
            return None
        teams = self.teams
        team = teams.get(cell, teams)
        if team is teams:
            team = _team_value(self.template, cell)
            if len(teams) < CACHE_LIMIT:
                teams[cell] = team
        return team  # type: ignore[return-value]


def _read(text: str, template: Template, delimiter: str, width: int, cell_of: dict[str, int],
          by_id: dict[str, Question], convention: str, number_at: list[tuple[int, str]], respondent_index: int,
          team_index: int | None, sink: AnswerColumns | None,
          into: Callable[[str, str | None, dict[str, AnswerValue]], None] | None) -> _Pass:
    """The file's last ``_Pass``: the first with ``convention``, again with the file's own should
    its evidence contradict it."""
    while True:
        read = _Pass(text, template, delimiter, width, convention,
                     [_Column(by_id[qid], i, convention) for qid, i in cell_of.items()],
                     number_at, respondent_index, team_index, sink, into)
        read.run()
        if read.restart is None:
            return read
        convention = read.restart
        if sink is not None:
            sink.clear()


def parse_responses(
    text: str, template: Template, *, source: str = "<csv>", skip_invalid: bool = False,
    into: Callable[[str, str | None, dict[str, AnswerValue]], None] | None = None,
    sink: AnswerColumns | None = None,
) -> SpreadsheetResult:
    """Parse CSV text into validated responses; see the module docstring for the rules.

    ``into``: each valid row's (respondent, team, answers) goes to it instead of a ``Response``
    (``responses`` is then empty). ``sink``: each valid row goes straight into these columns
    (``into=sink.add`` without an answers dict a row): ``parse_answer_columns`` keeps columns,
    not an object per respondent.

    One pass over the text, one row at a time, with the decimal convention assumed (the
    fallback) and read again from the start with the other one should the first evidence of the
    file contradict it; no row's cells are kept after it is read."""
    text = text.lstrip("\ufeff")
    delimiter = _delimiter(text)
    reader = csv.reader(_lines(text), delimiter=delimiter)
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
    by_id = {q.id: q for q in template.questions}
    width = len(columns)

    number_at = [(i, qid) for i, qid in question_at.items() if by_id[qid].kind == QuestionKind.NUMBER]
    # two columns may name one question in different cases: its answer is the last one's cell,
    # in the place of the first (as a dict of the row's cells keyed by question id has it)
    cell_of: dict[str, int] = {}
    for i, qid in question_at.items():
        cell_of[qid] = i
    if into is not None:  # ``into`` is called once a row: the convention is decided first
        evidence = NumberEvidence(delimiter)
        reader = csv.reader(_lines(text), delimiter=delimiter)
        next(reader)
        for line, row in data_rows(reader, width, []):
            for i, qid in number_at:
                cell = row[i].strip()
                if cell:
                    evidence.add(line, qid, cell)
        convention, number_problems = evidence.verdict()
        if number_problems:
            raise SpreadsheetError(source, number_problems)
    else:
        convention = NumberEvidence(delimiter).fallback

    # One pass, each row validated then kept (or given to ``into``) and dropped, with the number
    # convention assumed: the file's fallback, which most files' evidence confirms. When the first
    # evidence says otherwise the pass starts again with that convention, before a row of it is
    # read the wrong way.
    with collector_paused():  # the rows' lists are no cycles: collecting them was a fifth of the read
        read = _read(text, template, delimiter, width, cell_of, by_id, convention, number_at, respondent_index,
                     team_index, sink, into)
    any_rows, width_errors, evidence, responses = read.any_rows, read.width_errors, read.evidence, read.responses
    errors = read.errors
    if not any_rows and not width_errors:
        raise SpreadsheetError(source, ["the file has a header row but no answers: one row per respondent is needed"])
    number_problems = evidence.verdict()[1]
    if number_problems:
        raise SpreadsheetError(source, number_problems)
    errors = width_errors + sorted(errors, key=lambda e: e.line)  # the width errors first, then by line
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
    result = parse_responses(text, template, source=source, skip_invalid=skip_invalid, sink=columns)
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
