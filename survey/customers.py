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
from collections import Counter, defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from survey.answers import AnswerError, AnswerValue, parse_number
from survey.crm_values import UnmappedValue, parse_date, parse_money, to_answer
from survey.crm_vocabulary import ALIASES, FIELDS, HUBSPOT_MARKS, SALESFORCE_MARKS, squeeze
from survey.customer_mapping import ColumnMapping, CustomerFileError, load_mapping
from survey.spreadsheet import RowError, data_rows
from survey.template import Template

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
                        fields["revenue"] = parse_money(cell)
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
            except UnmappedValue as exc:
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
            amount = parse_money(row[at["amount"]]) or 0.0
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
