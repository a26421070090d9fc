"""`icp-bot report --customers`, `icp-bot customers import` and `icp-bot fit` on the shipped
samples, their figures recomputed by hand from the CSV files (csv module and arithmetic only).
"""

from __future__ import annotations

import csv
import io
import json
import math
import statistics
from importlib import resources
from pathlib import Path

import pytest

from bot.cli import main
from storage import customer_lists, icp
from storage.db import Database

SAMPLES = Path(str(resources.files("survey.samples")))
ANSWERS = SAMPLES / "icp-sample-30.csv"
HUBSPOT = SAMPLES / "customers-hubspot.csv"
SALESFORCE = SAMPLES / "customers-salesforce.csv"
OPPORTUNITIES = SAMPLES / "opportunities-salesforce.csv"
PROSPECTS = SAMPLES / "prospects-hubspot.csv"

# The CRM values that occur in the samples, as a person maps them to icp-core's options.
INDUSTRY = {"Computer Software": "software", "Financial Services": "financial_services",
            "Banking": "financial_services", "Insurance": "financial_services",
            "Hospital & Health Care": "healthcare", "Retail": "retail",
            "Management Consulting": "professional_services", "Higher Education": "education"}
REGION = {"United States": "north_america", "Canada": "north_america", "United Kingdom": "uk_ireland",
          "Germany": "europe", "France": "europe", "Netherlands": "europe", "Australia": "anz"}


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def band(employees: int) -> str:
    for high, option in [(10, "1-10"), (50, "11-50"), (200, "51-200"), (1000, "201-1000"), (5000, "1001-5000")]:
        if employees <= high:
            return option
    return "5000-plus"


def hand_hubspot() -> list[tuple[str, float, str, str, str]]:
    """(id, revenue, size, industry, region) of the paying HubSpot companies."""
    return [(r["Record ID"], float(r["Total Revenue"]), band(int(r["Number of Employees"])),
             INDUSTRY[r["Industry"]], REGION[r["Country/Region"]])
            for r in _rows(HUBSPOT) if r["Total Revenue"]]


def staff_mode(column: str) -> tuple[str, float]:
    answers = [r[column] for r in _rows(ANSWERS) if r[column]]
    mode = statistics.mode(answers)
    return mode, answers.count(mode) / len(answers)


def report_json(capsys, *extra: str) -> dict:
    assert main(["report", "--answers", str(ANSWERS), "--bootstrap", "0", "--format", "json", *extra]) == 0
    return json.loads(capsys.readouterr().out)


def test_report_shows_perception_and_reality_from_a_hubspot_export(capsys) -> None:
    data = report_json(capsys, "--customers", str(HUBSPOT))
    reality = data["reality"]
    paying = hand_hubspot()
    top = sorted(paying, key=lambda c: (-c[1], c[0]))[: math.ceil(0.2 * len(paying))]
    total, top_revenue = sum(c[1] for c in paying), sum(c[1] for c in top)
    staff_share = statistics.median(float(r["top20_revenue_share"]) for r in _rows(ANSWERS)
                                    if r["top20_revenue_share"]) / 100
    rc = reality["revenue_concentration"]
    assert (rc["customers"], rc["top_customers"]) == (len(paying), len(top)) == (45, 9)
    assert rc["share"] == pytest.approx(top_revenue / total)
    assert rc["staff_estimate"] == pytest.approx(staff_share) == pytest.approx(0.65)

    traits = {t["question_id"]: t for t in reality["traits"]}
    size = traits["company_size"]
    sizes = [c[2] for c in top]
    most = max(sorted(set(sizes)), key=sizes.count)
    staff_size, staff_size_share = staff_mode("company_size")
    assert (size["top_answer"], size["top_share"]) == (most, pytest.approx(sizes.count(most) / len(top)))
    assert (most, sizes.count(most)) == ("201-1000", 5)
    assert (size["staff_consensus"], size["staff_share"]) == (staff_size, pytest.approx(staff_size_share))
    assert size["match_index"] == pytest.approx(sizes.count(staff_size) / len(top))
    industries = [c[3] for c in top]
    assert traits["industry"]["top_answer"] == max(set(industries), key=industries.count) == "software"
    assert traits["industry"]["top_share"] == pytest.approx(industries.count("software") / len(top))
    consensus_industry = set(data["profile"]["traits"][[t["question_id"] for t in data["profile"]["traits"]].index("industry")]["value"])
    assert traits["industry"]["match_index"] == pytest.approx(sum(i in consensus_industry for i in industries) / len(top))
    regions = [c[4] for c in top]
    assert traits["regions"]["match_index"] == pytest.approx(regions.count("north_america") / len(top))
    assert reality["largest_gap"] == "company_size"

    personas = reality["personas"]
    assert 2 <= len(personas) <= 3
    assert sum(p["customers"] for p in personas) == len(top)
    assert sum(p["revenue"] for p in personas) == pytest.approx(top_revenue)
    assert all(p["name"] and p["traits"] for p in personas)


