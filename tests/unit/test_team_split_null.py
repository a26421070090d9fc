"""The team-split permutation test draws its null tables from the multivariate hypergeometric
distribution instead of relabelling people: the same null distribution, hence the same test.

Checked here by enumeration on small pairs (every relabelling of the people against the
hypergeometric probability of every table), then on the sampler itself (drawn distances
against the exact null by Kolmogorov-Smirnov; the Monte Carlo p-value against the exact one).
"""

from __future__ import annotations

import math
from collections import Counter
from itertools import combinations

import numpy as np
import pytest
from scipy.stats import binom, multivariate_hypergeom

from survey.team_splits import _distance, _encode, null_distances, pair_p_value, permutation_p_value
from survey.template import parse_template

TEMPLATE = parse_template("""
id: null-test
name: Null distribution test
sections:
  - id: main
    title: Main
    questions:
      - {id: size, kind: single, prompt: "Size?", options: [{id: a, label: A}, {id: b, label: B}, {id: c, label: C}]}
      - {id: tools, kind: multi, prompt: "Tools?", options: [{id: x, label: X}, {id: y, label: Y}, {id: z, label: Z}]}
      - {id: risk, kind: scale, prompt: "Risk?", points: 5, low_label: Low, high_label: High}
      - {id: deal, kind: number, prompt: "Deal size?", min: 0, max: 1000}
""")

PAIRS = {  # team a's answers, then team b's: 12 people, 5 in team a, C(12, 5) = 792 relabellings
    "size": (["a", "a", "b", "a", "c"], ["b", "b", "c", "c", "b", "a", "c"]),
    "tools": ([["x"], ["x", "y"], ["x", "y"], ["z"], ["x", "y", "z"]],
              [["y"], ["y", "z"], ["x"], ["z"], ["y", "z"], ["x", "y"], ["z"]]),
    "risk": ([1, 2, 2, 3, 5], [4, 4, 5, 3, 5, 4, 2]),
    "deal": ([10.0, 20.0, 20.0, 35.0, 50.0], [40.0, 60.0, 60.0, 80.0, 35.0, 90.0, 100.0]),
}


def _pair(qid: str):
    a, b = PAIRS[qid]
    codes, patterns, metric, positions = _encode(TEMPLATE.question(qid), a + b)
    return codes, patterns, metric, positions, len(a)


def _exact_null(codes, patterns, n_a, metric, positions):
    """{team a's pattern counts: probability} and the distances, over every relabelling of the people."""
    n = len(codes)
    tables: Counter[tuple[int, ...]] = Counter()
    for chosen in combinations(range(n), n_a):
        tables[tuple(np.bincount(codes[list(chosen)], minlength=len(patterns)))] += 1
    total = math.comb(n, n_a)
    assert sum(tables.values()) == total
    pooled = np.bincount(codes, minlength=len(patterns))
    keys = np.array(list(tables), dtype=np.int64)
    ca = keys @ patterns
    distances = _distance(metric, ca.astype(float), (pooled @ patterns - ca).astype(float), positions)
    return {k: c / total for k, c in tables.items()}, dict(zip(tables, distances, strict=True))


@pytest.mark.parametrize("qid", list(PAIRS))
def test_relabelling_people_gives_team_a_a_multivariate_hypergeometric_table(qid):
    codes, patterns, metric, positions, n_a = _pair(qid)
    probability, _ = _exact_null(codes, patterns, n_a, metric, positions)
    pooled = np.bincount(codes, minlength=len(patterns))
    dist = multivariate_hypergeom(pooled, n_a)
    for table, p in probability.items():
        assert p == pytest.approx(float(dist.pmf(np.array(table))), rel=1e-12, abs=0)
    assert sum(probability.values()) == pytest.approx(1.0)  # and no table outside the support
    if qid == "tools":  # multi: one pattern per distinct chosen set, mapped to option counts
        assert patterns.shape == (len({tuple(v) for v in PAIRS[qid][0] + PAIRS[qid][1]}), 3)
        first = np.bincount(codes[:n_a], minlength=len(patterns)) @ patterns
        assert list(first) == [4, 3, 2]  # x, y, z chosen in team a


@pytest.mark.parametrize("qid", list(PAIRS))
def test_exact_p_value_is_kept_where_the_relabellings_are_few(qid):
    codes, patterns, metric, positions, n_a = _pair(qid)
    _, distances = _exact_null(codes, patterns, n_a, metric, positions)
    probability, _ = _exact_null(codes, patterns, n_a, metric, positions)
    observed_table = tuple(np.bincount(codes[:n_a], minlength=len(patterns)))
    observed = distances[observed_table]
    exact = sum(p for t, p in probability.items() if distances[t] >= observed - 1e-12)
    rng = np.random.default_rng(1)
    assert pair_p_value(codes, patterns, n_a, metric, positions, observed, rng) == pytest.approx(exact)
    assert rng.random() == np.random.default_rng(1).random()  # enumeration draws nothing


def _bigger_pair(qid: str, seed: int):
    """16 people, 6 in team a: 8,008 relabellings, more than the 999 of the exact test."""
    rng = np.random.default_rng(seed)
    a, b = PAIRS[qid]
    pool = a + b
    values = [pool[i] for i in rng.integers(0, len(pool), 16)]
    codes, patterns, metric, positions = _encode(TEMPLATE.question(qid), values)
    return codes, patterns, metric, positions, 6


