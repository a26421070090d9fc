"""Customer lists from CRM exports: HubSpot's and Salesforce's field names, mapping files,
bands, bad rows by line, all-or-nothing. Expected values are worked out by hand (plain csv and
arithmetic), not by the code under test."""

from __future__ import annotations

import csv
import math
from importlib import resources
from pathlib import Path

import pytest

from survey.crm_values import band_of
from survey.customer_mapping import CustomerFileError, parse_mapping
from survey.customers import parse_accounts, parse_opportunities, read_customers
from survey.template import load_builtin

SAMPLES = Path(str(resources.files("survey.samples")))
HUBSPOT = SAMPLES / "customers-hubspot.csv"
SALESFORCE = SAMPLES / "customers-salesforce.csv"
OPPORTUNITIES = SAMPLES / "opportunities-salesforce.csv"
TEMPLATE = load_builtin("icp-core")


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def hand_band(employees: int) -> str:
    """icp-core's company_size bands, written out."""
    for low, high, option in [(1, 10, "1-10"), (11, 50, "11-50"), (51, 200, "51-200"),
                              (201, 1000, "201-1000"), (1001, 5000, "1001-5000")]:
        if low <= employees <= high:
            return option
    return "5000-plus"


def test_hubspot_export_is_read_with_its_own_column_names() -> None:
    result = read_customers(HUBSPOT, TEMPLATE)
    rows = _rows(HUBSPOT)
    paying = [r for r in rows if r["Total Revenue"].strip()]
    assert result.layout == "hubspot"
    assert len(result.customers) == len(paying) == 45
    assert result.total_revenue == pytest.approx(sum(float(r["Total Revenue"]) for r in paying))
    assert any("left out 2 row(s) with no revenue" in w for w in result.warnings)
    by_id = {c.id: c for c in result.customers}
    for r in paying:
        c = by_id[r["Record ID"]]
        assert c.name == r["Company name"]
        assert c.revenue == float(r["Total Revenue"])  # Total Revenue, not the company's Annual Revenue
        assert c.deals == int(r["Number of Associated Deals"])
        assert c.customer_since.isoformat() == r["Became a Customer Date"]
        assert c.traits["company_size"] == hand_band(int(r["Number of Employees"]))
    first = by_id[paying[0]["Record ID"]]
    assert paying[0]["Industry"] == "Computer Software" and first.traits["industry"] == ["software"]
    assert paying[0]["Country/Region"] == "United States" and first.traits["regions"] == ["north_america"]


def test_salesforce_accounts_take_revenue_from_closed_won_opportunities() -> None:
    result = read_customers(SALESFORCE, TEMPLATE, opportunities=OPPORTUNITIES)
    won: dict[str, float] = {}
    count: dict[str, int] = {}
    for o in _rows(OPPORTUNITIES):
        if o["IsWon"] == "true":
            won[o["AccountId"]] = won.get(o["AccountId"], 0.0) + float(o["Amount"])
            count[o["AccountId"]] = count.get(o["AccountId"], 0) + 1
    assert result.layout == "salesforce"
    assert {c.id: c.revenue for c in result.customers} == pytest.approx(won)
    assert {c.id: c.deals for c in result.customers} == count
    accounts = {a["Id"]: a for a in _rows(SALESFORCE)}
    for c in result.customers:
        assert c.traits["company_size"] == hand_band(int(accounts[c.id]["NumberOfEmployees"]))
    # The same company in both CRMs: the same customers, revenue and traits by name.
    hubspot = {c.name: c for c in read_customers(HUBSPOT, TEMPLATE).customers}
    for c in result.customers:
        assert (c.revenue, c.traits) == (hubspot[c.name].revenue, hubspot[c.name].traits)


def test_salesforce_without_opportunities_falls_back_to_annual_revenue_with_a_warning() -> None:
    result = read_customers(SALESFORCE, TEMPLATE)
    assert result.customers[0].revenue == float(_rows(SALESFORCE)[0]["AnnualRevenue"])
    assert any("AnnualRevenue" in w and "--opportunities" in w for w in result.warnings)


@pytest.mark.parametrize(("employees", "band"), [
    (1, "1-10"), (10, "1-10"), (11, "11-50"), (200, "51-200"), (201, "201-1000"), (250, "201-1000"),
    (1000, "201-1000"), (5000, "1001-5000"), (5001, "5000-plus"), (120000, "5000-plus"),
])
def test_employee_counts_fall_into_the_template_bands(employees: int, band: str) -> None:
    assert band_of(TEMPLATE.question("company_size"), employees) == band == hand_band(employees)


