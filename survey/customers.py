"""Customers from a CRM export (CSV): one row per account, its revenue and its traits.

Recognised layouts, by their column headers (matched in any case, spacing and punctuation
aside, so the labels of an export and the API names of a Data Loader file both work):

===============  ===========================  ==========================================
field            HubSpot companies export     Salesforce accounts export
===============  ===========================  ==========================================
id               Record ID                    Account ID / Id
name             Company name / Name          Account Name / Name
revenue          Total Revenue                closed-won opportunity amounts per account
                                              (``--opportunities``), else AnnualRevenue
deals            Number of Associated Deals   count of closed-won opportunities
customer since   Became a Customer Date,      the first closed-won opportunity's
                 Close Date                   CloseDate
industry         Industry                     Industry
employees        Number of Employees          NumberOfEmployees / Employees
country          Country/Region               BillingCountry / Billing Country
===============  ===========================  ==========================================

``AnnualRevenue`` (Salesforce) and ``Annual Revenue`` (HubSpot) are the account's *own*
turnover as typed into the CRM, not what it pays us: they are used only when no better
revenue is given, with a warning. Industry, employees and country go to the template's
``industry``, ``company_size`` and ``regions`` questions: industry names through a built-in
table of HubSpot's and Salesforce's standard industry values, an employee count into the
size band whose label holds it (250 -> ``201-1000``), a country into its region. Any column
named after a question id is read as an answer to it. Other layouts use a mapping file
(``load_mapping``): column to field or question, value to option.

Rules where the CRM is silent:

- a row with no revenue, or revenue 0, is not a customer (HubSpot exports prospects too): it
  is left out and counted in a warning;
- a value that maps to no option (an industry the tables do not know) leaves that trait
  unknown for the customer and is listed in a warning, with its count, so a mapping can be
  added; a malformed value (revenue that is not a number, an employee count below 0, a date
  that is not one, an option the question refuses) is an error of its row;
- all-or-nothing, as ``survey.spreadsheet``: any bad row raises ``CustomerFileError`` with
  every bad row named by its line, and nothing is imported.
"""

from __future__ import annotations

import csv
import io
import math
import re
from collections import Counter, defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field

from survey.answers import AnswerError, AnswerValue, parse_answer, parse_number
from survey.spreadsheet import RowError, SpreadsheetError, data_rows
from survey.template import Question, QuestionKind, Template

FIELDS = ("id", "name", "revenue", "deals", "customer_since")
"""Account fields a column can map to; any other target is a question id."""

INDUSTRY_QUESTION = "industry"
SIZE_QUESTION = "company_size"
REGION_QUESTION = "regions"


def squeeze(text: str) -> str:
    """A header or value as compared: case, spacing and punctuation aside."""
    return re.sub(r"[\W_]+", "", str(text).casefold())


# Header aliases per field, squeezed. Earlier aliases win when a file has several.
ALIASES: dict[str, tuple[str, ...]] = {
    "id": ("recordid", "companyid", "accountid", "id"),
    "name": ("companyname", "accountname", "name", "company", "account"),
    "revenue": ("totalrevenue", "revenue", "totalclosedwonamount", "closedwonamount", "closedwonrevenue"),
    "annual_revenue": ("annualrevenue",),
    "deals": ("numberofassociateddeals", "numberofdeals", "deals", "dealcount", "closedwondeals"),
    "customer_since": ("becameacustomerdate", "customersince", "closedate"),
    INDUSTRY_QUESTION: ("industry",),
    SIZE_QUESTION: ("numberofemployees", "employees", "employeecount"),
    REGION_QUESTION: ("countryregion", "country", "billingcountry", "shippingcountry"),
}
HUBSPOT_MARKS = frozenset({"recordid", "countryregion", "totalrevenue", "numberofassociateddeals",
                           "becameacustomerdate"})
SALESFORCE_MARKS = frozenset({"accountid", "billingcountry", "accountname", "annualrevenue"})

