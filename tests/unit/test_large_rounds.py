"""The large-round methods: Pearson's chi-square for team pairs of ``LARGE_PAIR``+ respondents,
normal bootstrap intervals from 200 resamples above ``LARGE_ROUND`` respondents.

Small rounds are pinned elsewhere (``test_report_pinned``: the sample's JSON, byte for byte,
with only the new ``test`` / ``interval_method`` keys added); here a small round's figures are
also compared with the permutation path called directly.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import chi2, chi2_contingency

from survey.answers import Response
from survey.chi_square import chi2_sf, chi_square_homogeneity
from survey.report import build_report
from survey.score import LARGE_ROUND, LARGE_ROUND_RESAMPLES, bootstrap_resamples, normal_interval
from survey.team_splits import LARGE_PAIR, pair_test, permutation_test
from survey.template import parse_template


@pytest.mark.parametrize("df", [1, 2, 3, 4, 7, 10, 25, 99, 100, 301])
def test_survival_function_is_scipys(df):
    for x in [1e-6, 0.3, 1.0, df * 0.5, float(df), df + 3 * np.sqrt(2 * df), 4.0 * df + 40, 700.0]:
        assert chi2_sf(x, df) == pytest.approx(float(chi2.sf(x, df)), rel=1e-10, abs=1e-300)
    assert chi2_sf(0.0, df) == 1.0


def test_statistic_and_p_equal_chi2_contingency_on_a_table_without_rare_cells():
    a, b = np.array([120, 300, 45, 80, 9]), np.array([160, 210, 70, 66, 12])
    stat, df = chi_square_homogeneity(a, b)
    want = chi2_contingency(np.vstack([a, b]), correction=False)
    assert stat == pytest.approx(want.statistic, rel=1e-12)
    assert df == want.dof
    assert chi2_sf(stat, df) == pytest.approx(want.pvalue, rel=1e-9)
    two = chi_square_homogeneity(np.array([40, 60]), np.array([70, 30]))  # df 1: no Yates correction
    assert two[0] == pytest.approx(chi2_contingency([[40, 60], [70, 30]], correction=False).statistic, rel=1e-12)


def test_rare_cells_are_pooled_into_one_and_cochran_decides():
    a, b = np.array([500, 400, 2, 1, 0]), np.array([450, 450, 1, 3, 0])
    stat, df = chi_square_homogeneity(a, b)
    # the three rare columns (pooled 3, 4, 0) make one "other" of 7, still below 5 expected per
    # team, so the smallest kept column joins it: [500 | 400 + 3] against [450 | 450 + 4]
    want = chi2_contingency([[500, 403], [450, 454]], correction=False)
    assert (stat, df) == (pytest.approx(want.statistic, rel=1e-12), 1)
    assert chi_square_homogeneity(np.array([3, 1]), np.array([2, 2])) is None  # too few for Cochran
    assert chi_square_homogeneity(np.array([900, 0]), np.array([0, 0])) is None  # one team empty


def test_pooling_keeps_the_level_under_identical_distributions():
    """Both teams draw from one distribution with several rare answers: the share of p <= 0.05
    over 400 seeded pairs is within 3 binomial standard errors of 0.05."""
    rng = np.random.default_rng(20)
    probs = np.array([0.45, 0.3, 0.2, 0.02, 0.015, 0.01, 0.005])
    ps = []
    for _ in range(400):
        codes = rng.choice(len(probs), size=1200, p=probs)
        p, test = pair_test(codes, np.eye(len(probs), dtype=np.int64), 500, "jensen-shannon", None, 0.0, rng)
        assert test == "chi-square"
        ps.append(p)
    rate = np.mean(np.array(ps) <= 0.05)
    assert abs(rate - 0.05) <= 3 * np.sqrt(0.05 * 0.95 / 400)


def test_small_pairs_keep_the_permutation_test_and_its_draws():
    rng = np.random.default_rng(3)
    codes = rng.integers(0, 4, LARGE_PAIR - 1)
    eye = np.eye(4, dtype=np.int64)
    p, test = pair_test(codes, eye, 400, "jensen-shannon", None, 0.05, np.random.default_rng(9))
    assert test == "permutation"
    assert p == permutation_test(codes, eye, 400, "jensen-shannon", None, 0.05, np.random.default_rng(9))


TEAMS = [f"t{i}" for i in range(8)]
TEMPLATE = parse_template(f"""
id: big
name: Big round
sections:
  - id: main
    title: Main
    questions:
      - {{id: team, kind: single, role: team, prompt: "Team?", options: [{", ".join(f"{{id: {t}, label: {t}}}" for t in TEAMS)}]}}
