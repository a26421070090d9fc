"""The alignment report: score, bootstrap, team splits, anonymity, labels."""

from __future__ import annotations

import json
import random

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import survey.score
from survey.agreement import (
    multi_agreement,
    number_agreement,
    scale_agreement,
    single_agreement,
)
from survey.answers import Response
from survey.report import (
    OTHER_TEAMS,
    SPLIT_THRESHOLD,
    AlignmentReport,
    build_report,
)
from survey.template import load_builtin, parse_template

SMALL = """
id: small
name: Small test template
sections:
  - id: main
    title: Main
    questions:
      - id: team
        kind: single
        role: team
        prompt: Your team?
        options:
          - {id: sales, label: Sales}
          - {id: support, label: Support}
          - {id: success, label: Customer success}
      - id: size
        kind: single
        prompt: Company size?
        weight: 2
        options:
          - {id: smb, label: SMB}
          - {id: mid, label: Mid-market}
          - {id: enterprise, label: Enterprise}
          - {id: any, label: Any size}
      - id: industry
        kind: multi
        prompt: Industries?
        options:
          - {id: software, label: Software / SaaS}
          - {id: healthcare, label: Healthcare}
          - {id: retail, label: Retail}
      - id: innovation
        kind: scale
        prompt: Attitude to change
        points: 5
        low_label: Cautious
        high_label: Early adopter
      - id: risk
        kind: scale
        prompt: Risk profile
        points: 5
        low_label: Risk averse
        high_label: Risk taking
      - id: deal
        kind: number
        prompt: Deal size
        unit: USD
        min: 0
        max: 10000000
      - id: sentence
        kind: text
        prompt: One sentence
        required: false
      - id: confidence
        kind: scale
        role: confidence
        prompt: How sure are you?
        points: 5
        low_label: Guessing
        high_label: Very sure
"""


@pytest.fixture(scope="module")
def small():
    return parse_template(SMALL)


def resp(rid, team=None, **answers):
    """A response; ``team`` is the answer to the team question, not an assigned team."""
    if team is not None:
        answers["team"] = team
    return Response(respondent=rid, answers=answers)


def six():
    """Six respondents with moderate agreement, two teams of three."""
    rows = [
        ("U1", "sales", "enterprise", ["software"], 4, 4, 50_000, "Fast growing SaaS firms", 4),
        (
            "U2",
            "sales",
            "enterprise",
            ["software", "healthcare"],
            5,
            4,
            60_000,
            "SaaS scale-ups",
            5,
        ),
        ("U3", "sales", "mid", ["software"], 4, 3, 40_000, "Mid-size SaaS with a CFO", 3),
        ("U4", "support", "smb", ["retail"], 2, 2, 10_000, "Small shops that churn", 4),
        ("U5", "support", "smb", ["retail", "software"], 2, 3, 15_000, "Small retailers", 3),
        ("U6", "support", "mid", ["retail"], 3, 2, 12_000, "Retail chains", 4),
    ]
    return [
        resp(
            r,
            team=team,
            size=size,
            industry=ind,
            innovation=inn,
            risk=risk,
            deal=deal,
            sentence=text,
            confidence=conf,
        )
        for r, team, size, ind, inn, risk, deal, text, conf in rows
    ]


# -- score -----------------------------------------------------------------------------------


def test_score_is_the_weighted_mean_of_the_indices(small):
    responses = six()
    report = build_report(small, responses, bootstrap=0)
    col = {
        q: [r.answers[q] for r in responses]
        for q in ("size", "industry", "innovation", "risk", "deal")
    }
    expected_idx = {
        "size": single_agreement(col["size"], ["smb", "mid", "enterprise", "any"]).index,
        "industry": multi_agreement(col["industry"], ["software", "healthcare", "retail"]).index,
        "innovation": scale_agreement(col["innovation"], 5).index,
        "risk": scale_agreement(col["risk"], 5).index,
        "deal": number_agreement(col["deal"], 1.0).index,  # resolution min(1, 10M / 100)
    }
    weights = {"size": 2.0, "industry": 1.0, "innovation": 1.0, "risk": 1.0, "deal": 1.0}
    expected = 100 * sum(weights[q] * expected_idx[q] for q in weights) / sum(weights.values())
    assert report.score == pytest.approx(expected)
    by_id = {q.id: q for q in report.questions}
    for q, idx in expected_idx.items():
        assert by_id[q].agreement == pytest.approx(idx)
        assert by_id[q].agreed == (idx >= 0.70)
    assert by_id["size"].weight == 2.0
    assert report.score_interval is None  # bootstrap=0


