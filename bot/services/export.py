"""A round's answers as CSV, for leaders to keep or re-analyse offline.

The file is the layout ``icp-bot report --answers`` reads (``survey/spreadsheet.py``):
``respondent,team,<question ids in template order>``, one row per respondent, the options of
a ``multi`` answer joined with ``;``, option ids rather than labels, blank cells for questions
not answered. ``parse_responses(export_csv(t, r), t)`` gives back the same answers.

Anonymity (see DESIGN.md):

- ``respondent`` is the per-round pseudonym (``storage.answers.responses_for_round``), never a
  Slack user id: a value shaped like one is refused (``ValueError``) rather than written;
- the template's team question has no column of its own: the team travels in the ``team``
  column only, and a team is written only when the report would show it
  (``survey.team_splits.visible_groups``, complementary suppression): a team of fewer than
  ``min_team_size`` is left blank, and when that would leave fewer than ``min_team_size``
  blank rows the next-smallest team is blanked too, so a blank team never singles anyone out;
- a free-text question answered by fewer than ``min_team_size`` people is left blank, as the
  report hides it;
- an open round exports the same respondents its report uses (``report_inputs``: the first
  finished ones in steps of ``min_group_size``), so two exports never differ by one person;
- the caller refuses an export of a round with fewer than ``min_group_size`` respondents
  (``prepare_export``).

Free-text answers are included as typed (they are the leader's data), except that a text
starting with ``=``, ``+``, ``-``, ``@`` or a tab gets a leading apostrophe so that a
spreadsheet shows it instead of running it as a formula (OWASP's CSV-injection advice);
``survey.spreadsheet`` strips that apostrophe again, so the round trip holds.

The text starts with a UTF-8 byte order mark so that Excel reads accents correctly;
``parse_responses`` and ``read_responses`` skip it.
"""

from __future__ import annotations

import csv
import io
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from bot.services.reporting import report_inputs
from storage import rounds, templates, workspaces
from storage.db import Database
from survey.answers import Response, printable
from survey.spreadsheet import FORMULA_STARTS, RESPONDENT_COLUMN, TEAM_COLUMN
from survey.template import Question, QuestionKind, Template

BOM = "\ufeff"
SLACK_USER_ID = re.compile(r"^[UW][A-Z0-9]{7,}$")


def export_columns(template: Template) -> list[Question]:
    """The questions that get a column, in template order (the team question travels in ``team``)."""
    reserved = {RESPONDENT_COLUMN, TEAM_COLUMN}
    return [q for q in template.questions if q.role != "team" and q.id.casefold() not in reserved]


def format_number(value: float | int) -> str:
    """A number as ``parse_number`` reads it back exactly: no exponent, no thousands separator,
    and never exactly three decimals after at most three digits ("80.125" is written "80.1250"),
    which ``survey.spreadsheet`` would refuse as possibly eighty thousand."""
    number = float(value)
    if number.is_integer():
        return str(int(number))
    text = format(Decimal(repr(number)), "f")
    return text + "0" if re.fullmatch(r"-?\d{1,3}\.\d{3}", text) else text


def format_cell(question: Question, value: Any) -> str:
    """One answer as a cell; blank when unanswered."""
    if value is None:
        return ""
    if question.kind == QuestionKind.MULTI:
        items = value if isinstance(value, (list, tuple, set)) else [value]
        return ";".join(printable(str(v)) for v in items)
    if question.kind in (QuestionKind.SCALE, QuestionKind.NUMBER) and not isinstance(value, bool) \
            and isinstance(value, (int, float)):
        return format_number(value)
    text = printable(str(value))  # a value stored before the answers' checks cannot break the file
    if question.kind == QuestionKind.TEXT and text.startswith(FORMULA_STARTS):
        return "'" + text
    return text


def _teams(responses: Sequence[Response], min_team_size: int) -> list[str]:
    """Each row's team, blank where the report would not show it (complementary suppression)."""
    sizes: Counter[str | None] = Counter(r.team or None for r in responses)
    from survey.team_splits import visible_groups  # numpy and scipy: not at start-up

    shown = visible_groups(sizes, min_team_size)
    return [r.team if r.team in shown else "" for r in responses]


def _hidden_texts(columns: Sequence[Question], responses: Sequence[Response], min_count: int) -> set[str]:
    """Text questions answered by fewer than ``min_count`` people: the report hides them."""
    hidden = set()
    for q in columns:
        if q.kind != QuestionKind.TEXT:
            continue
        count = sum(1 for r in responses if isinstance(v := r.answers.get(q.id), str) and v.strip())
        if count < min_count:
            hidden.add(q.id)
    return hidden


def export_csv(template: Template, responses: Iterable[Response], *, min_team_size: int = 1) -> str:
    """CSV text of ``responses`` to ``template`` (see the module docstring for the layout).

    ``min_team_size``: the anonymity threshold; teams the report would not show are written
    blank, and text questions answered by fewer people are left out. Raises ValueError if a
    respondent label looks like a Slack user id.
    """
    rows = list(responses)
    for response in rows:
        if SLACK_USER_ID.match(response.respondent):
            raise ValueError("refusing to export: a respondent id looks like a Slack user id, not a pseudonym")
    columns = export_columns(template)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([RESPONDENT_COLUMN, TEAM_COLUMN, *(q.id for q in columns)])
    hidden = _hidden_texts(columns, rows, min_team_size)
    for response, team in zip(rows, _teams(rows, min_team_size), strict=True):
        writer.writerow([response.respondent, team, *(
            "" if q.id in hidden else format_cell(q, response.answers.get(q.id)) for q in columns)])
    return BOM + out.getvalue()


class ExportRefused(Exception):
    """No export for this request; the message says why, for the leader."""


@dataclass(frozen=True)
class RoundExport:
    round_id: int
    title: str
    template_key: str
    template_version: int
    respondents: int
    csv_text: str

    @property
    def filename(self) -> str:
        return f"icp-round-{self.round_id}.csv"


def prepare_export(db: Database, team_id: str, round_id: int | None = None) -> RoundExport:
    """The export of ``round_id`` (default: the latest round) of a workspace, or ExportRefused."""
    with db.session() as session:
        workspace = workspaces.get_or_create_workspace(session, team_id)
        min_group = workspace.min_group_size
        rnd = rounds.get_round(session, round_id) if round_id is not None else rounds.latest_round(session, team_id)
        if rnd is None or rnd.team_id != team_id:
            raise ExportRefused("There is no such survey round yet. Start one with `/icp-check start`.")
        template = templates.get_template(session, rnd.template_id)
        responses, snapshot = report_inputs(session, rnd, template, min_group)
        round_id, title = rnd.id, rnd.title
    if snapshot.open and len(responses) < min_group:
        raise ExportRefused(
            f"Round {round_id} is open and {snapshot.finished} people have finished it. Exports of an open round "
            f"need at least {min_group} finished answers so that nobody can be recognised by their answers.")
    if len(responses) < min_group:
        raise ExportRefused(
            f"Round {round_id} has answers from {len(responses)} people. Exports need at least {min_group} "
            "so that nobody can be recognised by their answers.")
    return RoundExport(round_id=round_id, title=title, template_key=template.id, template_version=template.version,
                       respondents=len(responses),
                       csv_text=export_csv(template, responses, min_team_size=min_group))