""" + "".join(f"""      - {{id: q{j}, kind: single, prompt: "Q{j}?", options: [{{id: a, label: A}}, {{id: b, label: B}}, {{id: c, label: C}}]}}
""" for j in range(12)))


def _round(n_per_team: int, seed: int = 0) -> list[Response]:
    """Every team answers every question alike, but t0 and t1 answer q0 apart."""
    rng = np.random.default_rng(seed)
    people = []
    for t in TEAMS:
        for i in range(n_per_team):
            answers: dict = {"team": t}
            for j in range(12):
                p = [0.4, 0.35, 0.25]
                if j == 0 and t == "t0":
                    p = [0.75, 0.15, 0.10]
                if j == 0 and t == "t1":
                    p = [0.15, 0.75, 0.10]
                answers[f"q{j}"] = "abc"[rng.choice(3, p=p)]
            people.append(Response(respondent=f"{t}-{i:05d}", answers=answers))
    return people


def test_a_lone_strong_split_among_many_pairs_is_flagged_on_a_large_round():
    """336 pairs: BH needs p <= 0.05 / 336 for the lone split, which R = 1,000,000 / 1,200 = 833
    relabellings could never show (p >= 1 / 834); the chi-square p can."""
    report = build_report(TEMPLATE, _round(600), bootstrap=0)
    assert report.pairs_tested == 12 * 28
    assert [s.question_id for s in report.splits] == ["q0"]
    pair = next(p for p in report.splits[0].pairs if p.flagged)
    assert (pair.team_a, pair.team_b, pair.test) == ("t0", "t1", "chi-square")
    assert pair.p_value < 1e-30
    assert all(p.test == "chi-square" for s in report.team_comparisons for p in s.pairs)


def test_a_small_round_uses_the_permutation_test_and_percentile_intervals():
    people = _round(12)
    report = build_report(TEMPLATE, people)
    assert report.bootstrap == 1000 and report.interval_method == "percentile"
    assert {p.test for s in report.team_comparisons for p in s.pairs} == {"permutation"}
    from survey.report_format import to_text

    assert "(1000 resamples)" in to_text(report)


def test_a_large_round_draws_200_resamples_and_gives_normal_intervals():
    people = _round(LARGE_ROUND // len(TEAMS) + 10)
    report = build_report(TEMPLATE, people, seed=4)
    assert report.respondents > LARGE_ROUND
    assert (report.bootstrap, report.interval_method) == (LARGE_ROUND_RESAMPLES, "normal")
    lo, hi = report.score_interval
    assert lo < report.score < hi
    for q in report.questions:
        if q.interval is not None:
            assert q.interval[0] < q.agreement < q.interval[1]
            mid = (q.interval[0] + q.interval[1]) / 2
            assert mid == pytest.approx(q.agreement, abs=1e-12)  # centred on the estimate (no clipping here)
    from survey.report_format import to_text

    assert "(200 resamples; normal interval" in to_text(report)  # the text report says which interval


def test_normal_interval_is_the_estimate_plus_minus_1_96_sd_and_clipped():
    rng = np.random.default_rng(1)
    samples = rng.normal(0.6, 0.02, LARGE_ROUND_RESAMPLES)
    lo, hi = normal_interval(samples, 0.61, 0.0, 1.0)
    sd = samples.std(ddof=1)
    assert hi - lo == pytest.approx(2 * 1.959963984540054 * sd, rel=1e-12)
    assert (lo + hi) / 2 == pytest.approx(0.61, rel=1e-12)
    assert normal_interval(samples, 0.99, 0.0, 1.0)[1] == 1.0  # clipped to the index's range
    assert normal_interval(np.array([np.nan, 0.5]), 0.5, 0.0, 1.0) is None


def _scored_items(people):
    """Each scored question's answers with its agreement, as ``build_report`` (seed 4) makes them."""
    from survey.question_answers import collect_answers, summarize

    items = []
    for pos, q in enumerate(TEMPLATE.questions):
        a = collect_answers(q, people)
        if q.role != "team":
            a.item = summarize(q, a.values, 4 + pos)
            items.append(a)
    return items


def test_large_round_interval_width_is_from_the_reports_own_resamples():
    """The score interval of a large round is 2 x 1.96 x the SD of the 200 seeded resamples'
    scores, drawn as ``bootstrap_resamples`` draws them."""
    people = sorted(_round(LARGE_ROUND // len(TEAMS) + 10), key=lambda r: r.respondent)
    report = build_report(TEMPLATE, people, seed=4)
    items = _scored_items(people)
    scores, _ = bootstrap_resamples(items, np.ones(len(items)), len(people), LARGE_ROUND_RESAMPLES, 4)
    lo, hi = report.score_interval
    assert hi - lo == pytest.approx(2 * 1.959963984540054 * scores.std(ddof=1), rel=1e-9)


def test_resamples_are_the_same_whatever_path_counts_them(monkeypatch):
    """Multiplicities past uint8 (counted again, wider) and questions of many categories (a
    weighted bincount instead of reduceat) give the same resampled scores and indices, bit for
    bit: every count is a whole number, summed exactly either way."""
    from survey import score

    people = sorted(_round(LARGE_ROUND // len(TEAMS) + 10), key=lambda r: r.respondent)
    items = _scored_items(people)
    assert any(it.item.n_categories > 1 for it in items)
    expected = bootstrap_resamples(items, np.ones(len(items)), len(people), 40, 4)
    assert np.isfinite(expected[0]).all()
    # wider multiplicities; each question alone (reduceat); each alone and counted by bincount
    for settings in ({"UINT8_COUNTS": 2}, {"JOINT_CELLS": 1}, {"JOINT_CELLS": 1, "MANY_CATEGORIES": 1}):
        with monkeypatch.context() as m:
            for name, value in settings.items():
                m.setattr(score, name, value)
            got = bootstrap_resamples(items, np.ones(len(items)), len(people), 40, 4)
        assert np.array_equal(got[0], expected[0]) and np.array_equal(got[1], expected[1], equal_nan=True), settings