def test_weights_override_changes_the_score(small):
    responses = six()
    base = build_report(small, responses, bootstrap=0)
    only_size = build_report(
        small,
        responses,
        bootstrap=0,
        weights={"industry": 0, "innovation": 0, "risk": 0, "deal": 0},
    )
    size = next(q for q in base.questions if q.id == "size")
    assert only_size.score == pytest.approx(100 * size.agreement)
    assert only_size.score != pytest.approx(base.score)
    with pytest.raises(ValueError):
        build_report(small, responses, weights={"size": -1})


def test_everyone_agreeing_scores_100(small):
    same = dict(team="sales", size="mid", industry=["software"], innovation=4, risk=4, deal=30_000)
    report = build_report(small, [resp(f"U{i}", **same) for i in range(5)], bootstrap=200)
    assert report.score == pytest.approx(100.0)
    assert report.score_interval == pytest.approx((100.0, 100.0))


def test_bootstrap_interval_contains_the_score_and_is_deterministic(small):
    rng = random.Random(1)
    responses = [
        resp(
            f"U{i}",
            team=rng.choice(["sales", "support"]),
            size=rng.choice(["smb", "mid", "mid", "mid", "enterprise"]),
            industry=rng.choice([["software"], ["software", "retail"], ["healthcare"]]),
            innovation=rng.choice([3, 4, 4, 5]),
            risk=rng.choice([2, 3, 3, 4]),
            deal=rng.choice([20_000, 30_000, 40_000, 50_000]),
        )
        for i in range(60)
    ]
    a = build_report(small, responses, bootstrap=500, seed=11)
    b = build_report(small, responses, bootstrap=500, seed=11)
    c = build_report(small, responses, bootstrap=500, seed=12)
    lo, hi = a.score_interval
    assert lo <= a.score <= hi
    assert lo < hi
    assert a.score_interval == b.score_interval
    assert c.score_interval != a.score_interval
    assert c.score == a.score


def test_bootstrap_does_not_depend_on_chunking(small, monkeypatch):
    responses = six() * 1  # 6 respondents
    whole = build_report(small, responses, bootstrap=300, seed=5).score_interval
    monkeypatch.setattr(survey.score, "BOOTSTRAP_CELLS", 7)  # one resample per chunk
    monkeypatch.setattr(survey.score, "BOOTSTRAP_MIN_CHUNK", 1)
    assert build_report(small, responses, bootstrap=300, seed=5).score_interval == whole


def test_alpha_and_rwg_j_over_the_scale_block(small):
    report = build_report(small, six(), bootstrap=0)
    innovation = [4, 5, 4, 2, 2, 3]
    risk = [4, 4, 3, 2, 3, 2]
    v = np.mean([np.var(innovation, ddof=1) / 2, np.var(risk, ddof=1) / 2])
    expected = 2 * (1 - v) / (2 * (1 - v) + v) if v < 1 else 0.0
    assert report.rwg_j == pytest.approx(expected)
    assert report.alpha is not None and -1.0 <= report.alpha <= 1.0


def test_confidence_is_reported_not_scored(small):
    report = build_report(small, six(), bootstrap=0)
    conf = next(q for q in report.questions if q.id == "confidence")
    assert conf.agreement is None and conf.agreed is None
    assert report.mean_confidence == pytest.approx(np.mean([4, 5, 3, 4, 3, 4]))
    team = next(q for q in report.questions if q.id == "team")
    assert team.agreement is None and team.distribution == []


# -- anonymity -------------------------------------------------------------------------------


def test_two_respondents_give_a_hidden_report(small):
    responses = six()[:2]
    report = build_report(small, responses, min_group_size=3)
    assert report.hidden is True and report.respondents == 2
    assert report.score is None and report.score_interval is None
    assert report.alpha is None and report.rwg_j is None and report.mean_confidence is None
    assert report.splits == [] and report.teams == {}
    assert all(q.hidden and q.agreement is None and q.consensus is None for q in report.questions)
    assert all(q.distribution == [] for q in report.questions)


def test_a_question_answered_by_too_few_is_hidden(small):
    responses = [r.model_copy(update={"answers": dict(r.answers)}) for r in six()]
    for r in responses[2:]:
        del r.answers["deal"]  # only U1 and U2 answer the deal size
    report = build_report(small, responses, bootstrap=0)
    deal = next(q for q in report.questions if q.id == "deal")
    assert deal.hidden and deal.n == 2
    assert deal.agreement is None and deal.consensus is None and deal.details == {}
    assert report.score is not None  # the other questions still count


def test_missing_answers_use_those_who_answered(small):
    responses = six()
    for r in responses[:2]:
        r.answers.pop("size")
    report = build_report(small, responses, bootstrap=300)
    lo, hi = report.score_interval  # resampling respondents who skipped a question works
    assert lo <= report.score <= hi
    size = next(q for q in report.questions if q.id == "size")
    remaining = ["mid", "smb", "smb", "mid"]
    assert size.n == 4
    assert size.agreement == pytest.approx(
        single_agreement(remaining, ["smb", "mid", "enterprise", "any"]).index
    )
    assert sum(o.count for o in size.distribution) == 4


