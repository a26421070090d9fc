"""Bulk fit on a small hand-made list: scores by the rules of survey/profile.py, worked by hand."""

from __future__ import annotations

import csv
import io

from survey.customers import parse_accounts
from survey.profile import IcpProfile, ProfileTrait
from survey.prospect_fit import FIT_COLUMNS, score_prospects, write_scored
from survey.template import QuestionKind, load_builtin

TEMPLATE = load_builtin("icp-core")
PROFILE = IcpProfile(
    template_id="icp-core",
    traits=[
        ProfileTrait(question_id="company_size", kind=QuestionKind.SINGLE, prompt="size", value="201-1000"),
        ProfileTrait(question_id="industry", kind=QuestionKind.MULTI, prompt="industry", value=["software", "healthcare"]),
        ProfileTrait(question_id="regions", kind=QuestionKind.MULTI, prompt="regions", value=["europe"], weight=2.0),
    ],
    disqualifier_question="disqualifiers",
    disqualifiers=["deep_discounts"],
)
PROSPECTS = ("Name,Industry,Employees,Country,disqualifiers,Notes\n"
             "Alpha,Computer Software,300,Germany,,=1+1\n"          # 1 + 1 + 2 of 4: 100
             "Beta,Retail,300,France,,\n"                           # 1 + 0 + 2 of 4: 75
             "Gamma,Hospital & Health Care,40,Canada,,\n"           # 0 + 1 + 0 of 4: 25
             "Delta,Computer Software,300,Germany,Wins only through deep discounts,\n"  # walk away: 0
             "Epsilon,,,,,\n")                                      # nothing known: blank
HAND = {"Alpha": ("100", "strong fit"), "Beta": ("75", "strong fit"), "Gamma": ("25", "poor fit"),
        "Delta": ("0", "walk away"), "Epsilon": ("", "unknown")}


def test_scores_verdicts_and_reasons_by_hand() -> None:
    prospects = parse_accounts(PROSPECTS, TEMPLATE, require_revenue=False)
    out = io.StringIO()
    write_scored(out, prospects, score_prospects(prospects, PROFILE, TEMPLATE))
    rows = list(csv.DictReader(io.StringIO(out.getvalue())))
    assert list(rows[0]) == ["Name", "Industry", "Employees", "Country", "disqualifiers", "Notes", *FIT_COLUMNS]
    assert {r["Name"]: (r["icp_score"], r["icp_verdict"]) for r in rows} == HAND
    beta = rows[1]
    assert beta["icp_matches"] == "201-1000 employees; Continental Europe"
    assert beta["icp_misses"] == "Retail / e-commerce (ICP: Software / SaaS; Healthcare)"
    assert rows[3]["icp_walk_away"] == "Wins only through deep discounts"
    assert rows[0]["Notes"] == "=1+1"  # the user's own cells come back exactly as they were