# HubSpot's industry values (labels; the internal names like COMPUTER_SOFTWARE squeeze the
# same) and Salesforce's standard Industry picklist, to the options of icp-core's industry
# question. Values not listed leave the trait unknown (with a warning).
INDUSTRY_VALUES: dict[str, str] = {
    **dict.fromkeys(["Computer Software", "Internet", "Information Technology and Services",
                     "Computer Networking", "Computer & Network Security", "Computer Games",
                     "Technology", "Software", "SaaS"], "software"),
    **dict.fromkeys(["Financial Services", "Banking", "Insurance", "Finance", "Investment Banking",
                     "Investment Management", "Venture Capital & Private Equity", "Accounting",
                     "Capital Markets"], "financial_services"),
    **dict.fromkeys(["Hospital & Health Care", "Healthcare", "Medical Devices", "Medical Practice",
                     "Pharmaceuticals", "Biotechnology", "Health, Wellness and Fitness",
                     "Mental Health Care"], "healthcare"),
    **dict.fromkeys(["Manufacturing", "Machinery", "Mechanical or Industrial Engineering",
                     "Industrial Automation", "Automotive", "Chemicals", "Electrical/Electronic Manufacturing",
                     "Aviation & Aerospace", "Engineering", "Construction", "Apparel",
                     "Computer Hardware", "Semiconductors", "Electronics",
                     "Food Production", "Plastics", "Paper & Forest Products"], "manufacturing"),
    **dict.fromkeys(["Retail", "Consumer Goods", "Consumer Electronics", "Apparel & Fashion",
                     "Luxury Goods & Jewelry", "Food & Beverages", "Food & Beverage", "Wholesale",
                     "Sporting Goods", "Supermarkets", "E-Commerce"], "retail"),
    **dict.fromkeys(["Management Consulting", "Consulting", "Legal Services", "Law Practice",
                     "Marketing and Advertising", "Staffing and Recruiting", "Human Resources",
                     "Professional Training & Coaching", "Outsourcing/Offshoring",
                     "Design", "Architecture & Planning", "Research"], "professional_services"),
    **dict.fromkeys(["Education Management", "Higher Education", "E-Learning",
                     "Primary/Secondary Education", "Education"], "education"),
    **dict.fromkeys(["Government Administration", "Government", "Public Policy", "Military",
                     "Law Enforcement", "Public Safety", "Government Relations"], "public_sector"),
    **dict.fromkeys(["Media", "Entertainment", "Media Production", "Online Media", "Broadcast Media",
                     "Publishing", "Newspapers", "Music", "Motion Pictures and Film",
                     "Recreation", "Computer Games & Media"], "media"),
    **dict.fromkeys(["Other", "Not For Profit", "Nonprofit Organization Management", "Agriculture",
                     "Energy", "Utilities", "Oil & Energy", "Transportation", "Shipping",
                     "Logistics and Supply Chain", "Hospitality", "Real Estate", "Environmental",
                     "Environmental Services", "Telecommunications", "Communications",
                     "Wireless"], "other"),
}

_NA = "north_america"
_LATAM = "latin_america"
_UK = "uk_ireland"
_EU = "europe"
_MEA = "mea"
_APAC = "apac"
_ANZ = "anz"
# Country names and ISO 3166 alpha-2/alpha-3 codes to the regions of icp-core.
COUNTRY_REGIONS: dict[str, str] = {
    **dict.fromkeys(["United States", "United States of America", "USA", "US", "U.S.", "U.S.A.",
                     "Canada", "CA", "CAN"], _NA),
    **dict.fromkeys(["Mexico", "MX", "MEX", "Brazil", "BR", "BRA", "Argentina", "AR", "ARG",
                     "Chile", "CL", "CHL", "Colombia", "CO", "COL", "Peru", "PE", "PER",
                     "Uruguay", "UY", "Costa Rica", "CR", "Panama", "PA", "Ecuador", "EC"], _LATAM),
    **dict.fromkeys(["United Kingdom", "UK", "GB", "GBR", "Great Britain", "England", "Scotland",
                     "Wales", "Northern Ireland", "Ireland", "IE", "IRL"], _UK),
    **dict.fromkeys(["Germany", "DE", "DEU", "France", "FR", "FRA", "Netherlands", "NL", "NLD",
                     "Belgium", "BE", "BEL", "Spain", "ES", "ESP", "Italy", "IT", "ITA",
                     "Portugal", "PT", "PRT", "Switzerland", "CH", "CHE", "Austria", "AT", "AUT",
                     "Sweden", "SE", "SWE", "Norway", "NO", "NOR", "Denmark", "DK", "DNK",
                     "Finland", "FI", "FIN", "Poland", "PL", "POL", "Czech Republic", "Czechia",
                     "CZ", "Hungary", "HU", "Romania", "RO", "Greece", "GR", "Luxembourg", "LU",
                     "Estonia", "EE", "Latvia", "LV", "Lithuania", "LT", "Iceland", "IS"], _EU),
    **dict.fromkeys(["United Arab Emirates", "UAE", "AE", "Saudi Arabia", "SA", "Israel", "IL",
                     "Qatar", "QA", "Egypt", "EG", "South Africa", "ZA", "Nigeria", "NG",
                     "Kenya", "KE", "Morocco", "MA", "Turkey", "Türkiye", "TR"], _MEA),
    **dict.fromkeys(["Japan", "JP", "JPN", "China", "CN", "CHN", "India", "IN", "IND",
                     "Singapore", "SG", "SGP", "South Korea", "Korea", "KR", "Hong Kong", "HK",
                     "Taiwan", "TW", "Indonesia", "ID", "Malaysia", "MY", "Thailand", "TH",
                     "Vietnam", "VN", "Philippines", "PH"], _APAC),
    **dict.fromkeys(["Australia", "AU", "AUS", "New Zealand", "NZ", "NZL"], _ANZ),
}