def test_small_teams_are_folded_and_never_split(small):
    responses = six() + [
        resp(
            "L1",
            team="leadership",
            size="any",
            industry=["healthcare"],
            innovation=1,
            risk=1,
            deal=1e6,
        ),
        resp(
            "L2",
            team="leadership",
            size="any",
            industry=["healthcare"],
            innovation=1,
            risk=1,
            deal=1e6,
        ),
    ]
    report = build_report(small, responses, bootstrap=0)
    # leadership (2) alone would be derivable as overall minus sales minus support: sales, the
    # next-smallest (tied with support, first by name), is hidden too
    assert report.teams == {"support": 3, OTHER_TEAMS: 5}
    assert report.splits == [] and report.team_comparisons == []  # one team left: nothing to compare


def test_no_respondent_id_anywhere_in_the_report(small):
    responses = [r.model_copy(update={"respondent": f"SECRET{i}X"}) for i, r in enumerate(six())]
    dumped = build_report(small, responses, bootstrap=50).model_dump_json()
    assert "SECRET" not in dumped


def test_text_answers_are_shuffled_anonymous_quotes(small):
    responses = six()
    report = build_report(small, responses, bootstrap=0)
    (text,) = report.texts
    given_order = [r.answers["sentence"] for r in responses]
    assert text.count == 6 and sorted(text.quotes) == sorted(given_order)
    assert text.quotes != given_order
    assert dict(text.terms)["saas"] == 3
    assert "with" not in dict(text.terms) and "a" not in dict(text.terms)
    shuffled = list(reversed(responses))
    assert build_report(small, shuffled, bootstrap=0).texts == report.texts


def test_text_hidden_when_too_few_wrote(small):
    responses = six()
    for r in responses[2:]:
        r.answers.pop("sentence")
    (text,) = build_report(small, responses, bootstrap=0).texts
    assert text.hidden and text.count == 2 and text.quotes == [] and text.terms == []


# -- team splits -----------------------------------------------------------------------------


def test_split_detected_between_sales_and_support():
    template = load_builtin("icp-core")
    sales = [resp(f"S{i}", team="sales", company_size="1001-5000") for i in range(4)]
    support = [resp(f"T{i}", team="support", company_size="11-50") for i in range(3)]
    report = build_report(template, sales + support, bootstrap=0)
    (split,) = report.splits
    assert split.question_id == "company_size" and split.name == "Company size"
    assert split.metric == "jensen-shannon" and split.distance == pytest.approx(1.0) and split.flagged
    (pair,) = split.pairs
    assert (pair.team_a, pair.team_b) == ("sales", "support")
    # exact: 1 of the C(7, 4) = 35 relabellings puts all four 1001-5000 answers in one team of 4
    assert pair.p_value == pytest.approx(1 / 35) and pair.q_value == pytest.approx(1 / 35)
    assert [(t.label, t.answer, t.share) for t in split.teams] == [
        ("Sales", "1001-5000 employees", 1.0), ("Support", "11-50 employees", 1.0)]
    assert split.text == "Sales: 1001-5000 employees (100%) · Support: 11-50 employees (100%)"
    assert report.top_splits(1) == [split]


def test_three_against_three_is_never_flagged_even_when_disjoint():
    """The smallest exact p-value of 3 vs 3 is 2/20 = 0.1: such a split could be chance."""
    template = load_builtin("icp-core")
    people = [resp(f"S{i}", team="sales", company_size="1001-5000") for i in range(3)]
    people += [resp(f"T{i}", team="support", company_size="11-50") for i in range(3)]
    report = build_report(template, people, bootstrap=0)
    (comparison,) = report.team_comparisons
    assert comparison.pairs[0].distance == pytest.approx(1.0)
    assert comparison.pairs[0].p_value == pytest.approx(0.1)
    assert report.splits == []


def test_scale_split_respects_the_order_of_the_points():
    """Sales all at 4 and Support all at 5 is a quarter of the scale apart, not a total split."""
    template = load_builtin("icp-core")

    def split_of(sales_point, support_point):
        people = [resp(f"S{i}", team="sales", innovation_attitude=sales_point) for i in range(5)]
        people += [resp(f"T{i}", team="support", innovation_attitude=support_point) for i in range(5)]
        (comparison,) = build_report(template, people, bootstrap=0).team_comparisons
        return comparison

    near, far = split_of(4, 5), split_of(1, 5)
    assert near.metric == "earth mover's"
    assert near.pairs[0].distance == pytest.approx(0.25) and far.pairs[0].distance == pytest.approx(1.0)
    # 2 of C(10, 5) = 252 relabellings are as extreme: p = 0.0079, flagged; both differ by mode
    assert near.pairs[0].p_value == pytest.approx(2 / 252) and near.flagged and far.flagged
    assert near.text == "Sales: 4 of 5 (100%) · Support: 5 of 5 (100%)"


