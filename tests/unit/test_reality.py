"""Perception and reality on a hand-made company: every figure recomputed by hand.

Five staff answer four questions; twenty customers have a size, an industry and a region. The
expected values are plain Python over the lists below, following the rules stated in
``survey/reality.py``'s docstring, never the code under test.
"""

from __future__ import annotations

import math
import statistics

import pytest

from survey.answers import Response
from survey.customers import Customer
from survey.profile import IcpProfile, ProfileTrait
from survey.reality import reality_for, top_customers
from survey.report import build_report
from survey.template import QuestionKind, load_builtin

TEMPLATE = load_builtin("icp-core")

# staff: (company_size, industry, regions, top20_revenue_share)
STAFF = [
    ("51-200", ["software"], ["north_america"], 50),
    ("51-200", ["software", "financial_services"], ["north_america"], 60),
    ("51-200", ["software"], ["north_america", "europe"], 70),
    ("201-1000", ["software", "financial_services"], ["north_america"], 80),
    ("201-1000", ["retail"], ["north_america"], 90),
]

# customers: (id, revenue, company_size, industry, region). The top 20% are four: two
# software companies of 201-1000 in North America, two financial ones of 1001-5000 in Europe.
TOP = [
    ("c01", 500.0, "201-1000", "software", "north_america"),
    ("c02", 400.0, "201-1000", "software", "north_america"),
    ("c03", 300.0, "1001-5000", "financial_services", "europe"),
    ("c04", 200.0, "1001-5000", "financial_services", "europe"),
]
TAIL = [
    (f"c{5 + i:02d}", 100.0 - 5 * i, "51-200",
     "software" if i % 2 == 0 else "retail",
     "north_america" if i % 4 < 2 else "europe")
    for i in range(16)
]
# c05 (100.0) and the boundary: none of the tail ties with c04.
CUSTOMERS = TOP + TAIL


def customers() -> list[Customer]:
    return [Customer(id=i, revenue=r, traits={"company_size": s, "industry": [ind], "regions": [reg]})
            for i, r, s, ind, reg in CUSTOMERS]


def staff_report():
    responses = [
        Response(respondent=f"P{k}", team="sales", answers={
            "company_size": size, "industry": industry, "regions": regions, "top20_revenue_share": share})
        for k, (size, industry, regions, share) in enumerate(STAFF)
    ]
    return build_report(TEMPLATE, responses, bootstrap=0)


@pytest.fixture(scope="module")
def reality():
    return reality_for(staff_report(), TEMPLATE, customers())


# -- the hand calculation ---------------------------------------------------------------

HAND_TOP = sorted(CUSTOMERS, key=lambda c: (-c[1], c[0]))[: math.ceil(0.2 * len(CUSTOMERS))]
STAFF_SIZE = statistics.mode(s[0] for s in STAFF)  # 51-200, 3 of 5
STAFF_INDUSTRY = [o for o in ("software", "financial_services", "retail")
                  if sum(o in s[1] for s in STAFF) > len(STAFF) / 2]  # majority options
STAFF_REGIONS = [o for o in ("north_america", "europe") if sum(o in s[2] for s in STAFF) > len(STAFF) / 2]


def hand_fits(c) -> bool:
    """Strong fit: all three known traits match (2 of 3 is 67, below 70)."""
    _, _, size, industry, region = c
    return size == STAFF_SIZE and industry in STAFF_INDUSTRY and region in STAFF_REGIONS


def test_top_customers_are_the_first_fifth_by_revenue(reality) -> None:
    assert [c[0] for c in HAND_TOP] == ["c01", "c02", "c03", "c04"]
    assert [c.id for c in top_customers(customers())] == [c[0] for c in HAND_TOP]
    assert reality.customers == 20 and reality.top_customers == 4


def test_ties_at_the_cut_go_by_id() -> None:
    tied = [Customer(id=i, revenue=r) for i, r in [("b", 5.0), ("a", 5.0), ("c", 9.0), ("d", 1.0), ("e", 1.0),
                                                   ("f", 1.0)]]
    # ceil(0.2 * 6) = 2: c (9), then a before b (5 each)
    assert [c.id for c in top_customers(tied)] == ["c", "a"]