def test_a_count_is_never_read_as_the_option_it_squeezes_to() -> None:
    # squeezed, "1-10" is "110", "11-50" is "1150" and "51-200" is "51200"
    text = "Record ID,Number of Employees,Total Revenue\n1,110,5\n2,\"1,150\",5\n3,51200,5\n4,2.5k,5\n"
    sizes = [c.traits["company_size"] for c in parse_accounts(text, TEMPLATE).customers]
    assert sizes == [hand_band(110), hand_band(1150), hand_band(51200), hand_band(2500)]
    assert sizes == ["51-200", "1001-5000", "5000-plus", "1001-5000"]
    labels = "Record ID,Number of Employees,Total Revenue\n1,51-200 employees,5\n2,More than 5000 employees,5\n"
    assert [c.traits["company_size"] for c in parse_accounts(labels, TEMPLATE).customers] == ["51-200", "5000-plus"]


def test_bad_rows_are_named_by_line_and_nothing_is_imported() -> None:
    text = ("Record ID,Company name,Industry,Number of Employees,Country/Region,Total Revenue\n"
            "1,Good,Computer Software,40,Canada,1000\n"
            "2,Bad revenue,Computer Software,40,Canada,lots\n"
            "1,Twice,Retail,40,Canada,500\n"
            "3,Negative staff,Retail,-5,Canada,500\n"
            "4,Short row,Retail\n")
    with pytest.raises(CustomerFileError) as caught:
        parse_accounts(text, TEMPLATE, source="crm.csv")
    lines = {e.line: e.reason for e in caught.value.errors}
    assert sorted(lines) == [3, 4, 5, 6]
    assert "Total Revenue" in lines[3] and "not a number" in lines[3]
    assert "already listed on line 2" in lines[4]
    assert "below 0" in lines[5]
    assert "has 3 cells" in lines[6]
    assert str(caught.value).startswith("crm.csv: 4 problem(s)")


def test_unmapped_values_leave_the_trait_unknown_with_a_warning() -> None:
    text = ("Record ID,Industry,Country/Region,Total Revenue\n"
            "1,Underwater Basket Weaving,Atlantis,100\n2,Underwater Basket Weaving,Canada,200\n")
    result = parse_accounts(text, TEMPLATE)
    assert [c.traits for c in result.customers] == [{}, {"regions": ["north_america"]}]
    assert any("industry" in w and "'Underwater Basket Weaving' (2)" in w for w in result.warnings)
    assert any("regions" in w and "'Atlantis' (1)" in w for w in result.warnings)


def test_columns_named_after_question_ids_are_answers() -> None:
    text = "name,revenue,decision_maker,innovation_attitude\nA,10,VP,4 - Early adopter\nB,5,cfo,2\n"
    result = parse_accounts(text, TEMPLATE)
    assert result.customers[0].traits == {"decision_maker": "vp", "innovation_attitude": 4}
    assert result.customers[1].traits == {"innovation_attitude": 2}  # 'cfo' is no option: unknown
    assert any("decision_maker" in w and "'cfo' (1)" in w for w in result.warnings)
    with pytest.raises(CustomerFileError) as caught:  # a scale point out of range is malformed
        parse_accounts(text.replace(",2\n", ",9\n"), TEMPLATE)
    assert [(e.line, e.respondent) for e in caught.value.errors] == [(3, "B")]
    assert "innovation_attitude: must be a whole number from 1 to 5" in caught.value.errors[0].reason


YAML_MAPPING = """
columns:
  Account Number: id
  Lifetime value: revenue
  Sector: industry
  Headcount: company_size
  HQ: regions
values:
  industry:
    Fintech: [financial_services, software]
    Computer Software: software
"""
CSV_MAPPING = """column,target,value,option
Account Number,id,,
Lifetime value,revenue,,
Sector,industry,Fintech,financial_services;software
Sector,industry,Computer Software,software
Headcount,company_size,,
HQ,regions,,
"""
OWN_LAYOUT = ("Account Number;Sector;Headcount;HQ;Lifetime value\n"
              "A-1;Fintech;250;UK;12.500\n"
              "A-2;Computer Software;51;Japan;$8k\n")