def test_team_comes_from_the_team_question_when_not_assigned(small):
    report = build_report(small, six(), bootstrap=0)
    assert report.teams == {"sales": 3, "support": 3}
    size = next(s for s in report.team_comparisons if s.question_id == "size")
    # sales: enterprise 2/3, mid 1/3; support: smb 2/3, mid 1/3
    assert size.text == "Sales: Enterprise (67%) · Support: SMB (67%)"
    assert size.pairs[0].distance >= SPLIT_THRESHOLD
    assert all(p.p_value >= 0.1 for s in report.team_comparisons for p in s.pairs)  # 3 vs 3
    assert report.splits == []


def test_assigned_team_wins_and_unknown_teams_are_capitalised(small):
    responses = [r.model_copy(update={"team": "emea"}) for r in six()[:3]] + six()[3:]
    report = build_report(small, responses, bootstrap=0)
    assert report.teams == {"emea": 3, "support": 3}
    size = next(s for s in report.team_comparisons if s.question_id == "size")
    assert size.text.startswith("Emea: Enterprise (67%) · Support:")


def test_no_split_when_teams_agree(small):
    same = dict(size="mid", industry=["software"], innovation=4, risk=4, deal=30_000)
    responses = [resp(f"A{i}", team="sales", **same) for i in range(3)]
    responses += [resp(f"B{i}", team="support", **same) for i in range(3)]
    report = build_report(small, responses, bootstrap=0)
    assert report.splits == []
    assert all(p.distance == 0 and p.p_value == 1 for s in report.team_comparisons for p in s.pairs)


def test_number_split_uses_the_earth_movers_distance_over_mid_ranks(small):
    sales = [90_000, 100_000, 110_000, 120_000, 130_000]
    support = [5_000, 6_000, 7_000, 8_000, 9_000]
    responses = [resp(f"A{i}", team="sales", deal=d) for i, d in enumerate(sales)]
    responses += [resp(f"B{i}", team="support", deal=d) for i, d in enumerate(support)]
    report = build_report(small, responses, bootstrap=0)
    split = next(s for s in report.splits if s.question_id == "deal")
    # positions (rank - 1) / 9: sales 5/9..9/9, support 0..4/9: every mass moves 5/9
    assert split.metric == "earth mover's" and split.distance == pytest.approx(5 / 9)
    assert split.text == "Sales: median 110,000 USD · Support: median 7,000 USD"
    assert split.teams[0].share is None  # a median has no share to explain


def test_the_issues_subtraction_case_is_suppressed():
    """Teams of 4, 4 and 1: the one Success person's answers were overall minus two teams."""
    template = load_builtin("icp-core")
    people = [resp(f"S{i}", team="sales", company_size="11-50") for i in range(4)]
    people += [resp(f"T{i}", team="support", company_size="51-200") for i in range(4)]
    people.append(resp("X1", team="success", company_size="1-10"))
    report = build_report(template, people, bootstrap=0)
    assert report.teams == {"support": 4, OTHER_TEAMS: 5}
    assert all(size >= 3 for size in report.teams.values())
    assert report.team_comparisons == []  # one shown team: no team figure at all


def test_visible_groups_hide_the_next_smallest_until_the_hidden_are_enough():
    from survey.team_splits import visible_groups

    assert visible_groups({"a": 5, "b": 4, "c": 1}, 3) == {"a"}
    assert visible_groups({"a": 5, "b": 4, "c": 1, "d": 2}, 3) == {"a", "b"}  # 3 hidden already
    assert visible_groups({"a": 5, "b": 4, None: 1}, 3) == {"a"}  # no team counts as hidden
    assert visible_groups({"a": 5, "b": 4}, 3) == {"a", "b"}
    assert visible_groups({"a": 3, "b": 1}, 3) == set()
    for sizes in ({"a": 7, "b": 3, "c": 2, "d": 1}, {"a": 3, "b": 3, "c": 1}, {"a": 10, None: 2}):
        shown = visible_groups(sizes, 3)
        hidden = sum(c for t, c in sizes.items() if t not in shown)
        assert hidden == 0 or hidden >= 3
        assert all(sizes[t] >= 3 for t in shown)