def test_revenue_concentration_beside_the_staff_estimate(reality) -> None:
    total = sum(c[1] for c in CUSTOMERS)
    top = sum(c[1] for c in HAND_TOP)
    staff = statistics.median(s[3] for s in STAFF) / 100
    c = reality.revenue_concentration
    assert (c.total_revenue, c.top_revenue) == (total, top) == (2400.0, 1400.0)
    assert c.share == pytest.approx(top / total) == pytest.approx(7 / 12)
    assert c.staff_estimate == pytest.approx(staff) == pytest.approx(0.70)
    assert c.difference == pytest.approx(top / total - staff) == pytest.approx(7 / 12 - 0.70)


def test_each_trait_beside_the_staff_consensus_with_its_match_index(reality) -> None:
    size = reality.trait("company_size")
    # top customers: 201-1000 twice, 1001-5000 twice; the tie goes to the option listed first
    assert (size.top_answer, size.top_share, size.known) == ("201-1000", 2 / 4, 4)
    assert {d.option: d.count for d in size.distribution} == {"201-1000": 2, "1001-5000": 2}
    assert (size.staff_consensus, size.staff_share) == (STAFF_SIZE, 3 / 5)
    assert size.match_index == sum(c[2] == STAFF_SIZE for c in HAND_TOP) / 4 == 0.0
    assert size.agrees is False

    industry = reality.trait("industry")
    assert STAFF_INDUSTRY == ["software"]
    assert (industry.top_answer, industry.top_share) == ("software", 0.5)
    assert industry.match_index == sum(c[3] in STAFF_INDUSTRY for c in HAND_TOP) / 4 == 0.5
    assert industry.agrees is True

    regions = reality.trait("regions")
    assert STAFF_REGIONS == ["north_america"]
    assert regions.match_index == sum(c[4] in STAFF_REGIONS for c in HAND_TOP) / 4 == 0.5
    assert reality.largest_gap == "company_size"  # 0.0 is the lowest index


def test_fit_to_the_consensus_and_revenue_per_account(reality) -> None:
    fitting = [c for c in CUSTOMERS if hand_fits(c)]
    others = [c for c in CUSTOMERS if not hand_fits(c)]
    top_fit = [c for c in HAND_TOP if hand_fits(c)]
    f = reality.fit
    assert f.source == "the staff's consensus profile"
    assert (f.fitting, f.not_fitting, f.unknown) == (len(fitting), len(others), 0) == (4, 16, 0)
    assert f.top_fitting == len(top_fit) == 0 and f.top_known == 4
    assert f.top_revenue_fitting == 0.0 and f.top_revenue_share_fitting == 0.0
    per_fit = sum(c[1] for c in fitting) / len(fitting)
    per_other = sum(c[1] for c in others) / len(others)
    assert f.revenue_per_fitting == pytest.approx(per_fit)  # c05, c09, c13, c17: (100+80+60+40)/4 = 70
    assert per_fit == 70.0
    assert f.revenue_per_not_fitting == pytest.approx(per_other)
    assert f.lift == pytest.approx(per_fit / per_other)


def test_fit_against_a_ratified_profile_instead() -> None:
    ratified = IcpProfile(template_id="icp-core", version=3, traits=[
        ProfileTrait(question_id="company_size", kind=QuestionKind.SINGLE, prompt="size", value="201-1000"),
        ProfileTrait(question_id="industry", kind=QuestionKind.MULTI, prompt="industry", value=["software"]),
    ])
    f = reality_for(staff_report(), TEMPLATE, customers(), ratified).fit
    fits = [c for c in CUSTOMERS if c[2] == "201-1000" and c[3] == "software"]  # both traits (1 of 2 = 50)
    assert f.source == "ratified ICP v3"
    assert f.fitting == len(fits) == 2 and f.top_fitting == 2
    assert f.top_revenue_share_fitting == pytest.approx(sum(c[1] for c in fits) / sum(c[1] for c in HAND_TOP))


