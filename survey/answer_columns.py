"""A round's answers by question, for reports of large spreadsheets.

``AnswerColumns`` holds one list of (row, value) per question instead of a ``Response`` per
respondent: ``build_report`` reads either. At 100,000 respondents a pydantic ``Response`` with
its answers dict was most of the report's memory. Pure Python (no numpy), so the spreadsheet
reader stays light to import.
"""

from __future__ import annotations

from array import array
from collections.abc import Iterable
from dataclasses import dataclass, field

from survey.answers import AnswerValue


@dataclass
class AnswerColumns:
    """``respondents[i]`` answered ``values[q][k]`` to question ``q`` where ``rows[q][k] == i``;
    ``teams[i]`` is the team a leader assigned (the spreadsheet's team column), or None."""

    respondents: list[str] = field(default_factory=list)
    teams: list[str | None] = field(default_factory=list)
    rows: dict[str, array] = field(default_factory=dict)
    values: dict[str, list[AnswerValue]] = field(default_factory=dict)
    # per question, the bound appends of its rows and values: one dict lookup a cell, not two
    # plus two attribute lookups (a fifth of reading a 100,000-row spreadsheet was ``add``)
    _appenders: dict[str, tuple] = field(default_factory=dict, init=False, repr=False, compare=False)

    def _column(self, qid: str) -> tuple:
        rows = self.rows.get(qid)
        if rows is None:
            rows = self.rows[qid] = array("q")
            self.values[qid] = []
        pair = self._appenders[qid] = (rows.append, self.values[qid].append)
        return pair

    def clear(self) -> None:
        """No respondent any more (the spreadsheet reader starting again)."""
        self.respondents.clear()
        self.teams.clear()
        self.rows.clear()
        self.values.clear()
        self._appenders.clear()

    def extend(self, qid: str, rows: Iterable[int], values: list[AnswerValue]) -> None:
        """Rows' answers to ``qid`` at once (the spreadsheet reader's chunk of a column)."""
        if qid not in self.rows:
            self._column(qid)
        self.rows[qid].extend(rows)
        self.values[qid].extend(values)

    def add(self, respondent: str, team: str | None, answers: dict[str, AnswerValue]) -> None:
        """One respondent's canonical answers (as a ``Response`` would hold them)."""
        row = len(self.respondents)
        self.respondents.append(respondent)
        self.teams.append(team)
        appenders = self._appenders
        for qid, value in answers.items():
            pair = appenders.get(qid)
            if pair is None:
                pair = self._column(qid)
            pair[0](row)
            pair[1](value)

    def __len__(self) -> int:
        return len(self.respondents)
