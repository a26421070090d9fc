"""The ICP profile: built from a round's consensus, edited by a leader, and a prospect's fit."""

from __future__ import annotations

import pytest

from survey.answers import AnswersInvalid, Response
from survey.profile import (
    FIT_PARTIAL,
    FIT_STRONG,
    IcpProfile,
    ProfileTrait,
    edit_profile,
    profile_from_report,
    score_fit,
)
from survey.report import build_report
from survey.template import QuestionKind, load_builtin, parse_template

MINI = parse_template("""
id: mini
name: Mini ICP
sections:
  - id: main
    title: Main
    questions:
      - id: team
        kind: single
        role: team
        prompt: Your team?
        options: [{id: sales, label: Sales}, {id: support, label: Support}]
      - id: size
        kind: single
        prompt: Company size
        weight: 3
        options:
          - {id: small, label: Small}
          - {id: mid, label: Mid-size}
          - {id: large, label: Large}
      - id: industry
        kind: multi
        prompt: Industry
        weight: 2
        options:
          - {id: software, label: Software}
          - {id: finance, label: Finance}
          - {id: retail, label: Retail}
      - {id: innovation, kind: scale, prompt: Innovation, points: 5, low_label: Cautious, high_label: Early}
      - {id: deal, kind: number, prompt: Deal size, unit: USD, min: 0, max: 1000000}
      - id: flags
        kind: multi
        role: disqualifier
        prompt: Walk away when
        options:
          - {id: discounts, label: Deep discounts}
          - {id: burden, label: Support burden}
          - {id: late, label: Pays late}
      - {id: note, kind: text, prompt: One sentence, required: false}
      - {id: sure, kind: scale, role: confidence, prompt: How sure, points: 5, low_label: Guessing, high_label: Very sure}
""", "mini.yaml")

ROWS = [
    # size,   industry,                 innovation, deal,    flags
    ("mid", ["software", "finance"], 4, 10_000, ["discounts"]),
    ("mid", ["software"], 4, 20_000, ["discounts", "burden"]),
    ("mid", ["software", "retail"], 5, 30_000, ["discounts"]),
    ("small", ["finance"], 3, 40_000, ["late"]),
    ("large", ["software", "finance"], 4, 100_000, ["burden"]),
]


def _responses(rows=ROWS) -> list[Response]:
    return [
        Response(
            respondent=f"R{i}",
            team="sales",
            answers={"size": s, "industry": ind, "innovation": inn, "deal": float(d), "flags": fl,
                     "note": "Mid-size software firms", "sure": 4},
        )
        for i, (s, ind, inn, d, fl) in enumerate(rows)
    ]


@pytest.fixture
def profile() -> IcpProfile:
    return profile_from_report(build_report(MINI, _responses(), bootstrap=0), MINI)


# -- profile from a report -------------------------------------------------------------------


def test_profile_takes_the_consensus_of_each_trait(profile):
    traits = {t.question_id: t for t in profile.traits}
    assert list(traits) == ["size", "industry", "innovation", "deal"]  # template order
    assert traits["size"].value == "mid"  # 3 of 5
    assert traits["size"].weight == 3 and traits["industry"].weight == 2
    # software 4/5 and finance 3/5 are majorities, retail 1/5 is not
    assert sorted(traits["industry"].value) == ["finance", "software"]
    assert traits["innovation"].value == 4 and isinstance(traits["innovation"].value, int)
    # median of 10k, 20k, 30k, 40k, 100k; type-7 quartiles at positions 1 and 3
    deal = traits["deal"]
    assert (deal.value, deal.low, deal.high) == (30_000, 20_000, 40_000)
    assert deal.kind == QuestionKind.NUMBER and deal.prompt == "Deal size"
    # the disqualifiers are the majority walk-away signs; team, text, confidence stay out
    assert profile.disqualifier_question == "flags"
    assert profile.disqualifiers == ["discounts"]
    assert profile.template_id == "mini"


def test_profile_leaves_out_hidden_and_no_majority_traits():
    responses = _responses()
    # only two people give a deal size: hidden under anonymity (min group 3)
    responses = [
        r.model_copy(update={"answers": {k: v for k, v in r.answers.items() if k != "deal" or i < 2}})
        for i, r in enumerate(responses)
    ]
    # no industry reaches a majority
    industries = [["software"], ["finance"], ["retail"], ["software"], ["finance"]]
    responses = [
        r.model_copy(update={"answers": r.answers | {"industry": ind}})
        for r, ind in zip(responses, industries, strict=True)
    ]
    profile = profile_from_report(build_report(MINI, responses, bootstrap=0), MINI)
    assert [t.question_id for t in profile.traits] == ["size", "innovation"]


def test_profile_of_a_hidden_round_is_empty():
    report = build_report(MINI, _responses()[:2], bootstrap=0)
    profile = profile_from_report(report, MINI)
    assert profile.traits == [] and profile.disqualifiers == []


# -- edits --------------------------------------------------------------------------------


