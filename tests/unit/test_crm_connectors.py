"""The CRM connectors against API responses in HubSpot's and Salesforce's shapes (JSON
fixtures built from the sample exports), through fake clients: never the real services.

A pulled list must give the very customers the CSV export of the same CRM gives.
"""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path
from types import SimpleNamespace

import pytest

from bot import crm_connectors
from survey.customers import CustomerFileError, read_customers
from survey.template import load_builtin

FIXTURES = Path(__file__).parent / "fixtures" / "crm"
SAMPLES = Path(str(resources.files("survey.samples")))
TEMPLATE = load_builtin("icp-core")


def _json(name: str) -> dict:
    return json.loads((FIXTURES / name).read_text("utf-8"))


class Page:
    """What hubspot-api-client's models offer: ``to_dict()``."""

    def __init__(self, data: dict):
        self._data = data

    def to_dict(self) -> dict:
        return self._data


class FakeHubSpot:
    """Replays the recorded pages by their ``after`` cursor and records each call."""

    def __init__(self, pages: dict[str | None, dict]):
        self.calls: list[dict] = []
        self.pages = pages
        self.crm = SimpleNamespace(companies=SimpleNamespace(basic_api=SimpleNamespace(get_page=self.get_page)))

    def get_page(self, **kwargs):
        self.calls.append(kwargs)
        return Page(self.pages[kwargs["after"]])


class FakeSalesforce:
    def __init__(self, answers: dict[str, dict]):
        self.answers = answers
        self.queries: list[str] = []

    def query_all(self, soql: str) -> dict:
        self.queries.append(soql)
        return self.answers[soql.split(" FROM ")[1].split()[0]]


def test_hubspot_connector_follows_the_paging_and_matches_the_export() -> None:
    first, second = _json("hubspot_companies_page1.json"), _json("hubspot_companies_page2.json")
    client = FakeHubSpot({None: first, first["paging"]["next"]["after"]: second})
    pulled = crm_connectors.hubspot_customers(client, TEMPLATE)
    assert [c["after"] for c in client.calls] == [None, "9100000178"]
    assert all(c["limit"] == 100 and "total_revenue" in c["properties"] for c in client.calls)
    exported = read_customers(SAMPLES / "customers-hubspot.csv", TEMPLATE)
    assert pulled.customers == exported.customers  # COMPUTER_SOFTWARE reads as Computer Software
    assert len(pulled.customers) == 45


def test_salesforce_connector_sums_won_opportunities_and_matches_the_export() -> None:
    client = FakeSalesforce({"Account": _json("salesforce_accounts.json"),
                             "Opportunity": _json("salesforce_opportunities.json")})
    pulled = crm_connectors.salesforce_customers(client, TEMPLATE)
    assert client.queries == [crm_connectors.SALESFORCE_ACCOUNTS, crm_connectors.SALESFORCE_OPPORTUNITIES]
    exported = read_customers(SAMPLES / "customers-salesforce.csv", TEMPLATE,
                              opportunities=SAMPLES / "opportunities-salesforce.csv")
    assert pulled.customers == exported.customers
    won = {}
    for o in _json("salesforce_opportunities.json")["records"]:
        won[o["AccountId"]] = won.get(o["AccountId"], 0.0) + o["Amount"]
    assert {c.id: c.revenue for c in pulled.customers} == pytest.approx(won)


def test_a_bad_record_is_refused_like_a_bad_row() -> None:
    page = _json("hubspot_companies_page2.json")
    page["results"][0]["properties"]["total_revenue"] = "n/a"
    first = _json("hubspot_companies_page1.json")
    client = FakeHubSpot({None: first, first["paging"]["next"]["after"]: page})
    with pytest.raises(CustomerFileError) as caught:
        crm_connectors.hubspot_customers(client, TEMPLATE)
    assert "Total Revenue: 'n/a' is not a number" in str(caught.value)


def test_clients_from_the_environment_say_what_is_missing(monkeypatch) -> None:
    monkeypatch.delenv("HUBSPOT_ACCESS_TOKEN", raising=False)
    with pytest.raises(crm_connectors.ConnectorError, match="HUBSPOT_ACCESS_TOKEN"):
        crm_connectors.hubspot_client_from_env()
    monkeypatch.setenv("SALESFORCE_USERNAME", "me@example.com")
    monkeypatch.delenv("SALESFORCE_PASSWORD", raising=False)
    monkeypatch.delenv("SALESFORCE_SECURITY_TOKEN", raising=False)
    with pytest.raises(crm_connectors.ConnectorError, match="SALESFORCE_PASSWORD, SALESFORCE_SECURITY_TOKEN"):
        crm_connectors.salesforce_client_from_env()


def test_customers_import_from_a_crm_names_what_is_missing(tmp_path, monkeypatch, capsys) -> None:
    from bot.cli import main

    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'icp.db'}")
    monkeypatch.delenv("HUBSPOT_ACCESS_TOKEN", raising=False)
    assert main(["customers", "import", "--from", "hubspot", "--team", "T1"]) == 2
    assert "error: hubspot: set HUBSPOT_ACCESS_TOKEN" in capsys.readouterr().err
    assert main(["customers", "import", "--team", "T1"]) == 2
    assert "give a CSV file or --from" in capsys.readouterr().err


def test_customers_import_from_hubspot_stores_the_pulled_list(tmp_path, monkeypatch, capsys) -> None:
    from bot.cli import main
    from storage import customer_lists
    from storage.db import Database

    first, second = _json("hubspot_companies_page1.json"), _json("hubspot_companies_page2.json")
    fake = FakeHubSpot({None: first, first["paging"]["next"]["after"]: second})
    monkeypatch.setitem(crm_connectors.CONNECTORS, "hubspot", (lambda: fake, crm_connectors.hubspot_customers))
    url = f"sqlite:///{tmp_path / 'icp.db'}"
    monkeypatch.setenv("DATABASE_URL", url)
    assert main(["customers", "import", "--from", "hubspot", "--team", "T1"]) == 0
    assert "imported 45 customers (hubspot layout" in capsys.readouterr().out
    db = Database(url)
    with db.session() as s:
        stored = customer_lists.list_customers(s, "T1")
    db.dispose()
    exported = read_customers(SAMPLES / "customers-hubspot.csv", TEMPLATE).customers
    assert sorted(stored, key=lambda c: c.id) == sorted(exported, key=lambda c: c.id)