def test_per_question_suppression_when_a_team_skips_a_question(small):
    """Teams of 3, 3, 3 overall, but only 2 of support answer the deal size: on that question
    support is hidden, and so is the next-smallest team, so the 2 cannot be derived."""
    people = six() + [resp(f"C{i}", team="success", size="any", deal=70_000) for i in range(3)]
    del people[5].answers["deal"]  # a support person skips it
    report = build_report(small, people, bootstrap=0)
    assert report.teams == {"sales": 3, "success": 3, "support": 3}
    # support (2 on this question) hidden, then sales (3) as the next-smallest: one team left
    assert "deal" not in {s.question_id for s in report.team_comparisons}
    size = next(s for s in report.team_comparisons if s.question_id == "size")
    assert [t.team for t in size.teams] == ["sales", "success", "support"]


# -- labels and helpers ----------------------------------------------------------------------


def test_consensus_labels_read_like_the_design():
    template = load_builtin("icp-core")
    answers = [
        dict(
            company_size="51-200",
            industry=["software", "healthcare"],
            innovation_attitude=4,
            deal_size=30_000,
        ),
        dict(
            company_size="51-200",
            industry=["software", "healthcare"],
            innovation_attitude=4,
            deal_size=30_000,
        ),
        dict(
            company_size="51-200",
            industry=["software", "healthcare"],
            innovation_attitude=4,
            deal_size=50_000,
        ),
        dict(company_size="11-50", industry=["retail"], innovation_attitude=5, deal_size=80_000),
        dict(company_size="51-200", industry=["software"], innovation_attitude=3, deal_size=80_000),
    ]
    report = build_report(
        template, [resp(f"U{i}", **a) for i, a in enumerate(answers)], bootstrap=0
    )
    q = {r.id: r for r in report.questions}
    assert q["company_size"].consensus == "51-200"
    assert q["company_size"].consensus_label == "51-200 employees"
    assert q["company_size"].consensus_share == pytest.approx(0.8)
    assert q["industry"].consensus == ["software", "healthcare"]  # template order
    assert q["industry"].consensus_label == "Software / SaaS; Healthcare"
    assert q["industry"].consensus_share == pytest.approx(0.6)
    assert q["innovation_attitude"].consensus_label == "4 of 5 (Early adopter side)"
    assert q["deal_size"].consensus_label == "50,000 USD (middle half 30,000-80,000)"
    assert q["deal_size"].details["iqr"] == pytest.approx(50_000)
    dist = {o.option: o for o in q["innovation_attitude"].distribution}
    assert dist["5"].label == "5 (Early adopter)" and dist["4"].count == 3
    assert dist["4"].share == pytest.approx(0.6)
    assert q["deal_size"].distribution == []
    # unanswered questions of the template are listed, hidden
    assert q["why_us"].n == 0 and q["why_us"].hidden
    assert [r.id for r in report.questions] == [x.id for x in template.questions]


def test_top_agreements_and_disagreements(small):
    report = build_report(small, six(), bootstrap=0)
    ranked = sorted(
        (q for q in report.questions if q.agreement is not None), key=lambda q: q.agreement
    )
    assert report.top_agreements(2) == ranked[::-1][:2]
    assert report.top_disagreements(1) == ranked[:1]


def test_report_round_trips_through_json(small):
    report = build_report(small, six(), bootstrap=100)
    again = AlignmentReport.model_validate_json(report.model_dump_json())
    assert again == report
    data = json.loads(report.model_dump_json())
    assert {
        "score",
        "score_interval",
        "alpha",
        "rwg_j",
        "questions",
        "splits",
        "teams",
        "texts",
    } <= set(data)


def test_duplicate_respondents_count_once(small):
    responses = six()
    report = build_report(small, responses + responses[:2], bootstrap=0)
    assert report.respondents == 6
    assert report.score == build_report(small, responses, bootstrap=0).score


def test_answers_that_do_not_fit_the_template_are_ignored(small):
    responses = six() + [resp("X", size="galactic", innovation=9, deal="lots", industry=["nope"])]
    report = build_report(small, responses, bootstrap=0)
    q = {r.id: r for r in report.questions}
    assert q["size"].n == 6 and q["innovation"].n == 6 and q["deal"].n == 6 and q["industry"].n == 6


@settings(max_examples=25, deadline=None)
@given(st.randoms(use_true_random=False))
def test_report_does_not_depend_on_respondent_order(small, rnd):
    responses = six()
    shuffled = responses[:]
    rnd.shuffle(shuffled)
    a = build_report(small, responses, bootstrap=50, seed=3)
    b = build_report(small, shuffled, bootstrap=50, seed=3)
    assert a == b