def test_two_personas_among_the_top_customers(reality) -> None:
    assert len(reality.personas) == 2
    groups = [HAND_TOP[:2], HAND_TOP[2:]]  # as built: identical within, different across
    top_revenue = sum(c[1] for c in HAND_TOP)
    for persona, members in zip(reality.personas, groups, strict=True):
        revenue = sum(c[1] for c in members)
        assert persona.customers == len(members) == 2
        assert persona.revenue == revenue
        assert persona.revenue_share == pytest.approx(revenue / top_revenue)
        assert persona.revenue_per_account == revenue / 2
        assert {t.question_id: (t.value, t.share) for t in persona.traits} == {
            "company_size": (members[0][2], 1.0), "industry": (members[0][3], 1.0),
            "regions": (members[0][4], 1.0)}
    assert reality.personas[0].name == "201-1000 employees · Software / SaaS · North America"
    assert reality.personas[1].name == "1001-5000 employees · Financial services · Continental Europe"
    assert reality.persona_method.startswith("k-modes, k=2")


def test_personas_are_the_same_whatever_the_input_order() -> None:
    report = staff_report()
    forward = reality_for(report, TEMPLATE, customers())
    backward = reality_for(report, TEMPLATE, list(reversed(customers())))
    assert forward.model_dump() == backward.model_dump()


def test_too_few_top_customers_for_personas() -> None:
    few = customers()[:10] + [Customer(id=f"x{i}", revenue=1.0) for i in range(5)]  # top 3
    assert reality_for(None, TEMPLATE, few).personas == []


def test_without_a_report_the_customers_stand_alone() -> None:
    alone = reality_for(None, TEMPLATE, customers())
    assert alone.revenue_concentration.staff_estimate is None
    assert alone.fit is None
    assert alone.trait("company_size").match_index is None
    assert alone.revenue_concentration.share == pytest.approx(1400 / 2400)


def test_traits_the_template_no_longer_has_are_left_out() -> None:
    stale = [c.model_copy(update={"traits": {**c.traits, "company_size": "enterprise", "gone": "x"}})
             for c in customers()]
    r = reality_for(staff_report(), TEMPLATE, stale)
    assert r.trait("company_size") is None  # no top customer has a size that still exists
    assert r.trait("industry").match_index == 0.5
    # size unknown: a customer fits on the two traits left, both matching (1 of 2 is 50)
    fits = [c for c in CUSTOMERS if c[3] in STAFF_INDUSTRY and c[4] in STAFF_REGIONS]
    assert (r.fit.unknown, r.fit.fitting, r.fit.top_fitting) == (0, len(fits), 2) == (0, 6, 2)


def test_staff_interquartile_range_of_the_estimate(reality) -> None:
    q1, _, q3 = statistics.quantiles([s[3] for s in STAFF], n=4, method="inclusive")  # 60, 70, 80
    c = reality.revenue_concentration
    assert (c.staff_low, c.staff_high) == (pytest.approx(q1 / 100), pytest.approx(q3 / 100))


def test_the_section_in_words(reality) -> None:
    from survey import reality_format

    text = reality_format.to_text(reality)
    # 1,400 of 2,400 is 58%; the staff's 70% is 11.7, shown 12, points above it
    assert ("Revenue concentration: the top 20% of customers (4 of 20) bring 58% of revenue "
            "(1,400 of 2,400); staff estimate 70% (IQR 60%-80%), 12 points above the real figure") in text
    assert ("- How many employees does an ideal customer have?: staff say 51-200 employees (60%); "
            "top customers are 201-1000 employees (50%); match 0%") in text
    assert reality_format.gap_sentence(reality) == (
        "Staff say 51-200 employees (60%); your top 20% of customers by revenue are 201-1000 employees (50%).")
    # fit: 4 fit at 70 per account; the 16 others bring (2,400 - 280) / 16 = 132.5
    assert ("Revenue per account: 70 for the 4 customers who fit, 132 for the 16 who do not "
            "(x0.53: the ICP points away from value)") in text
    assert "1. 201-1000 employees · Software / SaaS · North America: 2 customers, 64% of the top revenue" in text
    assert reality_format.trait_hint(reality, "company_size") == "Top 20% of customers: 201-1000 employees (50%)"
    assert reality_format.trait_hint(reality, "why_us") is None
    markdown = reality_format.to_markdown(reality)
    assert "| How many employees does an ideal customer have? | 51-200 employees (60%) | 201-1000 employees (50%) | 0% |" in markdown