def test_edit_a_trait_by_label(profile):
    edited = edit_profile(profile, MINI, {"size": "Large"})
    assert edited.trait("size").value == "large"
    assert profile.trait("size").value == "mid"  # the original is untouched


def test_edit_a_number_drops_the_old_range_unless_unchanged(profile):
    same = edit_profile(profile, MINI, {"deal": "30k"})
    assert (same.trait("deal").low, same.trait("deal").high) == (20_000, 40_000)
    moved = edit_profile(profile, MINI, {"deal": "$50,000"})
    deal = moved.trait("deal")
    assert (deal.value, deal.low, deal.high) == (50_000, None, None)
    # the range is then +-25% of the new value
    assert score_fit(moved, MINI, {"deal": 37_500}).score == 100
    assert score_fit(moved, MINI, {"deal": 37_000}).score == 0


def test_edit_removes_a_trait_by_blank(profile):
    edited = edit_profile(profile, MINI, {"innovation": "", "industry": None})
    assert [t.question_id for t in edited.traits] == ["size", "deal"]


def test_edit_adds_back_in_template_order(profile):
    removed = edit_profile(profile, MINI, {"size": ""})
    added = edit_profile(removed, MINI, {"size": "small"})
    assert [t.question_id for t in added.traits] == ["size", "industry", "innovation", "deal"]
    assert added.trait("size").weight == 3


def test_edit_disqualifiers(profile):
    edited = edit_profile(profile, MINI, {"flags": "Pays late;burden"})
    assert edited.disqualifiers == ["burden", "late"]
    cleared = edit_profile(profile, MINI, {"flags": ""})
    assert cleared.disqualifiers == []


def test_bad_edits_are_rejected_all_at_once(profile):
    with pytest.raises(AnswersInvalid) as info:
        edit_profile(profile, MINI, {"size": "huge", "innovation": 9, "nope": 1, "note": "text",
                                     "team": "sales", "deal": "lots"})
    errors = info.value.errors
    assert set(errors) == {"size", "innovation", "nope", "note", "team", "deal"}
    assert "'huge' is not one of the options" in errors["size"]
    assert errors["innovation"] == "must be a whole number from 1 to 5"
    assert errors["nope"] == "is not a question of this template"
    assert errors["note"] == errors["team"] == "is not a trait of the profile"
    assert errors["deal"] == "'lots' is not a number"


# -- fit ----------------------------------------------------------------------------------

PERFECT = {"size": "mid", "industry": "software", "innovation": 4, "deal": 30_000}


def test_perfect_match(profile):
    fit = score_fit(profile, MINI, PERFECT)
    assert (fit.score, fit.match_score, fit.verdict) == (100, 100, "strong fit")
    assert len(fit.matches) == 4 and fit.misses == [] and fit.unknown == []
    deal = next(m for m in fit.matches if m.question_id == "deal")
    assert deal.expected == "30,000 USD (range 20,000-40,000)"
    assert deal.actual == "30,000 USD"


def test_weighted_score_by_hand(profile):
    # weights: size 3, industry 2, innovation 1, deal 1 (total 7)
    fit = score_fit(profile, MINI, {"size": "mid", "industry": "finance;retail",
                                    "innovation": 1, "deal": 500_000})
    assert fit.score == round(100 * 5 / 7) == 71
    assert fit.verdict == "strong fit"
    assert {m.question_id for m in fit.misses} == {"innovation", "deal"}

    fit = score_fit(profile, MINI, {"size": "mid", "industry": "retail", "innovation": 1, "deal": 1})
    assert fit.score == round(100 * 3 / 7) == 43
    assert fit.verdict == "partial fit"

    fit = score_fit(profile, MINI, {"size": "small", "industry": "retail", "innovation": 5,
                                    "deal": 21_000})
    assert fit.score == round(100 * 2 / 7) == 29
    assert fit.verdict == "poor fit"


def test_verdict_thresholds_are_inclusive():
    def two_traits(w_match: float, w_miss: float) -> IcpProfile:
        return IcpProfile(template_id="mini", traits=[
            ProfileTrait(question_id="size", kind="single", prompt="Company size", value="mid",
                         weight=w_match),
            ProfileTrait(question_id="innovation", kind="scale", prompt="Innovation", value=1,
                         weight=w_miss),
        ])

    prospect = {"size": "mid", "innovation": 5}
    assert score_fit(two_traits(7, 3), MINI, prospect).score == FIT_STRONG == 70
    assert score_fit(two_traits(7, 3), MINI, prospect).verdict == "strong fit"
    assert score_fit(two_traits(69, 31), MINI, prospect).verdict == "partial fit"
    assert score_fit(two_traits(4, 6), MINI, prospect).score == FIT_PARTIAL == 40
    assert score_fit(two_traits(4, 6), MINI, prospect).verdict == "partial fit"
    assert score_fit(two_traits(39, 61), MINI, prospect).verdict == "poor fit"