BUILTIN_VALUES: dict[str, dict[str, str]] = {
    INDUSTRY_QUESTION: {squeeze(k): v for k, v in INDUSTRY_VALUES.items()},
    REGION_QUESTION: {squeeze(k): v for k, v in COUNTRY_REGIONS.items()},
}


# -- the objects ----------------------------------------------------------------------------


class Customer(BaseModel):
    """One account: what it brought us and its traits (question id -> canonical answer)."""

    model_config = ConfigDict(frozen=True)

    id: str = Field(min_length=1, max_length=100)
    name: str | None = Field(default=None, max_length=200)
    revenue: float = Field(ge=0)
    deals: int | None = Field(default=None, ge=0)
    customer_since: date | None = None
    traits: dict[str, AnswerValue] = Field(default_factory=dict)


class CustomerFileError(SpreadsheetError):
    """The file cannot be imported as it is; ``errors`` lists every problem, by line."""


@dataclass
class ColumnMapping:
    """A mapping file: column (squeezed) -> field or question id; per question, value -> option(s)."""

    columns: dict[str, str] = field(default_factory=dict)
    values: dict[str, dict[str, list[str]]] = field(default_factory=dict)


@dataclass
class AccountRow:
    """One data row as read: its line, its cells by header, and the account made of it."""

    line: int
    cells: dict[str, str]
    customer: Customer


@dataclass
class CustomerImport:
    customers: list[Customer]
    layout: str
    """hubspot, salesforce, mapping or generic: which header names were recognised."""
    columns: dict[str, str] = field(default_factory=dict)
    """Header -> the field or question it was read as."""
    warnings: list[str] = field(default_factory=list)
    rows: list[AccountRow] = field(default_factory=list)
    header: list[str] = field(default_factory=list)

    @property
    def total_revenue(self) -> float:
        return math.fsum(c.revenue for c in self.customers)


# -- mapping files --------------------------------------------------------------------------


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


# -- values ---------------------------------------------------------------------------------

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


class _Unmapped(Exception):
    """A value that maps to no option: the trait stays unknown, with a warning."""