def test_many_distinct_sets_are_estimated_and_bootstrapped():
    options = [f"o{i}" for i in range(12)]
    template = parse_template(
        "id: wide\nname: Wide\nsections:\n  - id: s\n    title: S\n    questions:\n"
        "      - id: picks\n        kind: multi\n        prompt: Pick any\n        options:\n"
        + "".join(f"          - {{id: {o}, label: {o.upper()}}}\n" for o in options)
    )
    rng = np.random.default_rng(0)
    responses = [
        Response(
            respondent=f"U{i}",
            answers={
                "picks": sorted(rng.choice(options, rng.integers(2, 9), replace=False).tolist())
            },
        )
        for i in range(3000)
    ]
    report = build_report(template, responses, bootstrap=200)
    (picks,) = report.questions
    assert picks.details["estimated"] is True
    exact = multi_agreement([r.answers["picks"] for r in responses], options, max_exact_sets=10**6)
    assert picks.agreement == pytest.approx(exact.index, abs=0.005)
    lo, hi = report.score_interval
    assert lo <= report.score <= hi and hi - lo < 5


# -- small n, per-question intervals ---------------------------------------------------------


def test_no_interval_below_five_respondents_and_the_report_says_why(small):
    four = build_report(small, six()[:4], bootstrap=300)
    assert four.score is not None and four.score_interval is None
    assert "No interval below 5 respondents" in four.interval_note
    assert all(q.interval is None for q in four.questions)
    five = build_report(small, six()[:5], bootstrap=300)
    assert five.score_interval is not None and five.interval_note is None


def test_each_question_gets_a_respondent_bootstrap_interval(small):
    rng = random.Random(3)
    people = [resp(f"U{i}", team=rng.choice(["sales", "support"]), size=rng.choice(["smb", "mid", "mid"]),
                   innovation=rng.choice([3, 4, 4, 5]), deal=rng.choice([20_000, 30_000, 40_000]))
              for i in range(40)]
    people[0].answers.pop("size")
    for r in people[1:37]:
        r.answers.pop("deal")  # 4 answers to the deal size: no interval for it
    report = build_report(small, people, bootstrap=400, seed=2)
    q = {r.id: r for r in report.questions}
    lo, hi = q["size"].interval
    assert 0 <= lo <= q["size"].agreement <= hi <= 1 and lo < hi
    assert q["innovation"].interval is not None
    assert q["deal"].n == 4 and q["deal"].interval is None
    again = build_report(small, people, bootstrap=400, seed=2)
    assert again.questions == report.questions  # seeded: reproducible
    wide = build_report(small, people[:10], bootstrap=400, seed=2)
    w = {r.id: r for r in wide.questions}["size"].interval
    assert (w[1] - w[0]) > (hi - lo)  # 10 people: a wider interval than 40


# -- number index with zeros ----------------------------------------------------------------


def test_number_index_is_continuous_at_zero():
    # the plain quartile coefficient gave 0.0 and 1.0 here
    assert number_agreement([0, 0, 0, 1], 1.0).index == pytest.approx(1 - 0.25 / 2.25)
    assert number_agreement([0] * 6 + [1], 1.0).index == pytest.approx(1.0)
    # tiny values count as near zero; shrinking them moves the index smoothly to 1
    values = [number_agreement([0, 0, 0, eps], 1.0).index for eps in (1.0, 0.1, 0.01, 0.001)]
    assert values == sorted(values) and values[-1] > 0.999
    # far above the resolution it is the quartile coefficient to within c / Q
    assert number_agreement([10_000, 20_000, 30_000, 40_000], 1.0).index == pytest.approx(0.7, abs=1e-4)


def test_number_resolution_defaults_to_one_unit_or_a_hundredth_of_a_narrow_range():
    t = parse_template("id: n\nname: N\nsections:\n  - id: s\n    title: S\n    questions:\n"
                       "      - {id: a, kind: number, prompt: A, min: 0, max: 100}\n"
                       "      - {id: b, kind: number, prompt: B, min: 0, max: 1}\n"
                       "      - {id: c, kind: number, prompt: C, min: 0, max: 1, resolution: 0.05}\n")
    assert [q.number_resolution for q in t.questions] == [1.0, 0.01, 0.05]


# -- consensus rules ---------------------------------------------------------------------------


