"""Mapping files for CRM exports of other layouts: which column holds which field or
question, and which CRM value is which option (YAML or CSV; see ``parse_mapping``)."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from survey.answers import AnswerError, parse_answer
from survey.crm_vocabulary import FIELDS, squeeze
from survey.spreadsheet import SpreadsheetError
from survey.template import QuestionKind, Template


class CustomerFileError(SpreadsheetError):
    """The file cannot be imported as it is; ``errors`` lists every problem, by line."""


@dataclass
class ColumnMapping:
    """A mapping file: column (squeezed) -> field or question id; per question, value -> option(s)."""

    columns: dict[str, str] = field(default_factory=dict)
    values: dict[str, dict[str, list[str]]] = field(default_factory=dict)


def _check_target(template: Template, target: str, where: str, problems: list[str]) -> str | None:
    target = target.strip()
    if target in FIELDS or template.has_question(target):
        return target
    problems.append(f"{where}: '{target}' is neither a field ({', '.join(FIELDS)}) nor a question "
                    f"id of template '{template.id}'")
    return None


def _check_options(template: Template, question_id: str, raw: Any, where: str,
                   problems: list[str]) -> list[str] | None:
    question = template.question(question_id)
    if question.kind not in (QuestionKind.SINGLE, QuestionKind.MULTI):
        problems.append(f"{where}: '{question_id}' is a {question.kind} question; values map to "
                        "options of single or multi questions only")
        return None
    items = raw if isinstance(raw, list) else str(raw).split(";")
    try:
        chosen = parse_answer(question.model_copy(update={"kind": QuestionKind.MULTI, "max_choices": None}),
                              [str(i) for i in items])
    except AnswerError as exc:
        problems.append(f"{where}: {exc.message}")
        return None
    return list(chosen or [])  # type: ignore[arg-type]


def parse_mapping(text: str, template: Template, *, source: str = "<mapping>", csv_format: bool = False) -> ColumnMapping:
    """A mapping from YAML text (or CSV when ``csv_format``); every fault raised at once.

    YAML::

        columns:              # CSV column -> field (id, name, revenue, deals,
          Account Number: id  #   customer_since) or question id
          Sector: industry
          Headcount: company_size
        values:               # question id -> CRM value -> option id(s) or label(s)
          industry:
            Computer Software: software
            Fintech: [financial_services, software]

    CSV: a header ``column,target,value,option``; a row with a blank value maps the column,
    a row with a value also maps that value of the column's target to the option
    (several options separated by ``;``).
    """
    problems: list[str] = []
    mapping = ColumnMapping()
    if csv_format:
        reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
        wanted = {"column", "target", "value", "option"}
        if not reader.fieldnames or not {"column", "target"} <= {squeeze(h) for h in reader.fieldnames}:
            raise CustomerFileError(source, ["line 1: expected the header column,target,value,option"])
        for row in reader:
            cells = {squeeze(k): (v or "").strip() for k, v in row.items() if k is not None and squeeze(k) in wanted}
            where = f"line {reader.line_num}"
            if not cells.get("column") or not cells.get("target"):
                problems.append(f"{where}: column and target are both needed")
                continue
            target = _check_target(template, cells["target"], where, problems)
            if target is None:
                continue
            mapping.columns[squeeze(cells["column"])] = target
            if cells.get("value"):
                if target in FIELDS:
                    problems.append(f"{where}: values map to options of a question, not of the field '{target}'")
                    continue
                options = _check_options(template, target, cells.get("option", ""), where, problems)
                if options is not None:
                    mapping.values.setdefault(target, {})[squeeze(cells["value"])] = options
    else:
        try:
            data = yaml.safe_load(text) or {}
        except yaml.YAMLError as exc:
            raise CustomerFileError(source, [f"not valid YAML ({exc})"]) from exc
        if not isinstance(data, dict) or not set(data) <= {"columns", "values"}:
            raise CustomerFileError(source, ["expected a mapping with 'columns' and/or 'values'"])
        for column, target in (data.get("columns") or {}).items():
            checked = _check_target(template, str(target), f"columns: {column}", problems)
            if checked is not None:
                mapping.columns[squeeze(column)] = checked
        for question_id, values in (data.get("values") or {}).items():
            if not template.has_question(str(question_id)):
                problems.append(f"values: '{question_id}' is not a question id of template '{template.id}'")
                continue
            if not isinstance(values, dict):
                problems.append(f"values: {question_id}: expected CRM value: option")
                continue
            for value, option in values.items():
                options = _check_options(template, str(question_id), option, f"values: {question_id}: {value}", problems)
                if options is not None:
                    mapping.values.setdefault(str(question_id), {})[squeeze(value)] = options
    if problems:
        raise CustomerFileError(source, problems)
    return mapping


def load_mapping(path: str | Path, template: Template) -> ColumnMapping:
    """A mapping file: ``.csv`` as CSV, anything else as YAML."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise CustomerFileError(str(path), [f"cannot read the file ({exc.strerror})"]) from exc
    return parse_mapping(text, template, source=str(path), csv_format=path.suffix.lower() == ".csv")