def test_a_salesforce_export_with_opportunities_gives_the_same_comparison(capsys) -> None:
    hubspot = report_json(capsys, "--customers", str(HUBSPOT))["reality"]
    salesforce = report_json(capsys, "--customers", str(SALESFORCE), "--opportunities", str(OPPORTUNITIES))["reality"]
    won: dict[str, float] = {}
    for o in _rows(OPPORTUNITIES):
        if o["StageName"] == "Closed Won":
            won[o["AccountId"]] = won.get(o["AccountId"], 0.0) + float(o["Amount"])
    amounts = sorted(won.values(), reverse=True)
    top = amounts[: math.ceil(0.2 * len(amounts))]
    assert salesforce["revenue_concentration"]["share"] == pytest.approx(sum(top) / sum(amounts))
    assert salesforce == hubspot  # the samples are one company in two CRMs


def test_text_and_markdown_carry_the_section(capsys) -> None:
    assert main(["report", "--answers", str(ANSWERS), "--bootstrap", "0", "--customers", str(HUBSPOT)]) == 0
    text = capsys.readouterr().out
    assert "Perception and reality" in text
    assert ("Largest gap: Staff say 51-200 employees (63%); your top 20% of customers by revenue are "
            "201-1000 employees (56%).") in text  # 19/30 staff; 5 of 9 top customers
    assert "the top 20% of customers (9 of 45) bring" in text
    assert main(["report", "--answers", str(ANSWERS), "--bootstrap", "0", "--customers", str(HUBSPOT),
                 "--format", "markdown"]) == 0
    assert "## Perception and reality" in capsys.readouterr().out


def test_a_bad_customer_file_reports_nothing(tmp_path, capsys) -> None:
    bad = tmp_path / "crm.csv"
    bad.write_text("Record ID,Industry,Total Revenue\n1,Retail,10\n2,Retail,ten\n", encoding="utf-8")
    assert main(["report", "--answers", str(ANSWERS), "--customers", str(bad)]) == 2
    err = capsys.readouterr()
    assert "line 3 (2): Total Revenue: 'ten' is not a number" in err.err
    assert "Nothing was imported" in err.err and err.out == ""


# Prospects scored by hand against the consensus of icp-sample-30 (README: 51-200 employees,
# Software / SaaS; Financial services, Manager / team lead, North America, Grow revenue):
HAND_SCORES = {
    "Keel Analytics": 100,  # 140 employees, software, manager, US, grow revenue: 5 of 5
    "Harbor Ledger": 60,    # 85, financial, Canada: 3 of 5 (a VP, to cut costs)
    "Cinder Cloud": 40,     # 420 employees; software, US: 2 of 5
    "Quill Studio": 0,      # 8 employees, design, France: 0 of 3 known
}


