"""Agreement statistics on cases worked by hand, and their properties."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from survey.agreement import (
    AGREEMENT_THRESHOLD,
    average_deviation,
    free_marginal_kappa,
    jaccard_matrix,
    js_distance,
    krippendorff_ordinal,
    mean_pairwise_jaccard,
    multi_agreement,
    number_agreement,
    qcd_agreement,
    quantile_from_counts,
    rwg,
    rwg_j,
    scale_agreement,
    single_agreement,
)

OPTS5 = ["a", "b", "c", "d", "e"]


def test_threshold_is_the_conventional_070():
    assert AGREEMENT_THRESHOLD == 0.70


# -- single: free-marginal kappa ----------------------------------------------------------


def test_single_all_agree_is_one():
    item = single_agreement(["c"] * 6, OPTS5)
    assert item.index == pytest.approx(1.0)
    assert item.consensus == "c" and item.consensus_share == 1.0


def test_single_one_dissenter_among_five():
    # n = 5, K = 5: sum n_j^2 = 4^2 + 1^2 = 17; P_i = (17 - 5) / (5 * 4) = 0.6
    # kappa = (0.6 - 1/5) / (1 - 1/5) = 0.4 / 0.8 = 0.5
    item = single_agreement(["a", "a", "b", "a", "a"], OPTS5)
    assert item.index == pytest.approx(0.5)
    assert item.consensus == "a"
    assert item.consensus_share == pytest.approx(0.8)
    assert item.details["modal_share"] == pytest.approx(0.8)
    assert item.counts == {"a": 4, "b": 1, "c": 0, "d": 0, "e": 0}


def test_single_even_split_over_two_of_four_options():
    # n = 4, K = 4: sum n_j^2 = 2^2 + 2^2 = 8; P_i = (8 - 4) / (4 * 3) = 1/3
    # kappa = (1/3 - 1/4) / (1 - 1/4) = (1/12) / (3/4) = 1/9
    item = single_agreement(["a", "b", "a", "b"], ["a", "b", "c", "d"])
    assert item.index == pytest.approx(1 / 9)
    assert item.details["modal_tie"] is True
    assert item.consensus == "a"  # first listed among the tied options


def test_single_even_split_over_the_only_two_options_clamps_to_zero():
    # K = 2: P_i = 1/3 < P_e = 1/2, kappa = (1/3 - 1/2) / (1/2) = -1/3 -> clamped to 0
    assert single_agreement(["a", "b", "a", "b"], ["a", "b"]).index == 0.0


def test_single_chance_depends_on_options_offered_not_chosen():
    # same answers, more options offered: chance 1/K falls and kappa rises
    few = single_agreement(["a", "a", "a", "b"], ["a", "b"]).index
    many = single_agreement(["a", "a", "a", "b"], OPTS5).index
    # P_i = (9 + 1 - 4) / 12 = 0.5; K=2 -> 0; K=5 -> (0.5 - 0.2) / 0.8 = 0.375
    assert few == 0.0 and many == pytest.approx(0.375)


def test_single_undefined_below_two_answers():
    assert single_agreement(["a"], OPTS5).index is None
    empty = single_agreement([], OPTS5)
    assert empty.index is None and empty.consensus is None and empty.n == 0


def test_single_rejects_an_unknown_option():
    with pytest.raises(ValueError, match="not one of the options"):
        single_agreement(["zzz"], OPTS5)


def test_single_matches_statsmodels_randolph_kappa():
    sm = pytest.importorskip("statsmodels.stats.inter_rater")
    counts = np.array([[5, 2, 1, 0, 0, 0]])
    expected = sm.fleiss_kappa(counts, method="randolph")
    answers = ["a"] * 5 + ["b"] * 2 + ["c"]
    assert single_agreement(answers, list("abcdef")).index == pytest.approx(expected)


def test_kappa_kernel_is_vectorised_and_nan_when_undefined():
    out = free_marginal_kappa([[5, 0, 0], [1, 0, 0], [0, 0, 0]], 3)
    assert out[0] == pytest.approx(1.0)
    assert np.isnan(out[1]) and np.isnan(out[2])


# -- multi: mean pairwise Jaccard ---------------------------------------------------------


def test_jaccard_three_sets_by_hand():
    # {a,b} vs {a}: 1/2; {a,b} vs {b,c}: |{b}| / |{a,b,c}| = 1/3; {a} vs {b,c}: 0
    # mean over the 3 pairs = (1/2 + 1/3 + 0) / 3 = 5/18
    item = multi_agreement([["a", "b"], ["a"], ["b", "c"]], ["a", "b", "c", "d"])
    assert item.index == pytest.approx(5 / 18)


def test_jaccard_grouped_identical_sets():
    # sets {a} x2, {a,b} x1: pairs ({a},{a}) = 1, twice ({a},{a,b}) = 1/2 -> mean 2/3
    # grouped: sum_st c_s c_t J = 2*2*1 + 2*(2*1*0.5) + 1*1*1 = 7; (7 - 3) / (3 * 2) = 2/3
    item = multi_agreement([["a"], ["a", "b"], ["a"]], ["a", "b"])
    assert item.index == pytest.approx(2 / 3)
    assert item.n_categories == 2


def test_jaccard_of_two_empty_sets_is_one():
    assert jaccard_matrix([set(), set()]).tolist() == [[1.0, 1.0], [1.0, 1.0]]
    assert multi_agreement([[], []], ["a", "b"]).index == pytest.approx(1.0)


def test_multi_consensus_is_the_strict_majority_options():
    # a: 3 of 4 (majority), b: 2 of 4 (exactly half: not a majority), c: 1 of 4
    item = multi_agreement([["a", "b"], ["a"], ["a", "c"], ["b"]], ["a", "b", "c"])
    assert item.consensus == ["a"]
    assert item.consensus_share == pytest.approx(0.75)
    assert item.counts == {"a": 3, "b": 2, "c": 1}


def test_multi_consensus_share_is_the_smallest_majority_share():
    item = multi_agreement([["a", "b"], ["a", "b"], ["a"]], ["a", "b", "c"])
    assert item.consensus == ["a", "b"]
    assert item.consensus_share == pytest.approx(2 / 3)


def test_multi_without_majority_has_no_consensus():
    item = multi_agreement([["a"], ["b"], ["c"]], ["a", "b", "c"])
    assert item.consensus is None and item.consensus_share is None
    assert item.details["top_share"] == pytest.approx(1 / 3)
    assert item.index == 0.0


def test_multi_undefined_below_two_answers():
    assert multi_agreement([["a"]], ["a", "b"]).index is None


def test_multi_sampled_estimate_is_close_to_exact():
    rng = np.random.default_rng(3)
    options = [f"o{i}" for i in range(12)]
    answers = [
        list(rng.choice(options, size=rng.integers(1, 5), replace=False)) for _ in range(600)
    ]
    exact = multi_agreement(answers, options)
    sampled = multi_agreement(answers, options, max_exact_sets=10, pair_samples=200_000)
    assert exact.details["estimated"] is False and sampled.details["estimated"] is True
    assert sampled.index == pytest.approx(exact.index, abs=0.005)
    # its resampling kernel gives the same estimate on unit weights
    ones = np.ones((1, sampled.n_categories))
    assert sampled.resample(ones)[0] == pytest.approx(sampled.index)


def test_multi_is_linear_in_distinct_sets_for_large_n():
    # 100,000 respondents over 4 distinct sets: the matrix is 4 x 4, not n x n
    answers = [["a"], ["a", "b"], ["b"], ["c"]] * 25_000
    item = multi_agreement(answers, ["a", "b", "c"])
    assert item.n == 100_000 and item.n_categories == 4
    assert 0.0 < item.index < 1.0


# -- scale: r_WG and AD --------------------------------------------------------------------


def test_rwg_with_known_variance():
    # 3,3,3,3,4 on 1..5: mean 3.2, s^2 = (4 * 0.2^2 + 0.8^2) / 4 = 0.8 / 4 = 0.2
    # sigma_E^2 = (5^2 - 1) / 12 = 2; r_WG = 1 - 0.2 / 2 = 0.9
    # AD_M = (4 * 0.2 + 0.8) / 5 = 0.32 <= 5/6: acceptable
    item = scale_agreement([3, 3, 3, 3, 4], 5)
    assert item.index == pytest.approx(0.9)
    assert item.details["variance"] == pytest.approx(0.2)
    assert item.details["ad"] == pytest.approx(0.32)
    assert item.details["ad_acceptable"] is True
    assert item.consensus == 3.0 and item.consensus_share == pytest.approx(0.8)


def test_rwg_moderate_case():
    # 2,3,3,4 on 1..5: mean 3, s^2 = (1 + 0 + 0 + 1) / 3 = 2/3; r_WG = 1 - (2/3)/2 = 2/3
    # AD_M = (1 + 0 + 0 + 1) / 4 = 0.5 <= 0.833; median 3, |x - 3| <= 0.5 for 2 of 4
    item = scale_agreement([2, 3, 3, 4], 5)
    assert item.index == pytest.approx(2 / 3)
    assert item.details["ad"] == pytest.approx(0.5)
    assert item.consensus_share == pytest.approx(0.5)


def test_rwg_truncated_at_zero_and_ad_rule_fails_on_polarised_answers():
    # 1,5 on 1..5: s^2 = 8 > sigma_E^2 = 2 -> 1 - 4 = -3 -> 0; AD = 2 > 5/6
    item = scale_agreement([1, 5], 5)
    assert item.index == 0.0
    assert item.details["ad"] == pytest.approx(2.0)
    assert item.details["ad_acceptable"] is False


def test_ad_threshold_is_a_sixth_of_the_scale():
    # 7 points: A/6 = 1.1667. 2,4 -> AD = 1 (ok); 1,4 -> AD = 1.5 (not ok)
    assert scale_agreement([2, 4], 7).details["ad_acceptable"] is True
    assert scale_agreement([1, 4], 7).details["ad_acceptable"] is False
    assert average_deviation([]) is None


def test_scale_median_between_points():
    item = scale_agreement([2, 3], 5)
    assert item.consensus == 2.5 and item.consensus_share == 1.0


def test_scale_undefined_below_two_answers():
    item = scale_agreement([4], 5)
    assert item.index is None and item.consensus == 4.0
    with pytest.raises(ValueError):
        scale_agreement([6], 5)


def test_rwg_kernel_takes_point_counts():
    # counts of answers 1..5 for 3,3,3,3,4
    assert rwg([0, 0, 4, 1, 0])[()] == pytest.approx(0.9)


# -- number: 1 - QCD -----------------------------------------------------------------------


def test_qcd_example():
    # 10,20,30,40, type 7: Q1 at h = 3 * 0.25 = 0.75 -> 10 + 0.75 * 10 = 17.5; Q3 -> 32.5
    # QCD = (32.5 - 17.5) / (32.5 + 17.5) = 15 / 50 = 0.3; index 0.7
    # median 25; within +-25% (18.75..31.25): 20 and 30 -> share 0.5
    item = number_agreement([40, 10, 30, 20])
    assert item.index == pytest.approx(0.7)
    assert item.consensus == 25.0 and item.consensus_share == pytest.approx(0.5)
    assert item.details == pytest.approx({"q1": 17.5, "q3": 32.5, "iqr": 15.0})


def test_qcd_is_scale_free():
    small = number_agreement([10, 20, 30, 40]).index
    large = number_agreement([10_000, 20_000, 30_000, 40_000]).index
    assert small == pytest.approx(large)


def test_qcd_all_zero_is_full_agreement():
    assert number_agreement([0, 0, 0]).index == 1.0


def test_qcd_negative_numbers_mirror_positive_ones():
    assert number_agreement([-10, -20, -30, -40]).index == pytest.approx(0.7)
    assert 0.0 <= number_agreement([-10, 10, -5, 5]).index <= 1.0


def test_number_undefined_below_two_answers():
    assert number_agreement([5]).index is None
    assert number_agreement([]).consensus is None


def test_quantile_from_counts_matches_numpy():
    values = np.array([1.0, 2.0, 3.0, 7.0])
    counts = np.array([[1, 2, 0, 1], [0, 0, 3, 1]])
    got = quantile_from_counts(counts, values, [0.25, 0.5, 0.75])
    assert got[0] == pytest.approx(np.quantile([1, 2, 2, 7], [0.25, 0.5, 0.75]))
    assert got[1] == pytest.approx(np.quantile([3, 3, 3, 7], [0.25, 0.5, 0.75]))
    assert qcd_agreement(counts, values)[1] == pytest.approx(1 - 1 / 7)  # Q1 3, Q3 4


@pytest.mark.parametrize("rows", [1, 5, 64, 65, 300])
def test_quantile_from_counts_the_same_for_any_count_type_and_row_count(rows):
    """Integer counts (the bootstrap's int32 sums) and float counts, searched a row at a time or
    all rows at once (past ``SEARCH_ROWS``), give the same quantiles to the last bit: numpy's
    of the rows' data (to rounding: numpy interpolates in another order)."""
    rng = np.random.default_rng(rows)
    values = np.sort(rng.choice(np.arange(1000.0), 40, replace=False))
    counts = rng.integers(0, 4, size=(rows, values.size))
    counts[:, 0] += 1  # no empty row
    expected = np.array([np.quantile(np.repeat(values, c), [0.1, 0.25, 0.75]) for c in counts])
    at_once = np.concatenate([quantile_from_counts(np.concatenate([c[None]] * 65).astype(float), values,
                                                   [0.1, 0.25, 0.75])[:1] for c in counts])
    assert np.allclose(at_once, expected, rtol=1e-12, atol=0)
    for typed in (counts.astype(np.int32), counts, counts.astype(float)):
        got = quantile_from_counts(typed, values, [0.1, 0.25, 0.75])
        assert np.array_equal(got, at_once), typed.dtype


# -- across items --------------------------------------------------------------------------


def test_rwg_j_by_hand():
    # s^2 = 0.5 and 1.0 on 5 points (sigma_E^2 = 2): v = (0.25 + 0.5) / 2 = 0.375
    # r_WG(2) = 2 * 0.625 / (2 * 0.625 + 0.375) = 1.25 / 1.625 = 10/13
    assert rwg_j([0.5, 1.0], [5, 5]) == pytest.approx(10 / 13)


def test_rwg_j_zero_when_variance_exceeds_uniform():
    assert rwg_j([2.0, 3.0], [5, 5]) == 0.0
    assert rwg_j([], []) is None


def test_rwg_j_of_one_item_is_rwg():
    assert rwg_j([0.2], [5]) == pytest.approx(0.9)


def test_js_distance_identical_disjoint_and_by_hand():
    assert js_distance([3, 1, 0], [0.75, 0.25, 0]) == pytest.approx(0.0)
    assert js_distance([1, 0], [0, 1]) == pytest.approx(1.0)
    # P = (1, 0), Q = (1/2, 1/2), M = (3/4, 1/4): KL(P||M) = log2(4/3) = 0.415037,
    # KL(Q||M) = 0.5 log2(2/3) + 0.5 log2(2) = 0.207519; JS = 0.311278; distance = 0.557923
    assert js_distance([1, 0], [0.5, 0.5]) == pytest.approx(0.557923, abs=1e-6)
    with pytest.raises(ValueError):
        js_distance([0, 0], [0, 1])


def test_krippendorff_perfect_ordering_and_undefined_cases():
    ratings = np.array([[1, 5, 3], [1, 5, 3], [1, 5, 3.0]])
    assert krippendorff_ordinal(ratings) == pytest.approx(1.0)
    assert krippendorff_ordinal(np.full((4, 3), 2.0)) is None  # one distinct value
    assert krippendorff_ordinal(np.array([[1.0], [2.0]])) is None  # one unit
    assert krippendorff_ordinal(np.array([[1, np.nan], [np.nan, 2]])) is None  # no pairable unit


def test_krippendorff_matches_the_package_on_raw_data():
    import krippendorff

    rng = np.random.default_rng(7)
    ratings = rng.integers(1, 6, size=(12, 5)).astype(float)
    ratings[rng.random(ratings.shape) < 0.2] = np.nan
    expected = krippendorff.alpha(reliability_data=ratings, level_of_measurement="ordinal")
    assert krippendorff_ordinal(ratings) == pytest.approx(expected)


# -- weighted (bootstrap) kernels equal the pairwise definitions ---------------------------


weights_st = st.lists(st.integers(0, 4), min_size=2, max_size=8)


def _pairwise(weights, values, agree):
    num = den = 0.0
    for i, j in itertools.permutations(range(len(values)), 2):
        num += weights[i] * weights[j] * agree(values[i], values[j])
        den += weights[i] * weights[j]
    return num / den if den else math.nan


@given(weights_st, st.data())
def test_weighted_kappa_leaves_out_copies_of_the_same_person(weights, data):
    answers = data.draw(st.lists(st.integers(0, 2), min_size=len(weights), max_size=len(weights)))
    counts = np.bincount(answers, weights=weights, minlength=3)
    got = free_marginal_kappa(counts, 3, sum_w2=sum(w * w for w in weights))[()]
    p = _pairwise(weights, answers, lambda a, b: float(a == b))
    if math.isnan(p):
        assert np.isnan(got)
    else:
        assert got == pytest.approx(min(max((p - 1 / 3) / (2 / 3), 0.0), 1.0))


@given(weights_st, st.data())
def test_weighted_variance_is_the_pairwise_form(weights, data):
    answers = data.draw(st.lists(st.integers(1, 5), min_size=len(weights), max_size=len(weights)))
    counts = np.bincount(np.array(answers) - 1, weights=weights, minlength=5)
    got = rwg(counts, sum_w2=sum(w * w for w in weights))[()]
    half_sq = _pairwise(weights, answers, lambda a, b: (a - b) ** 2 / 2)
    if math.isnan(half_sq):
        assert np.isnan(got)
    else:
        assert got == pytest.approx(min(max(1 - half_sq / 2, 0.0), 1.0))


@given(weights_st, st.data())
def test_weighted_jaccard_is_the_pairwise_form(weights, data):
    sets = data.draw(
        st.lists(
            st.frozensets(st.sampled_from("abc")), min_size=len(weights), max_size=len(weights)
        )
    )
    distinct = sorted(set(sets), key=sorted)
    counts = np.zeros(len(distinct))
    for s, w in zip(sets, weights, strict=True):
        counts[distinct.index(s)] += w
    got = mean_pairwise_jaccard(counts, jaccard_matrix(distinct), sum(w * w for w in weights))[()]
    jac = _pairwise(weights, sets, lambda a, b: len(a & b) / len(a | b) if a | b else 1.0)
    assert np.isnan(got) if math.isnan(jac) else got == pytest.approx(jac)


# -- properties ----------------------------------------------------------------------------

single_answers = st.lists(st.sampled_from(OPTS5), min_size=0, max_size=30)
multi_answers = st.lists(st.lists(st.sampled_from(OPTS5), max_size=5, unique=True), max_size=25)
scale_answers = st.lists(st.integers(1, 7), max_size=30)
number_answers = st.lists(
    st.floats(min_value=0, max_value=1e7, allow_nan=False).map(lambda x: round(x, 2)), max_size=30
)


def _in_unit_interval(item):
    return item.index is None or 0.0 <= item.index <= 1.0


def _check_permutation(summarize, answers, data):
    shuffled = data.draw(st.permutations(answers))
    a, b = summarize(answers), summarize(list(shuffled))
    assert a.index == pytest.approx(b.index) if a.index is not None else b.index is None
    assert a.consensus == b.consensus
    assert a.consensus_share == pytest.approx(b.consensus_share)


@given(single_answers, st.data())
def test_single_properties(answers, data):
    item = single_agreement(answers, OPTS5)
    assert _in_unit_interval(item)
    assert (item.index is None) == (len(answers) < 2)
    _check_permutation(lambda a: single_agreement(a, OPTS5), answers, data)


@given(multi_answers, st.data())
def test_multi_properties(answers, data):
    item = multi_agreement(answers, OPTS5)
    assert _in_unit_interval(item)
    _check_permutation(lambda a: multi_agreement(a, OPTS5), answers, data)
    # the grouped formula equals the brute-force mean over pairs
    if len(answers) >= 2:
        sets = [set(a) for a in answers]
        pairs = list(itertools.combinations(sets, 2))
        brute = sum(len(a & b) / len(a | b) if a | b else 1.0 for a, b in pairs) / len(pairs)
        assert item.index == pytest.approx(brute)


@given(scale_answers, st.data())
def test_scale_properties(answers, data):
    item = scale_agreement(answers, 7)
    assert _in_unit_interval(item)
    if len(answers) >= 2:
        expected = max(0.0, 1 - np.var(answers, ddof=1) / ((49 - 1) / 12))
        assert item.index == pytest.approx(expected)
    _check_permutation(lambda a: scale_agreement(a, 7), answers, data)


@given(number_answers, st.data())
def test_number_properties(answers, data):
    item = number_agreement(answers)
    assert _in_unit_interval(item)
    _check_permutation(number_agreement, answers, data)


@settings(max_examples=50)
@given(
    st.integers(2, 40),
    st.sampled_from(OPTS5),
    st.lists(st.sampled_from(OPTS5), min_size=1, max_size=5, unique=True),
    st.integers(1, 7),
    st.floats(min_value=0, max_value=1e6, allow_nan=False),
)
def test_identical_answers_give_one(n, option, chosen, point, number):
    assert single_agreement([option] * n, OPTS5).index == pytest.approx(1.0)
    assert multi_agreement([chosen] * n, OPTS5).index == pytest.approx(1.0)
    assert scale_agreement([point] * n, 7).index == pytest.approx(1.0)
    assert number_agreement([number] * n).index == pytest.approx(1.0)