@pytest.mark.parametrize("qid", list(PAIRS))
def test_drawn_distances_follow_the_exact_null(qid):
    """Kolmogorov-Smirnov of 20,000 drawn tables' distances against the exact distribution of
    the distances over all relabellings (critical value at 0.1%: 1.95 / sqrt(N))."""
    codes, patterns, metric, positions, n_a = _bigger_pair(qid, 7)
    probability, distances = _exact_null(codes, patterns, n_a, metric, positions)
    d = null_distances(codes, patterns, n_a, metric, positions, np.random.default_rng(3), 20_000)
    support = np.unique(np.array(list(distances.values())))
    exact_cdf = np.array([sum(p for t, p in probability.items() if distances[t] <= x + 1e-12) for x in support])
    drawn_cdf = np.searchsorted(np.sort(d), support + 1e-12, side="right") / len(d)
    assert np.max(np.abs(exact_cdf - drawn_cdf)) < 1.95 / math.sqrt(len(d))


@pytest.mark.parametrize("qid", list(PAIRS))
def test_monte_carlo_p_value_is_within_its_error_of_the_exact_one(qid):
    codes, patterns, metric, positions, n_a = _bigger_pair(qid, 11)
    probability, distances = _exact_null(codes, patterns, n_a, metric, positions)
    ordered = sorted(set(distances.values()))
    observed = ordered[len(ordered) * 3 // 4]  # a distance in the upper tail, p well inside (0, 1)
    exact = sum(p for t, p in probability.items() if distances[t] >= observed - 1e-12)
    p = pair_p_value(codes, patterns, n_a, metric, positions, observed, np.random.default_rng(5))
    assert 0 < exact < 1
    assert abs(p - exact) < 4 * math.sqrt(exact * (1 - exact) / 999) + 1 / 1000  # + the 1/(1+R) of Phipson-Smyth


def test_respondent_matrix_entry_point_gives_the_same_p_value():
    """``permutation_p_value`` on a respondent x category matrix: its distinct rows are the patterns."""
    codes, patterns, metric, positions, n_a = _bigger_pair("tools", 2)
    ca = np.bincount(codes[:n_a], minlength=len(patterns)) @ patterns
    total = np.bincount(codes, minlength=len(patterns)) @ patterns
    observed = float(_distance(metric, ca.astype(float), (total - ca).astype(float), positions))
    via_matrix = permutation_p_value(patterns[codes], n_a, metric, positions, observed, np.random.default_rng(4))
    direct = pair_p_value(codes, patterns, n_a, metric, positions, observed, np.random.default_rng(4))
    assert 0 < via_matrix <= 1 and abs(via_matrix - direct) < 0.05  # same null, another pattern order


def _tables(pooled: list[int], n_a: int):
    """Every table team a can draw: counts k_j <= pooled_j summing to n_a."""
    if not pooled:
        if n_a == 0:
            yield ()
        return
    rest = sum(pooled[1:])
    for k in range(max(0, n_a - rest), min(pooled[0], n_a) + 1):
        for tail in _tables(pooled[1:], n_a - k):
            yield (k, *tail)


def test_the_samples_p_values_are_within_their_monte_carlo_error_of_the_exact_ones():
    """The shipped sample's single-choice and scale pairs (10 against 10 people: 184,756
    relabellings each, so Monte Carlo with R = 999): the report's p-value against the exact one,
    summed over every table team a can draw with its hypergeometric probability."""
    import json
    from importlib import resources

    from survey.question_answers import collect_answers
    from survey.report import _dedupe, build_report
    from survey.spreadsheet import read_responses
    from survey.team_splits import team_of
    from survey.template import QuestionKind, resolve_template

    core = resolve_template("icp-core")
    sample = str(resources.files("survey.samples").joinpath("icp-sample-30.csv"))
    people = _dedupe(read_responses(sample, core).responses)
    report = json.loads(build_report(core, people).model_dump_json())
    teams = [team_of(core, r) for r in people]
    checked = 0
    for split in report["team_comparisons"]:
        q = core.question(split["question_id"])
        if q.kind not in (QuestionKind.SINGLE, QuestionKind.SCALE):
            continue
        answers = collect_answers(q, people)
        codes, patterns, metric, positions = _encode(q, answers.values)
        team = np.array([teams[r] for r in answers.rows], dtype=object)
        for pair in split["pairs"]:
            a, b = codes[team == pair["team_a"]], codes[team == pair["team_b"]]
            pooled = np.bincount(np.concatenate([a, b]), minlength=len(patterns))
            tables = np.array(list(_tables(pooled.tolist(), len(a))), dtype=np.int64)
            probability = multivariate_hypergeom(pooled, len(a)).pmf(tables)
            d = _distance(metric, tables.astype(float), (pooled - tables).astype(float), positions)
            exact = min(float(probability[d >= pair["distance"] - 1e-12].sum()), 1.0)
            # p = (1 + hits) / 1000 with hits ~ Binomial(999, exact): neither tail beyond 1 in 1000
            hits = round(pair["p_value"] * 1000) - 1
            tail = min(binom.cdf(hits, 999, exact), binom.sf(hits - 1, 999, exact))
            assert tail > 1e-3, (q.id, pair, exact, tail)
            checked += 1
    assert checked == 30  # 5 single-choice and 5 scale questions, 3 team pairs each