def _scored(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def test_bulk_fit_round_trips_a_prospect_list(tmp_path, capsys) -> None:
    out = tmp_path / "scored.csv"
    assert main(["fit", "--prospects", str(PROSPECTS), "--answers", str(ANSWERS), "--out", str(out)]) == 0
    assert "scored 8 prospects" in capsys.readouterr().err
    original = _rows(PROSPECTS)
    scored = _scored(out.read_text("utf-8"))
    assert len(scored) == len(original)
    for before, after in zip(original, scored, strict=True):
        assert {k: after[k] for k in before} == before  # every original cell as it was
    by_name = {r["Company name"]: r for r in scored}
    for name, score in HAND_SCORES.items():
        assert by_name[name]["icp_score"] == str(score)
    assert by_name["Keel Analytics"]["icp_verdict"] == "strong fit"
    assert by_name["Harbor Ledger"]["icp_misses"] == "VP (ICP: Manager / team lead); Cut costs (ICP: Grow revenue)"
    # scoring the scored list again changes nothing
    again = tmp_path / "again.csv"
    assert main(["fit", "--prospects", str(out), "--answers", str(ANSWERS), "--out", str(again)]) == 0
    assert again.read_text("utf-8") == out.read_text("utf-8")
    # a report's JSON serves as the profile too
    profile = tmp_path / "report.json"
    assert main(["report", "--answers", str(ANSWERS), "--bootstrap", "0", "--format", "json"]) == 0
    profile.write_text(capsys.readouterr().out, encoding="utf-8")
    assert main(["fit", "--prospects", str(PROSPECTS), "--profile", str(profile)]) == 0
    assert _scored(capsys.readouterr().out) == scored


def test_customers_import_and_fit_against_the_ratified_icp(tmp_path, monkeypatch, capsys) -> None:
    url = f"sqlite:///{tmp_path / 'icp.db'}"
    monkeypatch.setenv("DATABASE_URL", url)
    assert main(["customers", "import", str(HUBSPOT), "--team", "T1"]) == 0
    assert "imported 45 customers (hubspot layout" in capsys.readouterr().out
    db = Database(url)
    with db.session() as s:
        stored = customer_lists.list_customers(s, "T1")
        assert sorted((c.id, c.revenue) for c in stored) == sorted((c[0], c[1]) for c in hand_hubspot())
    assert main(["customers", "show", "--team", "T1"]) == 0
    assert "45 customers, total revenue 1,674,950" in capsys.readouterr().out
    # a second import replaces the list
    assert main(["customers", "import", str(SALESFORCE), "--team", "T1", "--opportunities", str(OPPORTUNITIES)]) == 0
    with db.session() as s:
        assert customer_lists.customer_status(s, "T1").source == "salesforce"
        assert all(c.id.startswith("001") for c in customer_lists.list_customers(s, "T1"))

    assert main(["fit", "--prospects", str(PROSPECTS), "--team", "T1"]) == 2
    assert "no ratified ICP" in capsys.readouterr().err
    assert main(["report", "--answers", str(ANSWERS), "--bootstrap", "0", "--format", "json"]) == 0
    consensus = json.loads(capsys.readouterr().out)["profile"]
    with db.session() as s:
        icp.ratify(s, "T1", consensus, ratified_by="ULEAD")
    assert main(["fit", "--prospects", str(PROSPECTS), "--team", "T1"]) == 0
    by_name = {r["Company name"]: r for r in _scored(capsys.readouterr().out)}
    assert {n: by_name[n]["icp_score"] for n in HAND_SCORES} == {n: str(s) for n, s in HAND_SCORES.items()}
    db.dispose()


@pytest.mark.parametrize("suffix", [".yaml", ".csv"])
def test_report_reads_another_layout_through_a_mapping_file(tmp_path, capsys, suffix) -> None:
    crm = tmp_path / "crm.csv"
    crm.write_text("Acct,Sector,Headcount,HQ,LTV\nA,Fintech,250,Germany,900\nB,Software,30,USA,100\n"
                   "C,Software,60,USA,50\nD,Fintech,700,UK,40\nE,Software,20,USA,10\n", encoding="utf-8")
    mapping = tmp_path / f"map{suffix}"
    if suffix == ".yaml":
        mapping.write_text("columns:\n  Acct: id\n  LTV: revenue\n  Sector: industry\n  Headcount: company_size\n"
                           "  HQ: regions\nvalues:\n  industry:\n    Fintech: financial_services\n", encoding="utf-8")
    else:
        mapping.write_text("column,target,value,option\nAcct,id,,\nLTV,revenue,,\nSector,industry,Fintech,"
                           "financial_services\nHeadcount,company_size,,\nHQ,regions,,\n", encoding="utf-8")
    data = report_json(capsys, "--customers", str(crm), "--mapping", str(mapping))
    reality = data["reality"]
    # 5 customers: the top ceil(1.0) = 1 is A (900 of 1,100)
    assert reality["revenue_concentration"]["top_customers"] == 1
    assert reality["revenue_concentration"]["share"] == pytest.approx(900 / 1100)
    traits = {t["question_id"]: t for t in reality["traits"]}
    assert (traits["company_size"]["top_answer"], traits["industry"]["top_answer"], traits["regions"]["top_answer"]) == (
        "201-1000", "financial_services", "europe")


def test_report_measures_fit_against_a_given_profile(tmp_path, capsys) -> None:
    profile = tmp_path / "icp.json"
    profile.write_text(json.dumps({"template_id": "icp-core", "version": 2, "traits": [
        {"question_id": "company_size", "kind": "single", "prompt": "size", "value": "201-1000"}]}), encoding="utf-8")
    fit = report_json(capsys, "--customers", str(HUBSPOT), "--profile", str(profile))["reality"]["fit"]
    sizes = [c[2] for c in hand_hubspot()]
    top = sorted(hand_hubspot(), key=lambda c: (-c[1], c[0]))[:9]
    assert fit["source"] == "ratified ICP v2"
    assert fit["fitting"] == sizes.count("201-1000")
    assert fit["top_fitting"] == sum(c[2] == "201-1000" for c in top) == 5


def test_a_failed_import_writes_nothing(tmp_path, monkeypatch, capsys) -> None:
    from sqlalchemy import func, select

    from storage.models import CustomerRecord, Workspace

    url = f"sqlite:///{tmp_path / 'icp.db'}"
    monkeypatch.setenv("DATABASE_URL", url)
    bad = tmp_path / "crm.csv"
    bad.write_text("Record ID,Industry,Total Revenue\n1,Retail,10\n1,Retail,20\n", encoding="utf-8")
    assert main(["customers", "import", str(bad), "--team", "T9"]) == 2
    assert "line 3 (1): account already listed on line 2" in capsys.readouterr().err
    db = Database(url)
    with db.session() as s:
        assert s.scalar(select(func.count()).select_from(Workspace)) == 0
        assert s.scalar(select(func.count()).select_from(CustomerRecord)) == 0
    db.dispose()
    assert main(["report", "--answers", str(ANSWERS), "--opportunities", str(OPPORTUNITIES)]) == 2
    assert "go with --customers" in capsys.readouterr().err