def test_unknown_traits_are_left_out_of_the_denominator(profile):
    fit = score_fit(profile, MINI, {"size": "mid"})
    assert fit.score == 100 and fit.verdict == "strong fit"
    assert fit.unknown == ["Industry", "Innovation", "Deal size"]
    fit = score_fit(profile, MINI, {"industry": "retail", "innovation": 3, "size": ""})
    assert fit.score == round(100 * 1 / 3) == 33  # innovation (1) of industry (2) + innovation (1)
    assert fit.unknown == ["Company size", "Deal size"]


def test_nothing_known_is_unknown(profile):
    fit = score_fit(profile, MINI, {"note": "nice people"})
    assert (fit.score, fit.match_score, fit.verdict) == (None, None, "unknown")


def test_disqualifier_walks_away_and_keeps_the_match_score(profile):
    fit = score_fit(profile, MINI, PERFECT | {"flags": "discounts;late"})
    assert fit.score == 0
    assert fit.match_score == 100
    assert fit.verdict == "walk away"
    assert fit.disqualifiers_hit == ["Deep discounts"]
    assert len(fit.matches) == 4


def test_a_sign_that_is_not_a_profile_disqualifier_does_not_count(profile):
    fit = score_fit(profile, MINI, PERFECT | {"flags": "late;burden"})
    assert (fit.score, fit.verdict, fit.disqualifiers_hit) == (100, "strong fit", [])


def test_number_range_is_the_iqr(profile):
    # IQR 20k-40k is wider than +-25% of 30k (22.5k-37.5k)
    for deal, matched in [(20_000, True), (40_000, True), (21_000, True), (19_999, False),
                          (40_001, False)]:
        assert score_fit(profile, MINI, {"deal": deal}).score == (100 if matched else 0), deal


def test_number_range_widened_to_25_percent_of_the_median():
    narrow = IcpProfile(template_id="mini", traits=[
        ProfileTrait(question_id="deal", kind="number", prompt="Deal size", value=100_000,
                     low=95_000, high=105_000)])
    for deal, matched in [(75_000, True), (125_000, True), (74_999, False), (125_001, False),
                          (100_000, True)]:
        assert score_fit(narrow, MINI, {"deal": deal}).score == (100 if matched else 0), deal
    fit = score_fit(narrow, MINI, {"deal": 1})
    assert fit.misses[0].expected == "100,000 USD (range 75,000-125,000)"


def test_scale_within_one_point(profile):
    for value, matched in [(3, True), (4, True), (5, True), (2, False), (1, False)]:
        assert score_fit(profile, MINI, {"innovation": value}).score == (100 if matched else 0)


def test_multi_needs_one_shared_option(profile):
    assert score_fit(profile, MINI, {"industry": "retail;finance"}).score == 100
    assert score_fit(profile, MINI, {"industry": ["software"]}).score == 100
    assert score_fit(profile, MINI, {"industry": "retail"}).score == 0


def test_single_needs_the_same_option(profile):
    assert score_fit(profile, MINI, {"size": "Mid-size"}).score == 100
    assert score_fit(profile, MINI, {"size": "large"}).score == 0


def test_invalid_prospect_values_are_rejected(profile):
    with pytest.raises(AnswersInvalid) as info:
        score_fit(profile, MINI, {"size": "huge", "deal": "-5", "colour": "red"})
    assert set(info.value.errors) == {"size", "deal", "colour"}
    assert info.value.errors["colour"] == "is not a trait of this profile's template"


def test_questions_about_us_stay_out_of_the_profile():
    """top20_revenue_share measures agreement on our revenue, not a trait a prospect has."""
    template = load_builtin("icp-core")
    assert template.question("top20_revenue_share").in_profile is False
    responses = [Response(respondent=f"R{i}", answers={"top20_revenue_share": 70, "company_size": "51-200"})
                 for i in range(4)]
    report = build_report(template, responses, bootstrap=0)
    assert next(q for q in report.questions if q.id == "top20_revenue_share").agreement == 1.0  # still scored
    profile = profile_from_report(report, template)
    assert [t.question_id for t in profile.traits] == ["company_size"]
    with pytest.raises(AnswersInvalid) as info:
        edit_profile(profile, template, {"top20_revenue_share": "80"})
    assert info.value.errors == {"top20_revenue_share": "is not a trait of the profile"}


def test_profile_words_values_as_the_report_does():
    from survey.profile import describe_value
    from survey.template import load_builtin

    core = load_builtin("icp-core")
    scale = core.question("innovation_attitude")
    assert describe_value(scale, 4) == "4 of 5 (Early adopter side)"
    assert describe_value(scale, 3) == "3 of 5 (midpoint)"
    deal = core.question("deal_size")
    assert describe_value(deal, 40_500, 28_437.5, 80_000) == "40,500 USD (middle half 28,438-80,000)"
    assert describe_value(deal, 40_500, 30_000, 50_000, range_word="range") == "40,500 USD (range 30,000-50,000)"
