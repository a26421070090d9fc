"""Customers pulled straight from a CRM: HubSpot (``pip install 'icp-align[hubspot]'``) and
Salesforce (``'icp-align[salesforce]'``).

Each connector reads the same fields as the CSV export and hands them, as CSV in the
export's own layout, to ``survey.customers``: the mapping, validation and all-or-nothing
rules are those of a file import, so a pulled list and an exported one give the same
customers.

- HubSpot: ``crm.companies.basic_api.get_page`` of ``hubspot-api-client`` (a private-app
  token with ``crm.objects.companies.read``), 100 companies a page, following
  ``paging.next.after``. Properties by internal name: ``name``, ``industry``,
  ``numberofemployees``, ``country``, ``total_revenue`` (closed-won deal amounts, HubSpot's
  own roll-up), ``num_associated_deals``, ``closedate``.
- Salesforce: ``query_all`` of ``simple-salesforce`` for the accounts
  (``Id, Name, Industry, NumberOfEmployees, BillingCountry, AnnualRevenue``) and the won
  opportunities (``AccountId, Amount, StageName, IsWon, CloseDate``), summed per account.

The clients are duck-typed: tests pass fakes that replay recorded API responses.
"""

from __future__ import annotations

import csv
import io
import os
from collections.abc import Iterable, Mapping
from typing import Any

from survey.customer_mapping import ColumnMapping
from survey.customers import CustomerImport, parse_accounts, parse_opportunities
from survey.template import Template

HUBSPOT_PROPERTIES = {
    "name": "Company name",
    "industry": "Industry",
    "numberofemployees": "Number of Employees",
    "country": "Country/Region",
    "total_revenue": "Total Revenue",
    "num_associated_deals": "Number of Associated Deals",
    "closedate": "Close Date",
}
SALESFORCE_ACCOUNTS = "SELECT Id, Name, Industry, NumberOfEmployees, BillingCountry, AnnualRevenue FROM Account"
SALESFORCE_OPPORTUNITIES = "SELECT AccountId, Amount, StageName, IsWon, CloseDate FROM Opportunity WHERE IsWon = true"
PAGE_SIZE = 100
MAX_PAGES = 10_000  # 1,000,000 companies: a guard against a cursor that never ends


class ConnectorError(RuntimeError):
    """The CRM cannot be reached as configured; the message says what to set or install."""


def _as_dict(obj: Any) -> dict[str, Any]:
    """An SDK model (``to_dict()``) or a plain dict, as a dict."""
    return obj.to_dict() if hasattr(obj, "to_dict") else dict(obj)


def _csv(header: list[str], rows: Iterable[Mapping[str, Any]]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=header, lineterminator="\n", extrasaction="ignore")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: "" if v is None else v for k, v in row.items()})
    return out.getvalue()


def hubspot_companies(client: Any) -> list[dict[str, Any]]:
    """Every company of the portal: ``{"id": ..., "properties": {...}}`` per company."""
    companies: list[dict[str, Any]] = []
    after: str | None = None
    for _ in range(MAX_PAGES):
        page = _as_dict(client.crm.companies.basic_api.get_page(
            limit=PAGE_SIZE, after=after, properties=list(HUBSPOT_PROPERTIES), archived=False))
        companies.extend(page.get("results") or [])
        after = ((page.get("paging") or {}).get("next") or {}).get("after")
        if not after:
            return companies
    raise ConnectorError(f"HubSpot kept paging after {MAX_PAGES} pages; stopped")


def hubspot_customers(client: Any, template: Template, mapping: ColumnMapping | None = None) -> CustomerImport:
    """The HubSpot companies as customers (those with Total Revenue)."""
    rows = [{"Record ID": c.get("id"), **{label: (c.get("properties") or {}).get(name)
                                          for name, label in HUBSPOT_PROPERTIES.items()}}
            for c in hubspot_companies(client)]
    text = _csv(["Record ID", *HUBSPOT_PROPERTIES.values()], rows)
    return parse_accounts(text, template, mapping=mapping, source="HubSpot companies")


def _records(result: Mapping[str, Any]) -> list[dict[str, Any]]:
    return [{k: v for k, v in r.items() if k != "attributes"} for r in result.get("records") or []]


def salesforce_customers(client: Any, template: Template, mapping: ColumnMapping | None = None) -> CustomerImport:
    """The Salesforce accounts as customers, revenue = their won opportunities' amounts."""
    accounts = _records(client.query_all(SALESFORCE_ACCOUNTS))
    opportunities = _records(client.query_all(SALESFORCE_OPPORTUNITIES))
    opp_text = _csv(["AccountId", "Amount", "StageName", "IsWon", "CloseDate"],
                    ({**o, "IsWon": "true" if o.get("IsWon") else "false"} for o in opportunities))
    sums, warnings = parse_opportunities(opp_text, source="Salesforce opportunities")
    text = _csv(["Id", "Name", "Industry", "NumberOfEmployees", "BillingCountry", "AnnualRevenue"], accounts)
    result = parse_accounts(text, template, mapping=mapping, opportunities=sums, source="Salesforce accounts")
    result.warnings.extend(warnings)
    return result


def hubspot_client_from_env() -> Any:
    """A HubSpot client from ``HUBSPOT_ACCESS_TOKEN`` (a private app's token)."""
    token = os.environ.get("HUBSPOT_ACCESS_TOKEN")
    if not token:
        raise ConnectorError("set HUBSPOT_ACCESS_TOKEN to a private app token with crm.objects.companies.read")
    try:
        from hubspot import HubSpot
    except ImportError as exc:
        raise ConnectorError("install the HubSpot client: pip install 'icp-align[hubspot]'") from exc
    return HubSpot(access_token=token)


def salesforce_client_from_env() -> Any:
    """A Salesforce client from ``SALESFORCE_USERNAME``, ``SALESFORCE_PASSWORD`` and
    ``SALESFORCE_SECURITY_TOKEN`` (``SALESFORCE_DOMAIN=test`` for a sandbox)."""
    names = ("SALESFORCE_USERNAME", "SALESFORCE_PASSWORD", "SALESFORCE_SECURITY_TOKEN")
    missing = [n for n in names if not os.environ.get(n)]
    if missing:
        raise ConnectorError(f"set {', '.join(missing)}")
    try:
        from simple_salesforce import Salesforce
    except ImportError as exc:
        raise ConnectorError("install the Salesforce client: pip install 'icp-align[salesforce]'") from exc
    extra = {"domain": os.environ["SALESFORCE_DOMAIN"]} if os.environ.get("SALESFORCE_DOMAIN") else {}
    return Salesforce(username=os.environ["SALESFORCE_USERNAME"], password=os.environ["SALESFORCE_PASSWORD"],
                      security_token=os.environ["SALESFORCE_SECURITY_TOKEN"], **extra)


CONNECTORS = {
    "hubspot": (hubspot_client_from_env, hubspot_customers),
    "salesforce": (salesforce_client_from_env, salesforce_customers),
}