def test_consensus_rule_is_named_and_can_be_the_delphi_share_rule(small):
    # size: 4 of 5 say mid (80% >= 75%) but the index over 4 options is (P - 1/4)/(3/4) = 0.47
    people = [resp(f"U{i}", size="mid" if i < 4 else "smb", innovation=4 if i < 4 else 1) for i in range(5)]
    by_index = build_report(small, people, bootstrap=0)
    by_share = build_report(small, people, bootstrap=0, consensus_rule="share")
    q_index = {q.id: q for q in by_index.questions}
    q_share = {q.id: q for q in by_share.questions}
    p = (16 + 1 - 5) / 20
    assert q_index["size"].agreement == pytest.approx((p - 0.25) / 0.75)
    assert q_index["size"].agreed is False and q_share["size"].agreed is True
    # scale: 80% in the top band (4-5 on 1-5) >= 70%: agreed by share; r_WG = 1 - 1.8/2 = 0.1
    assert q_index["innovation"].agreement == pytest.approx(1 - 1.8 / 2)
    assert q_share["innovation"].agreed is True and q_index["innovation"].agreed is False
    assert "0.70 or more" in by_index.consensus_rule_text
    assert "Diamond et al. 2014" in by_share.consensus_rule_text and by_share.consensus_rule == "share"
    # declared by the template
    declared = parse_template(SMALL.replace("name: Small test template", "name: Small\nconsensus_rule: share"))
    assert build_report(declared, people, bootstrap=0).consensus_rule == "share"


def test_scale_band_below_seventy_percent_is_not_agreed_by_share(small):
    people = [resp(f"U{i}", innovation=v) for i, v in enumerate([4, 4, 5, 3, 2])]  # top band 60%
    q = {r.id: r for r in build_report(small, people, bootstrap=0, consensus_rule="share").questions}
    assert q["innovation"].agreed is False


# -- headline ----------------------------------------------------------------------------------


def test_headline_names_agreed_and_split_traits_and_the_next_step():
    template = load_builtin("icp-core")
    people = []
    for i in range(10):
        team = "sales" if i < 5 else "support"
        people.append(resp(f"P{i}", team=team, company_size="51-200", innovation_attitude=4,
                           decision_maker="vp" if team == "sales" else "manager",
                           why_us="service" if i % 2 else "innovation"))
    report = build_report(template, people, bootstrap=0)
    head = report.headline
    assert head.score_text.startswith(f"{report.score:.0f}/100: ")
    assert head.agreed[:2] == ["company_size", "innovation_attitude"]
    assert head.split[0] == "decision_maker"
    assert head.split_items[0].text == "Sales: VP (100%) · Support: Manager / team lead (100%)"
    assert "why_us" in head.split  # the least agreed question fills the list
    assert head.next_step.startswith("Ratify the 2 agreed ICP traits with `/icp-check ratify`")
    assert "Decision maker in a StrategyCheck" in head.next_step
    data = json.loads(report.model_dump_json())
    assert data["headline"]["agreed"] == head.agreed and data["headline"]["split"] == head.split


def test_score_words():
    from survey.report import score_words

    assert score_words(37.2) == "37/100: your team does not agree yet"
    assert score_words(51) == "51/100: your team partly agrees"
    assert score_words(69.6) == "70/100: your team agrees"


# -- open rounds: figures in steps -----------------------------------------------------------


def test_open_round_figures_change_only_in_steps_of_the_group_size(small):
    from datetime import UTC, datetime, timedelta

    from survey.snapshot import open_round_snapshot

    people = six() + [resp("U7", team="sales", size="any", innovation=1, deal=1)]
    start = datetime(2026, 1, 1, tzinfo=UTC)
    finished = {r.respondent: start + timedelta(minutes=i) for i, r in enumerate(people)}

    def report_at(k):
        done = {rid: t for rid, t in finished.items() if t < start + timedelta(minutes=k)}
        kept, snap = open_round_snapshot(people, done, 3)
        return build_report(small, kept, bootstrap=0, snapshot=snap, finished=snap.finished), snap

    three, _ = report_at(3)
    four, snap4 = report_at(4)
    five, _ = report_at(5)
    assert three.questions == four.questions == five.questions  # the 4th and 5th are not readable
    assert (snap4.finished, snap4.used, snap4.next_refresh_at) == (4, 3, 6)
    six_done, _ = report_at(6)
    assert six_done.respondents == 6 and six_done.questions != three.questions
    assert four.teams == {} and four.splits == [] and four.teams_withheld
    assert "refresh in steps of 3" in snap4.note() and "next at 6 finished" in snap4.note()
    assert four.respondents_text == "3 respondents (the first 3 of 4 finished)"
    assert "wait for more answers" in four.headline.next_step.lower()


def test_closed_round_counts_partial_respondents_and_says_how_many_finished(small):
    report = build_report(small, six(), bootstrap=0, finished=5)
    assert report.respondents_text == "6 respondents, 5 finished"
    assert build_report(small, six(), bootstrap=0, finished=6).respondents_text == "6 respondents"


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(st.one_of(st.none(), st.sampled_from("abcdefg")), st.integers(1, 12), min_size=1),
       st.integers(1, 6))
