"""Which decimal separator a spreadsheet's numbers use (``survey.spreadsheet``'s rules).

A spreadsheet saved in a decimal-comma locale writes ``2,5`` and ``80.000`` (eighty thousand).
The number cells of the file decide: ``2,5`` or ``1.234,5`` are decimal-comma evidence, ``2.5``,
``1,234.5`` or ``1.5e3`` decimal-point evidence; a file with both is refused, naming a cell of
each. With no evidence, a ``;``-separated file is read as decimal-comma and any other as
decimal-point, and a cell that would then read as a number with exactly three decimals is
refused rather than guessed.
"""

from __future__ import annotations

import re

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


class NumberEvidence:
    """``number_convention`` one cell at a time, keeping only what the verdict needs: the first
    cell of each convention, and the cells that would be ambiguous with no evidence at all
    (so that the file is not held in memory to decide its convention)."""

    def __init__(self, delimiter: str):
        self.delimiter = delimiter
        self.seen: dict[str, tuple[int, str, str]] = {}
        self.fallback = DECIMAL_COMMA if delimiter == ";" else DECIMAL_POINT
        self.ambiguous_re = _DOT_GROUPED if self.fallback == DECIMAL_POINT else _COMMA_GROUPED
        self.ambiguous: list[tuple[int, str, str]] = []

    def add(self, line: int, column: str, cell: str) -> None:
        """One stripped, non-blank number cell."""
        if cell.isascii() and cell.isdigit():  # no separator: neither evidence nor ambiguous
            return
        kind = _evidence(cell)
        if kind:
            if kind not in self.seen:
                self.seen[kind] = (line, column, cell)
                self.ambiguous.clear()  # evidence decides: no cell is ambiguous any more
        elif not self.seen and self.ambiguous_re.match(_number_core(cell)):
            self.ambiguous.append((line, column, cell))

    def verdict(self) -> tuple[str, list[str]]:
        seen = self.seen
        if len(seen) == 2:
            (l1, c1, v1), (l2, c2, v2) = seen[DECIMAL_POINT], seen[DECIMAL_COMMA]
            return DECIMAL_POINT, [
                f"numbers are written two ways: line {l1} ({c1}) '{v1}' uses a decimal point, line {l2} ({c2}) "
                f"'{v2}' a decimal comma; save the sheet again with one convention"]
        if seen:
            return next(iter(seen)), []
        problems = []
        for line, column, cell in self.ambiguous:
            core = _number_core(cell)
            whole = core.replace(".", "").replace(",", "")
            small = core.replace(",", ".")
            problems.append(f"line {line} ({column}): '{cell}' could be {small} or {whole}; write it without a "
                            f"thousands separator ({whole}) so it cannot be misread")
        return self.fallback, problems


def number_convention(cells: list[tuple[int, str, str]], delimiter: str) -> tuple[str, list[str]]:
    """(the file's decimal convention, problems) from its number cells (line, column, text)."""
    evidence = NumberEvidence(delimiter)
    for line, column, cell in cells:
        evidence.add(line, column, cell)
    return evidence.verdict()


def normalise_number(cell: str, convention: str) -> str:
    """A number cell in decimal-point form (``parse_number`` removes commas as thousands)."""
    if convention == DECIMAL_COMMA:
        return cell.replace(".", "").replace(",", ".")
    return cell