def to_answer(question: Question, raw: str, values: Mapping[str, list[str]] | None = None) -> AnswerValue | None:
    """A CRM cell as an answer to ``question``: mapped values first, then the question's own
    option ids and labels, then, for a single question with numeric bands, the band of a number.

    Raises ``AnswerError`` for a malformed value, ``_Unmapped`` for one that maps to nothing.
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
                    raise _Unmapped(part)
                chosen.append(band)
                continue
            try:
                value = parse_answer(question, part)
            except AnswerError:
                raise _Unmapped(part) from None
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


def _money(text: str) -> float | None:
    text = text.strip()
    if not text:
        return None
    text = re.sub(r"^(USD|EUR|GBP|CHF|CAD|AUD)\s*", "", text, flags=re.IGNORECASE)
    value = parse_number("revenue", text)
    if value < 0:
        raise AnswerError("revenue", f"'{text}' is below 0")
    return value


# -- reading --------------------------------------------------------------------------------


def _delimiter(text: str) -> str:
    header = text.split("\n", 1)[0]
    if "," not in header:
        if "\t" in header:
            return "\t"
        if ";" in header:
            return ";"
    return ","


def _resolve_columns(columns: list[str], template: Template, mapping: ColumnMapping | None) -> tuple[dict[int, str], str]:
    """Position -> field or question id; and the layout name."""
    squeezed = [squeeze(c) for c in columns]
    at: dict[int, str] = {}
    taken: set[str] = set()
    if mapping:
        for i, s in enumerate(squeezed):
            if s in mapping.columns and mapping.columns[s] not in taken:
                at[i] = mapping.columns[s]
                taken.add(at[i])
    ids = {squeeze(q.id): q.id for q in template.questions if q.role in ("trait", "disqualifier")}
    for i, s in enumerate(squeezed):  # a column named after a question id
        if i not in at and s in ids and ids[s] not in taken and columns[i].strip().casefold() == ids[s].casefold():
            at[i] = ids[s]
            taken.add(ids[s])
    for target, aliases in ALIASES.items():
        if target in taken:
            continue
        if target not in FIELDS and target != "annual_revenue" and not template.has_question(target):
            continue
        for alias in aliases:
            hit = next((i for i, s in enumerate(squeezed) if s == alias and i not in at), None)
            if hit is not None:
                at[hit] = target
                taken.add(target)
                break
    names = set(squeezed)
    if mapping and mapping.columns:
        layout = "mapping"
    elif names & HUBSPOT_MARKS:
        layout = "hubspot"
    elif names & SALESFORCE_MARKS or "numberofemployees" in names and "id" in names:
        layout = "salesforce"
    else:
        layout = "generic"
    return at, layout


@dataclass
class _Revenue:
    amount: float
    deals: int
    first_won: date | None


def parse_accounts(
    text: str,
    template: Template,
    *,
    mapping: ColumnMapping | None = None,
    opportunities: Mapping[str, _Revenue] | None = None,
    require_revenue: bool = True,
    ignore: tuple[str, ...] = (),
    source: str = "<csv>",
) -> CustomerImport:
    """Read an accounts CSV (see the module docstring); ``require_revenue=False`` reads a prospect
    list, where revenue means nothing and every row counts."""
    text = text.lstrip("\ufeff")
    reader = csv.reader(io.StringIO(text), delimiter=_delimiter(text))
    try:
        header = next(reader)
    except StopIteration:
        raise CustomerFileError(source, ["the file is empty: expected a header row"]) from None
    columns = [h.strip() for h in header]
    at, layout = _resolve_columns(columns, template, mapping)
    targets = set(at.values())
    problems: list[str] = []
    dupes = sorted({c for c in columns if c and columns.count(c) > 1})
    if dupes:
        problems.append(f"line 1: duplicate column(s) {', '.join(dupes)}")
    if "id" not in targets and "name" not in targets:
        problems.append(f"line 1: no account id or name column (found: {', '.join(columns)[:200]}); "
                        "name one in a mapping file")
    warnings: list[str] = []
    revenue_from = "revenue"
    if require_revenue and opportunities is None and "revenue" not in targets:
        if "annual_revenue" in targets:
            revenue_from = "annual_revenue"
            warnings.append("revenue is the accounts' own AnnualRevenue, not what they paid us: pass "
                            "the closed-won opportunities (--opportunities) for a true picture")
        else:
            problems.append("line 1: no revenue column (HubSpot: Total Revenue; Salesforce: pass "
                            "the opportunities export); name one in a mapping file")
    trait_targets = [t for t in targets if t not in FIELDS and t != "annual_revenue"]
    if not trait_targets:
        problems.append(f"line 1: no column maps to a trait of template '{template.id}'")
    if problems:
        raise CustomerFileError(source, problems)
    known = {i for i in at}
    ignored = [c for i, c in enumerate(columns) if i not in known and c and c not in ignore]
    if ignored:
        warnings.append(f"ignored column(s): {', '.join(ignored)[:300]}")

    value_maps = mapping.values if mapping else {}
    errors: list[RowError] = []
    rows: list[AccountRow] = []
    seen: dict[str, int] = {}
    unmapped: dict[str, Counter[str]] = defaultdict(Counter)
    not_customers = 0
    id_index = next((i for i, t in at.items() if t == "id"), None)
    name_index = next((i for i, t in at.items() if t == "name"), None)
    for line, row in data_rows(reader, len(columns), errors):
        name = row[name_index].strip() if name_index is not None else ""
        account = row[id_index].strip() if id_index is not None else name
        if not account:
            errors.append(RowError(line, name or None, "the account id cell is empty"))
            continue
        if account in seen:
            errors.append(RowError(line, account, f"account already listed on line {seen[account]}"))
            continue
        seen[account] = line
        reasons: list[str] = []
        fields: dict[str, Any] = {}
        traits: dict[str, AnswerValue] = {}
        for i, target in at.items():
            cell = row[i]
            try:
                if target in ("revenue", "annual_revenue"):
                    if target == revenue_from:
                        fields["revenue"] = _money(cell)
                elif target == "deals":
                    if cell.strip():
                        deals = parse_number("deals", cell)
                        if deals < 0 or not deals.is_integer():
                            raise AnswerError("deals", f"'{cell}' is not a count of deals")
                        fields["deals"] = int(deals)
                elif target == "customer_since":
                    fields["customer_since"] = parse_date(cell)
                elif target in ("id", "name"):
                    continue
                else:
                    value = to_answer(template.question(target), cell, value_maps.get(target))
                    if value is not None:
                        traits[target] = value
            except _Unmapped as exc:
                unmapped[target][str(exc.args[0]).strip()] += 1
            except AnswerError as exc:
                reasons.append(f"{columns[i]}: {exc.message}")
            except ValueError as exc:
                reasons.append(f"{columns[i]}: {exc}")
        if opportunities is not None:
            won = opportunities.get(salesforce_key(account)) or opportunities.get(name)
            fields["revenue"] = won.amount if won else None
            if won:
                fields["deals"] = won.deals
                fields["customer_since"] = fields.get("customer_since") or won.first_won
        if reasons:
            errors.append(RowError(line, account, "; ".join(reasons)))
            continue
        revenue = fields.get("revenue")
        if require_revenue and not revenue:
            not_customers += 1
            continue
        customer = Customer(id=account[:100], name=name[:200] or None, revenue=revenue or 0.0,
                            deals=fields.get("deals"), customer_since=fields.get("customer_since"),
                            traits=traits)
        rows.append(AccountRow(line=line, cells=dict(zip(columns, row, strict=True)), customer=customer))
    if errors:
        raise CustomerFileError(source, errors)
    if not_customers:
        warnings.append(f"left out {not_customers} row(s) with no revenue (not customers yet)")
    for target, counts in unmapped.items():
        listed = ", ".join(f"'{v}' ({n})" for v, n in counts.most_common(10))
        warnings.append(f"{target}: value(s) mapped to no option, left unknown: {listed}; "
                        "map them in a mapping file (--mapping)")
    if require_revenue and not rows:
        raise CustomerFileError(source, ["no customer with revenue in the file"])
    return CustomerImport(
        customers=[r.customer for r in rows],
        layout=layout,
        columns={columns[i]: t for i, t in sorted(at.items())},
        warnings=warnings,
        rows=rows,
        header=columns,
    )


def _truthy(text: str) -> bool:
    return squeeze(text) in ("true", "1", "yes", "y", "won")


OPPORTUNITY_ALIASES: dict[str, tuple[str, ...]] = {
    "account": ("accountid", "account"),
    "account_name": ("accountname",),
    "amount": ("amount",),
    "stage": ("stagename", "stage"),
    "won": ("iswon", "won"),
    "close": ("closedate",),
}


def salesforce_key(record_id: str) -> str:
    """A Salesforce record id as compared: the 18-character id is the 15-character one (as report
    exports show it) plus a 3-character checksum, so both become the 15-character form."""
    record_id = record_id.strip()
    return record_id[:15] if len(record_id) == 18 and record_id.isalnum() else record_id


def parse_opportunities(text: str, *, source: str = "<opportunities>") -> tuple[dict[str, _Revenue], list[str]]:
    """Closed-won opportunity amounts summed per account (Salesforce: AccountId, Amount, StageName
    or IsWon, CloseDate). An opportunity is won when IsWon is true or, with no IsWon column,
    its stage is "Closed Won". Sums are keyed by ``salesforce_key(AccountId)``, or by Account
    Name when the file has no AccountId column (a report export), which the accounts file's
    name column then matches.
    Returns the sums and warnings; raises CustomerFileError naming each bad line."""
    text = text.lstrip("\ufeff")
    reader = csv.reader(io.StringIO(text), delimiter=_delimiter(text))
    try:
        header = [squeeze(h) for h in next(reader)]
    except StopIteration:
        raise CustomerFileError(source, ["the file is empty: expected a header row"]) from None
    at: dict[str, int] = {}
    for key, aliases in OPPORTUNITY_ALIASES.items():
        for alias in aliases:
            if alias in header:
                at[key] = header.index(alias)
                break
    key_column = "account" if "account" in at or "account_name" not in at else "account_name"
    missing = [k for k in (key_column, "amount") if k not in at]
    if "won" not in at and "stage" not in at:
        missing.append("IsWon or StageName")
    if missing:
        raise CustomerFileError(source, [f"line 1: no {', '.join(missing)} column"])
    sums: dict[str, _Revenue] = {}
    errors: list[RowError] = []
    lost = 0
    while True:
        line = reader.line_num + 1
        try:
            row = next(reader)
        except StopIteration:
            break
        if not any(c.strip() for c in row):
            continue
        if len(row) != len(header):
            errors.append(RowError(line, None, f"has {len(row)} cells, the header has {len(header)}"))
            continue
        account = row[at[key_column]].strip()
        if key_column == "account":
            account = salesforce_key(account)
        won = _truthy(row[at["won"]]) if "won" in at else squeeze(row[at["stage"]]) == "closedwon"
        if not won:
            lost += 1
            continue
        try:
            amount = _money(row[at["amount"]]) or 0.0
            closed = parse_date(row[at["close"]]) if "close" in at else None
        except (AnswerError, ValueError) as exc:
            errors.append(RowError(line, account or None, getattr(exc, "message", str(exc))))
            continue
        if not account:
            errors.append(RowError(line, None, "the account cell is empty"))
            continue
        old = sums.get(account, _Revenue(0.0, 0, None))
        first = min((d for d in (old.first_won, closed) if d is not None), default=None)
        sums[account] = _Revenue(old.amount + amount, old.deals + 1, first)
    if errors:
        raise CustomerFileError(source, errors)
    warnings = [f"{lost} opportunity(ies) not closed-won, not counted"] if lost else []
    return sums, warnings


def _read(path: str | Path) -> str:
    path = Path(path)
    try:
        return path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise CustomerFileError(str(path), [f"not UTF-8 text (byte {exc.start}); export as CSV UTF-8"]) from exc
    except OSError as exc:
        raise CustomerFileError(str(path), [f"cannot read the file ({exc.strerror})"]) from exc


def read_customers(
    path: str | Path,
    template: Template,
    *,
    mapping: str | Path | None = None,
    opportunities: str | Path | None = None,
    require_revenue: bool = True,
    ignore: tuple[str, ...] = (),
) -> CustomerImport:
    """Read a customer (or, with ``require_revenue=False``, prospect) CSV file, with an optional
    mapping file and Salesforce opportunities export; ``ignore`` names columns to pass over
    without a warning."""
    loaded = load_mapping(mapping, template) if mapping else None
    extra: list[str] = []
    sums = None
    if opportunities:
        sums, extra = parse_opportunities(_read(opportunities), source=str(opportunities))
    result = parse_accounts(_read(path), template, mapping=loaded, opportunities=sums,
                            require_revenue=require_revenue, ignore=ignore, source=str(path))
    if sums is not None:
        known = {salesforce_key(c.id) for c in result.customers} | {c.name for c in result.customers if c.name}
        unmatched = sorted(set(sums) - known)
        if unmatched:
            extra.append(f"{len(unmatched)} account id(s) of won opportunities are not in the "
                         f"accounts file: {', '.join(unmatched[:5])}")
    result.warnings.extend(extra)
    return result