def test_no_hidden_pool_is_ever_smaller_than_the_threshold(sizes, m):
    from survey.team_splits import visible_groups

    shown = visible_groups(sizes, m)
    hidden = sum(c for t, c in sizes.items() if t not in shown)
    assert all(t is not None and sizes[t] >= m for t in shown)
    assert hidden == 0 or hidden >= m or not shown  # with nothing shown, only the total is shown
    # teams of the threshold or more are only hidden while the pool is still too small
    big = {t for t, c in sizes.items() if t is not None and c >= m}
    small_pool = sum(c for t, c in sizes.items() if t not in big)
    if small_pool == 0 or small_pool >= m:
        assert shown == big


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_answer_columns_give_the_same_report_as_responses(small, seed):
    """``AnswerColumns`` (what ``icp-bot report`` reads) and ``Response`` objects give one report:
    respondents sorted by id, the last of a repeated id winning, answers that do not fit dropped,
    a team assigned or answered."""
    from survey.answer_columns import AnswerColumns

    rnd = random.Random(seed)
    people = six()
    people += [resp(f"V{i}", team=rnd.choice(["sales", "support"]), size=rnd.choice(["smb", "mid", "bogus"]),
                    industry=rnd.choice([["retail"], ["software", "retail"], ["nope"]]),
                    innovation=rnd.choice([1, 2, 5, 9]), deal=float(rnd.randint(1, 90_000)),
                    sentence=rnd.choice(["Retail", "  ", "SaaS"]))
               for i in range(30)]
    people += [Response(respondent=f"W{i}", team="success", answers={"size": "mid", "risk": 3, "team": "sales"})
               for i in range(3)]  # assigned teams win over the answer
    people.append(resp("U2", team="support", size="smb", innovation=1))  # a repeated id: this one wins
    shuffled = people[:]
    rnd.shuffle(shuffled)
    columns = AnswerColumns()
    for r in shuffled:
        columns.add(r.respondent, r.team, dict(r.answers))
    from_columns = build_report(small, columns, bootstrap=200, seed=4)
    from_responses = build_report(small, shuffled, bootstrap=200, seed=4)
    assert from_columns.model_dump_json() == from_responses.model_dump_json()
    assert from_columns.respondents == 39 and from_columns.team_comparisons


def test_the_spreadsheet_reads_into_columns_with_the_same_rows_errors_and_warnings():
    from survey.answer_columns import AnswerColumns
    from survey.spreadsheet import parse_answer_columns, parse_responses

    core = load_builtin("icp-core")
    text = ("respondent,team,company_size,innovation_attitude,deal_size,value_drivers,Timestamp\n"
            "a,Sales,1-10,4,25000,spend;tenure,x\n"
            "b,,51-200,2,\"30,000\",,y\n"
            "c,Support,nonsense,9,5,,z\n"
            "a,Sales,1-10,4,1,,w\n")
    rows = parse_responses(text, core, skip_invalid=True)
    cols = parse_answer_columns(text, core, skip_invalid=True)
    assert [str(e) for e in cols.errors] == [str(e) for e in rows.errors] and len(rows.errors) == 2
    assert cols.warnings == rows.warnings
    expected = AnswerColumns()
    for r in rows.responses:
        expected.add(r.respondent, r.team, r.answers)
    assert cols.columns == expected and len(cols.columns) == 2


def test_bootstrap_does_not_depend_on_grouping_questions(monkeypatch):
    """Grouped questions' counts are margins of their joint counts: the same as one by one,
    also for questions only some answered (the "unanswered" bin)."""
    from survey.spreadsheet import parse_answer_columns
    from survey.template import load_builtin

    core = load_builtin("icp-core")
    rng = np.random.default_rng(3)
    lines = ["respondent,team,company_size,industry,innovation_attitude,risk_appetite,deal_size"]
    for i in range(60):
        size = "" if i % 7 == 0 else ["1-10", "11-50", "51-200"][rng.integers(3)]
        lines.append(f"R{i},{['sales', 'support'][i % 2]},{size},{['software', 'retail'][rng.integers(2)]},"
                     f"{rng.integers(1, 6)},{'' if i % 5 == 0 else rng.integers(1, 6)},{rng.integers(1000, 9000)}")
    columns = parse_answer_columns("\n".join(lines) + "\n", core).columns
    calls = []
    real = survey.score._category_groups
    monkeypatch.setattr(survey.score, "_category_groups", lambda items, n: calls.append(g := real(items, n)) or g)
    grouped = build_report(core, columns, bootstrap=200, seed=2)
    assert max(len(g[3]) for g in calls[0]) >= 3  # some questions were grouped
    monkeypatch.setattr(survey.score, "JOINT_CELLS", 1)  # every question alone
    alone = build_report(core, columns, bootstrap=200, seed=2)
    assert grouped.score_interval == alone.score_interval
    assert [q.interval for q in grouped.questions] == [q.interval for q in alone.questions]
    assert sum(q.interval is not None for q in grouped.questions) >= 5