@pytest.mark.parametrize(("mapping_text", "csv_format"), [(YAML_MAPPING, False), (CSV_MAPPING, True)])
def test_a_mapping_file_reads_another_layout(mapping_text: str, csv_format: bool) -> None:
    mapping = parse_mapping(mapping_text, TEMPLATE, csv_format=csv_format)
    result = parse_accounts(OWN_LAYOUT.replace("12.500", "12500"), TEMPLATE, mapping=mapping)
    assert result.layout == "mapping"
    a1, a2 = result.customers
    assert (a1.id, a1.revenue, a1.traits) == ("A-1", 12500.0, {
        "industry": ["financial_services", "software"], "company_size": "201-1000", "regions": ["uk_ireland"]})
    assert (a2.id, a2.revenue, a2.traits) == ("A-2", 8000.0, {
        "industry": ["software"], "company_size": "51-200", "regions": ["apac"]})


def test_a_mapping_file_is_checked_against_the_template() -> None:
    bad = "columns:\n  Sector: sector\nvalues:\n  industry:\n    Fintech: fintech\n  company_size:\n    x: y\n"
    with pytest.raises(CustomerFileError) as caught:
        parse_mapping(bad, TEMPLATE, source="map.yaml")
    text = str(caught.value)
    assert "'sector' is neither a field" in text
    assert "'fintech' is not one of the options" in text
    assert "company_size: x" in text and "'y' is not one of the options" in text


def test_a_file_without_revenue_or_traits_is_refused_at_the_header() -> None:
    with pytest.raises(CustomerFileError) as caught:
        parse_accounts("Record ID,Colour\n1,blue\n", TEMPLATE)
    text = str(caught.value)
    assert "no revenue column" in text and "no column maps to a trait" in text


def test_opportunities_sum_closed_won_by_account() -> None:
    text = ("AccountId,Amount,StageName,CloseDate\n"
            "A,1000,Closed Won,2024-01-05\nA,250.50,Closed Won,2023-06-01\n"
            "A,9999,Closed Lost,2024-02-01\nB,300,Negotiation,2024-03-01\nC,40,Closed Won,2024-04-01\n")
    sums, warnings = parse_opportunities(text)
    assert {k: (v.amount, v.deals, v.first_won.isoformat()) for k, v in sums.items()} == {
        "A": (1250.5, 2, "2023-06-01"), "C": (40.0, 1, "2024-04-01")}
    assert warnings == ["2 opportunity(ies) not closed-won, not counted"]
    with pytest.raises(CustomerFileError) as caught:
        parse_opportunities("AccountId,Amount,IsWon\nA,ten,true\nB,5,false\nC,-1,true\n")
    assert [e.line for e in caught.value.errors] == [2, 4]


def test_total_revenue_is_a_plain_sum() -> None:
    text = "Record ID,Industry,Total Revenue\n1,Retail,\"1,000.25\"\n2,Banking,$2k\n3,Retail,0\n"
    result = parse_accounts(text, TEMPLATE)
    assert [c.revenue for c in result.customers] == [1000.25, 2000.0]
    assert math.isclose(result.total_revenue, 3000.25)


def test_opportunities_match_accounts_by_15_or_18_character_id_or_by_name() -> None:
    accounts = ("Id,Name,Industry\n001Hp00002AbCdEQAA,Alpha,Banking\n001Hp00002AbCdF,Beta,Retail\n"
                "001Hp00002AbCdG,Gamma,Retail\n")
    by_id = ("AccountId,Amount,IsWon\n001Hp00002AbCdE,100,true\n001Hp00002AbCdFXYZ,50,true\n"
             "001Hp00002AbCdF,25,true\n")
    sums, _ = parse_opportunities(by_id)
    result = parse_accounts(accounts, TEMPLATE, opportunities=sums)
    assert {c.name: c.revenue for c in result.customers} == {"Alpha": 100.0, "Beta": 75.0}
    by_name = "Account Name,Amount,Stage\nGamma,40,Closed Won\nAlpha,10,Closed Won\n"
    sums, _ = parse_opportunities(by_name)
    result = parse_accounts(accounts, TEMPLATE, opportunities=sums)
    assert {c.name: c.revenue for c in result.customers} == {"Alpha": 10.0, "Gamma": 40.0}
