"""`icp-bot report` on a spreadsheet, its figures recomputed by hand from DESIGN.md's formulas.

The hand calculation reads the CSV with the csv module and plain Python only: no project
code, no numpy, so that a slip in ``survey/`` cannot hide in the expected values.
"""

from __future__ import annotations

import csv
import json
import math
import statistics
from importlib import resources
from itertools import combinations
from pathlib import Path

import pytest

from bot.cli import main

SAMPLE = Path(str(resources.files("survey.samples").joinpath("icp-sample-30.csv")))

# The scored questions of survey/templates/icp-core.yaml (every weight 1): kind and, for
# single questions, K = the number of options offered; for scales, the number of points.
SINGLE_K = {"geographic_reach": 5, "company_size": 6, "decision_maker": 6,
            "buying_motivation": 6, "why_us": 6}
MULTI = ["value_drivers", "regions", "industry", "disqualifiers"]
SCALE_POINTS = {"innovation_attitude": 5, "risk_appetite": 5, "collaboration": 5,
                "price_sensitivity": 5, "incumbent_loyalty": 5}
NUMBER = ["top20_revenue_share", "deal_size", "acquisition_cost"]
UNSCORED = {"team", "ideal_customer", "confidence"}


# -- the hand calculation ---------------------------------------------------------------


def _rows(path: Path = SAMPLE) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def _answered(rows, column) -> list[str]:
    return [r[column].strip() for r in rows if r[column].strip()]


def _number(cell: str) -> float:
    text = cell.replace(",", "").replace("$", "").strip().lower()
    if text.endswith("k"):
        return float(text[:-1]) * 1000
    return float(text)


def hand_kappa(answers: list[str], k: int) -> float:
    """Free-marginal kappa: P = (sum n_j^2 - n) / (n (n - 1)), (P - 1/K) / (1 - 1/K), clamped."""
    n = len(answers)
    counts = {a: answers.count(a) for a in set(answers)}
    p = (sum(c * c for c in counts.values()) - n) / (n * (n - 1))
    kappa = (p - 1 / k) / (1 - 1 / k)
    return min(max(kappa, 0.0), 1.0)


def hand_jaccard(answers: list[str]) -> float:
    """Mean Jaccard similarity over all unordered pairs of chosen sets."""
    sets = [set(a.split(";")) for a in answers]
    pairs = list(combinations(sets, 2))
    return sum(len(a & b) / len(a | b) for a, b in pairs) / len(pairs)


def hand_rwg(answers: list[str], points: int) -> float:
    """r_WG = 1 - s^2 / ((A^2 - 1) / 12), sample variance, truncated to [0, 1]."""
    s2 = statistics.variance([int(a) for a in answers])
    return min(max(1 - s2 / ((points * points - 1) / 12), 0.0), 1.0)


def hand_quartile(values: list[float], q: float) -> float:
    """Type 7 (numpy's default, linear): h = (n - 1) q, interpolate between order statistics."""
    x = sorted(values)
    h = (len(x) - 1) * q
    lo = math.floor(h)
    hi = min(lo + 1, len(x) - 1)
    return x[lo] + (h - lo) * (x[hi] - x[lo])


# The resolution c of the number index: min(1, (max - min) / 100) of each question's bounds
# in icp-core.yaml (0-100 %, 0-10,000,000 USD, 0-5,000,000 USD): 1 for all three.
RESOLUTION = 1.0


def hand_qcd_agreement(answers: list[str], c: float = RESOLUTION) -> float:
    """1 - (Q3 - Q1) / (|Q3| + |Q1| + 2c): the quartile coefficient floored at the resolution c."""
    values = [_number(a) for a in answers]
    q1, q3 = hand_quartile(values, 0.25), hand_quartile(values, 0.75)
    return min(max(1 - (q3 - q1) / (abs(q3) + abs(q1) + 2 * c), 0.0), 1.0)


def hand_indices(rows) -> dict[str, float]:
    out = {}
    for qid, k in SINGLE_K.items():
        out[qid] = hand_kappa(_answered(rows, qid), k)
    for qid in MULTI:
        out[qid] = hand_jaccard(_answered(rows, qid))
    for qid, points in SCALE_POINTS.items():
        out[qid] = hand_rwg(_answered(rows, qid), points)
    for qid in NUMBER:
        out[qid] = hand_qcd_agreement(_answered(rows, qid))
    return out


def test_hand_kernels_on_tiny_cases():
    """The hand formulas themselves, on cases small enough to check on paper."""
    # 3 of 4 say a, K = 2: P = (9 + 1 - 4) / 12 = 0.5, kappa = (0.5 - 0.5) / 0.5 = 0
    assert hand_kappa(["a", "a", "a", "b"], 2) == 0.0
    # K = 4: kappa = (0.5 - 0.25) / 0.75 = 1/3
    assert hand_kappa(["a", "a", "a", "b"], 4) == pytest.approx(1 / 3)
    # {a,b} {a} {b}: J = 1/2, 1/2, 0 -> 1/3
    assert hand_jaccard(["a;b", "a", "b"]) == pytest.approx(1 / 3)
    # 1, 3, 5 on 1..5: s^2 = 4, sigma_E^2 = 2 -> truncated to 0; 2, 3, 4: s^2 = 1 -> 0.5
    assert hand_rwg(["1", "3", "5"], 5) == 0.0
    assert hand_rwg(["2", "3", "4"], 5) == 0.5
    # 10, 20, 30, 40: Q1 = 17.5, Q3 = 32.5 (type 7), 1 - 15/50 = 0.7
    assert hand_quartile([10, 20, 30, 40], 0.25) == 17.5
    assert hand_qcd_agreement(["10", "20", "30", "40"], c=0) == pytest.approx(0.7)
    # with c = 1: 1 - 15/52
    assert hand_qcd_agreement(["10", "20", "30", "40"]) == pytest.approx(1 - 15 / 52)
    # zeros: 0,0,0,1 gives Q1 = 0, Q3 = 0.25: 1 - 0.25/2.25; seven answers 0,...,0,1: Q1 = Q3 = 0 -> 1
    assert hand_qcd_agreement(["0", "0", "0", "1"]) == pytest.approx(1 - 0.25 / 2.25)
    assert hand_qcd_agreement(["0"] * 6 + ["1"]) == 1.0


# -- the report -----------------------------------------------------------------------------


def _run(capsys, *args: str) -> tuple[int, str, str]:
    code = main(["report", *args])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture(scope="module")
def sample_json() -> dict:
    import contextlib
    import io

    buf_out, buf_err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(buf_out), contextlib.redirect_stderr(buf_err):
        code = main(["report", "--answers", str(SAMPLE), "--format", "json", "--bootstrap", "300"])
    assert code == 0, buf_err.getvalue()
    return json.loads(buf_out.getvalue())


def test_json_has_the_documented_keys(sample_json):
    report = sample_json
    for key in ("score", "score_interval", "alpha", "respondents", "questions", "splits"):
        assert key in report
    assert report["respondents"] == 30
    assert isinstance(report["splits"], list)
    low, high = report["score_interval"]
    assert 0 <= low <= report["score"] <= high <= 100
    assert -1 <= report["alpha"] <= 1
    ids = [q["id"] for q in report["questions"]]
    assert ids[:3] == ["value_drivers", "top20_revenue_share", "company_size"]
    for q in report["questions"]:
        for key in ("id", "kind", "n", "agreement", "consensus", "consensus_share"):
            assert key in q, (q["id"], key)
    # no respondent label anywhere in the report
    assert "P01" not in json.dumps(report)


def test_json_indices_match_the_hand_calculation(sample_json):
    rows = _rows()
    expected = hand_indices(rows)
    questions = {q["id"]: q for q in sample_json["questions"]}
    scored = {qid for qid, q in questions.items() if q["agreement"] is not None}
    assert scored == set(expected)
    assert UNSCORED.isdisjoint(scored)
    for qid, value in expected.items():
        assert questions[qid]["agreement"] == pytest.approx(value, abs=1e-6), qid
        assert questions[qid]["n"] == len(_answered(rows, qid)), qid


def test_the_four_kinds_by_hand_in_detail(sample_json):
    rows = _rows()
    questions = {q["id"]: q for q in sample_json["questions"]}

    # company_size: single, K = 6
    sizes = [r["company_size"] for r in rows]
    n = len(sizes)
    counts = {s: sizes.count(s) for s in set(sizes)}
    p = (sum(c * c for c in counts.values()) - n) / (n * (n - 1))
    kappa = max(0.0, min(1.0, (p - 1 / 6) / (1 - 1 / 6)))
    q = questions["company_size"]
    assert q["kind"] == "single" and q["n"] == 30
    assert q["agreement"] == pytest.approx(kappa, abs=1e-6)
    modal = max(counts, key=counts.get)
    assert q["consensus"] == modal == "51-200"
    assert q["consensus_share"] == pytest.approx(counts[modal] / n, abs=1e-6)

    # innovation_attitude: scale 1..5
    x = [int(r["innovation_attitude"]) for r in rows]
    mean = sum(x) / len(x)
    s2 = sum((v - mean) ** 2 for v in x) / (len(x) - 1)
    q = questions["innovation_attitude"]
    assert q["kind"] == "scale"
    assert q["agreement"] == pytest.approx(max(0.0, min(1.0, 1 - s2 / ((25 - 1) / 12))), abs=1e-6)
    assert q["consensus"] == statistics.median(x)
    assert q["consensus_label"].startswith(f"{math.floor(statistics.median(x) + 0.5)} of 5 ")

    # value_drivers: multi, mean pairwise Jaccard over the 435 unordered pairs
    sets = [set(r["value_drivers"].split(";")) for r in rows]
    pairs = [(a, b) for i, a in enumerate(sets) for b in sets[i + 1:]]
    assert len(pairs) == 435
    q = questions["value_drivers"]
    assert q["kind"] == "multi"
    assert q["agreement"] == pytest.approx(
        sum(len(a & b) / len(a | b) for a, b in pairs) / len(pairs), abs=1e-6)
    chosen = {o: sum(o in s for s in sets) for o in set().union(*sets)}
    assert q["consensus"] == [o for o, c in chosen.items() if 2 * c > 30] == ["spend"]

    # deal_size: number, 1 - (Q3 - Q1) / (Q3 + Q1), type-7 quartiles
    deals = sorted(float(r["deal_size"].replace(",", "")) for r in rows)
    h1, h3 = 29 * 0.25, 29 * 0.75  # 7.25 and 21.75
    q1 = deals[7] + 0.25 * (deals[8] - deals[7])
    q3 = deals[21] + 0.75 * (deals[22] - deals[21])
    assert (h1, h3) == (7.25, 21.75)
    q = questions["deal_size"]
    assert q["kind"] == "number"
    assert q["agreement"] == pytest.approx(1 - (q3 - q1) / (q3 + q1 + 2 * RESOLUTION), abs=1e-6)
    assert q["details"]["q1"] == pytest.approx(q1) and q["details"]["q3"] == pytest.approx(q3)
    assert q["consensus"] == pytest.approx(statistics.median(deals))


def test_score_is_the_mean_of_the_indices_by_hand(sample_json):
    indices = hand_indices(_rows())
    assert len(indices) == 17
    score = 100 * sum(indices.values()) / len(indices)
    assert sample_json["score"] == pytest.approx(score, abs=1e-6)


def test_text_format_opens_with_the_headline_and_fits_a_screen(capsys):
    code, out, err = _run(capsys, "--answers", str(SAMPLE), "--bootstrap", "200")
    assert code == 0 and err == ""
    indices = hand_indices(_rows())
    score = 100 * sum(indices.values()) / 17
    lines = out.splitlines()
    assert lines[2] == f"{score:.0f}/100: your team partly agrees"
    assert lines[3] == "30 respondents · teams: marketing 8, sales 12, support 10"
    assert lines.index("Details") < 40
    before = lines[: lines.index("Details")]
    # no statistics jargon before the details
    assert not any(word in line for line in before for word in ("alpha", "r_WG", "IQR", "interval", "p ="))
    # the three most agreed traits (index >= 0.70), by their short names, most agreed first
    agreed = sorted((v, k) for k, v in indices.items() if v >= 0.70)[::-1][:3]
    names = {"top20_revenue_share": "Top-20% revenue share", "collaboration": "Collaboration",
             "incumbent_loyalty": "Loyalty to provider"}
    start = lines.index("Agreed on:")
    assert [line.split(":")[0] for line in lines[start + 1: start + 4]] == [f"- {names[k]}" for _, k in agreed]
    split = lines.index("Split on:")
    assert lines[split + 1].startswith("- Decision maker: Marketing: Another C-level executive (88%) · Sales: VP (50%)")
    assert lines[split + 4].startswith("Next: Ratify the 4 agreed ICP traits")
    # the trait table is sorted by agreement
    table = [line for line in before if line[:2] in ("✓ ", "✗ ")]
    values = [float(line[31:35]) for line in table]
    assert len(table) == 17 and values == sorted(values, reverse=True)
    assert "Consensus rule: agreed = agreement index of 0.70 or more" in out


def test_markdown_format_opens_with_the_headline_and_has_a_table(capsys):
    code, out, _ = _run(capsys, "--answers", str(SAMPLE), "--format", "markdown", "--bootstrap", "0")
    assert code == 0
    lines = out.splitlines()
    assert lines[0] == "# ICP alignment report: Ideal Customer Profile (B2B)"
    assert lines[2] == "**51/100: your team partly agrees**"
    header = lines.index("| trait | agreement | agreed | answer |")
    assert lines[header + 1].startswith("| --- |")
    body = []
    for line in lines[header + 2:]:
        if not line.startswith("| "):
            break
        body.append(line)
    assert len(body) == 17
    assert all(line.count("|") == 5 for line in body)
    assert "| Company size | 0.34 | ✗ | 51-200 employees (63%) |" in out
    assert lines.index("## Details") > header


def test_json_carries_the_headline_with_question_ids(sample_json):
    head = sample_json["headline"]
    assert list(sample_json)[0] == "headline"
    ids = {q["id"] for q in sample_json["questions"]}
    assert set(head["agreed"]) <= ids and set(head["split"]) <= ids
    assert head["agreed"] == ["top20_revenue_share", "collaboration", "incumbent_loyalty"]
    assert head["split"][0] == "decision_maker" and len(head["split"]) == 3
    assert head["score_text"].startswith(f"{sample_json['score']:.0f}/100: ")


def test_a_bad_row_reports_nothing(tmp_path, capsys):
    lines = SAMPLE.read_text(encoding="utf-8").splitlines(keepends=True)
    lines[5] = lines[5].replace(",51-200,", ",huge,", 1)  # P05 on line 6
    assert "huge" in lines[5]
    path = tmp_path / "bad.csv"
    path.write_text("".join(lines), encoding="utf-8")

    code, out, err = _run(capsys, "--answers", str(path))
    assert code == 2
    assert out == ""
    assert "line 6 (P05): company_size: 'huge' is not one of the options" in err
    assert "Nothing was reported" in err

    code, out, err = _run(capsys, "--answers", str(path), "--format", "json", "--skip-invalid",
                          "--bootstrap", "0")
    assert code == 0
    assert json.loads(out)["respondents"] == 29
    assert "skipped: line 6 (P05)" in err


def test_skipped_report_matches_the_hand_calculation_without_that_row(tmp_path, capsys):
    rows = _rows()
    lines = SAMPLE.read_text(encoding="utf-8").splitlines(keepends=True)
    lines[5] = lines[5].replace(",51-200,", ",huge,", 1)
    path = tmp_path / "bad.csv"
    path.write_text("".join(lines), encoding="utf-8")
    code, out, _ = _run(capsys, "--answers", str(path), "--format", "json", "--skip-invalid",
                        "--bootstrap", "0")
    assert code == 0
    kept = [r for r in rows if r["respondent"] != "P05"]
    indices = hand_indices(kept)
    assert json.loads(out)["score"] == pytest.approx(100 * sum(indices.values()) / 17, abs=1e-6)


def test_two_respondents_are_not_enough(tmp_path, capsys):
    lines = SAMPLE.read_text(encoding="utf-8").splitlines(keepends=True)
    path = tmp_path / "two.csv"
    path.write_text("".join(lines[:3]), encoding="utf-8")
    code, out, _ = _run(capsys, "--answers", str(path))
    assert code == 0
    assert "Not enough answers to report: 2 respondent(s), at least 3 needed" in out
    assert "Alignment score" not in out
    code, out, _ = _run(capsys, "--answers", str(path), "--format", "json")
    report = json.loads(out)
    assert report["hidden"] is True and report["score"] is None
    assert all(q["agreement"] is None for q in report["questions"])


def test_unknown_template_and_missing_file_exit_2(tmp_path, capsys):
    code, out, err = _run(capsys, "--answers", str(SAMPLE), "--template", str(tmp_path / "t.yaml"))
    assert (code, out) == (2, "")
    assert "cannot read the file" in err
    code, out, err = _run(capsys, "--answers", str(tmp_path / "none.csv"))
    assert (code, out) == (2, "")
    assert "none.csv" in err and "Nothing was reported" not in err


def test_min_group_size_must_be_positive(capsys):
    with pytest.raises(SystemExit) as info:
        main(["report", "--answers", str(SAMPLE), "--min-group-size", "0"])
    assert info.value.code == 2
    assert "--min-group-size must be at least 1" in capsys.readouterr().err


def test_the_report_carries_the_consensus_profile(capsys):
    assert main(["report", "--answers", str(SAMPLE), "--format", "json", "--bootstrap", "0"]) == 0
    data = json.loads(capsys.readouterr().out)
    traits = {t["question_id"]: t["value"] for t in data["profile"]["traits"]}
    questions = {q["id"]: q for q in data["questions"]}
    # every trait is its question's consensus; the team and confidence questions are no traits
    assert traits["company_size"] == questions["company_size"]["consensus"] == "51-200"
    assert traits["industry"] == questions["industry"]["consensus"]
    assert traits["innovation_attitude"] == round(questions["innovation_attitude"]["consensus"])
    assert "team" not in traits and "confidence" not in traits and "ideal_customer" not in traits
    assert data["profile"]["disqualifiers"] == questions["disqualifiers"]["consensus"]

    assert main(["report", "--answers", str(SAMPLE), "--bootstrap", "0"]) == 0
    text = capsys.readouterr().out
    assert "Consensus ICP" in text
    assert "- Company size: 51-200 employees (not agreed yet)" in text
    # the same scale consensus and number spread in the table and the profile
    assert "✓ Attitude to change           0.76  4 of 5 (Early adopter side)" in text
    assert "- Attitude to change: 4 of 5 (Early adopter side)" in text
    assert "Deal size                    0.52  40,500 USD (middle half 28,438-80,000)" in text
    assert "- Deal size: 40,500 USD (middle half 28,438-80,000)" in text


# -- team splits by hand: distances, exact permutation p-values, Benjamini-Hochberg ----------

TEAM_SIZES = {"marketing": 8, "sales": 12, "support": 10}


def hand_jsd(p: list[float], q: list[float]) -> float:
    """Jensen-Shannon distance, base 2: sqrt((KL(P||M) + KL(Q||M)) / 2), M = (P + Q) / 2."""
    p = [x / sum(p) for x in p]
    q = [x / sum(q) for x in q]
    m = [(a + b) / 2 for a, b in zip(p, q, strict=True)]

    def kl(a, b):
        return sum(x * math.log2(x / y) for x, y in zip(a, b, strict=True) if x > 0)

    return math.sqrt(max((kl(p, m) + kl(q, m)) / 2, 0.0))


def hand_emd(a: list[float], b: list[float]) -> float:
    """Earth mover's distance of two samples on a line: the area between their step CDFs."""
    points = sorted(set(a) | set(b))
    area = 0.0
    for left, right in zip(points, points[1:], strict=False):
        fa = sum(x <= left for x in a) / len(a)
        fb = sum(x <= left for x in b) / len(b)
        area += abs(fa - fb) * (right - left)
    return area


def hand_midrank_positions(values: list[float]) -> list[float]:
    """Each value's mid-rank among all values, scaled to [0, 1]: (rank - 1) / (N - 1)."""
    n = len(values)
    return [(sum(y < v for y in values) + (sum(y == v for y in values) + 1) / 2 - 1) / (n - 1) for v in values]


def hand_bh(ps: list[float]) -> list[float]:
    """Benjamini-Hochberg adjusted p-values: q_(i) = min over j >= i of p_(j) m / j, at most 1."""
    m = len(ps)
    order = sorted(range(m), key=lambda i: ps[i])
    out = [0.0] * m
    running = 1.0
    for rank in range(m, 0, -1):
        i = order[rank - 1]
        running = min(running, ps[i] * m / rank)
        out[i] = running
    return out


def hand_exact_p(a: list, b: list, distance) -> float:
    """Exact permutation p-value: the share of all relabellings at least as far apart."""
    pooled = a + b
    observed = distance(a, b)
    hits = total = 0
    for chosen in combinations(range(len(pooled)), len(a)):
        rest = [pooled[i] for i in range(len(pooled)) if i not in chosen]
        hits += distance([pooled[i] for i in chosen], rest) >= observed - 1e-12
        total += 1
    return hits / total


def test_hand_split_formulas_on_tiny_cases():
    from scipy.stats import wasserstein_distance

    # on 1..5 scaled to 0..1: all-4 against all-5 is a quarter of the scale, 1 against 5 all of it
    assert hand_emd([0.75] * 3, [1.0] * 3) == pytest.approx(0.25)
    assert hand_emd([0.0] * 3, [1.0] * 3) == pytest.approx(1.0)
    assert hand_emd([0, 0.25, 1], [0.5, 0.5]) == pytest.approx(wasserstein_distance([0, 0.25, 1], [0.5, 0.5]))
    assert hand_jsd([1, 0], [0, 1]) == pytest.approx(1.0)
    assert hand_jsd([1, 0], [1, 1]) == pytest.approx(0.557923, abs=1e-6)
    # x x | y y: 2 of the C(4, 2) = 6 relabellings are as far apart (both x on one side)
    def jsd_of(a, b):
        return hand_jsd([a.count("x"), a.count("y")], [b.count("x"), b.count("y")])

    assert hand_exact_p(["x", "x"], ["y", "y"], jsd_of) == pytest.approx(2 / 6)
    assert hand_exact_p(["x"] * 3, ["y"] * 3, jsd_of) == pytest.approx(2 / 20)
    # BH: p = .01 .04 .03 .2 -> sorted .01 .03 .04 .2, q = .04 .0533 .0533 .2
    assert hand_bh([0.01, 0.04, 0.03, 0.2]) == pytest.approx([0.04, 0.16 / 3, 0.16 / 3, 0.2])


def test_project_permutation_test_and_bh_match_the_hand_formulas():
    import numpy as np
    from scipy.stats import false_discovery_control

    from survey.agreement import emd_ordered
    from survey.team_splits import permutation_p_value

    rng = np.random.default_rng(0)
    one_hot = np.array([[1, 0], [1, 0], [0, 1], [0, 1]], dtype=float)  # x x | y y
    assert permutation_p_value(one_hot, 2, "jensen-shannon", None, 1.0, rng) == pytest.approx(2 / 6)
    # scale 1..3: team a answers 1, 2, 2 and team b 3, 3, 2; exact over the 20 relabellings
    a, b = [1, 2, 2], [3, 3, 2]
    e = np.zeros((6, 3))
    e[np.arange(6), np.array(a + b) - 1] = 1
    positions = np.array([0, 0.5, 1])
    observed = float(emd_ordered(e[:3].sum(0), e[3:].sum(0), positions))

    def emd_of(x, y):
        return hand_emd([(v - 1) / 2 for v in x], [(v - 1) / 2 for v in y])

    assert observed == pytest.approx(emd_of(a, b))
    assert permutation_p_value(e, 3, "earth mover's", positions, observed, rng) == \
        pytest.approx(hand_exact_p(a, b, emd_of))
    ps = [0.01, 0.04, 0.03, 0.2]
    assert list(false_discovery_control(ps, method="bh")) == pytest.approx(hand_bh(ps))


def test_sample_team_splits_match_the_hand_calculation(sample_json):
    """Every pair's distance by hand; the q-values are BH of the report's p-values over all 51
    pairs; a pair is flagged iff q <= 0.05, its distance reaches 0.30 (JSD) / 0.20 (EMD), and
    the teams' typical answers differ."""
    rows = _rows()
    comparisons = {s["question_id"]: s for s in sample_json["team_comparisons"]}
    assert set(comparisons) == set(hand_indices(rows))  # every team has >= 3 on every question
    all_pairs = []
    for qid, split in comparisons.items():
        answered = [r for r in rows if r[qid].strip()]
        by_team = {t: [r[qid].strip() for r in answered if r["team"] == t] for t in TEAM_SIZES}
        positions = {}
        if qid in NUMBER:
            values = [_number(r[qid]) for r in answered]
            positions = dict(zip(values, hand_midrank_positions(values), strict=True))
        for pair in split["pairs"]:
            a, b = by_team[pair["team_a"]], by_team[pair["team_b"]]
            if qid in SINGLE_K or qid in MULTI:
                options = sorted({o for v in a + b for o in v.split(";")})
                ca = [sum(o in v.split(";") for v in a) for o in options]
                cb = [sum(o in v.split(";") for v in b) for o in options]
                expected, floor = hand_jsd(ca, cb), 0.30
            elif qid in SCALE_POINTS:
                expected, floor = hand_emd([(int(v) - 1) / 4 for v in a], [(int(v) - 1) / 4 for v in b]), 0.20
            else:
                expected = hand_emd([positions[_number(v)] for v in a], [positions[_number(v)] for v in b])
                floor = 0.20
            assert pair["distance"] == pytest.approx(expected, abs=1e-9), (qid, pair)
            all_pairs.append((pair, floor))
    assert len(all_pairs) == sample_json["pairs_tested"] == 17 * 3
    qs = hand_bh([p["p_value"] for p, _ in all_pairs])
    for (pair, floor), q in zip(all_pairs, qs, strict=True):
        assert pair["q_value"] == pytest.approx(q)
        assert pair["flagged"] == (q <= 0.05 and pair["distance"] >= floor and pair["typical_differ"])
    flagged = [s["question_id"] for s in sample_json["splits"]]
    assert flagged == [s["question_id"] for s in sorted(
        (s for s in sample_json["team_comparisons"] if any(p["flagged"] for p in s["pairs"])),
        key=lambda s: -max(p["distance"] for p in s["pairs"] if p["flagged"]))]
    assert sample_json["splits_total"] == len(flagged) == 6
    assert sum(p["flagged"] for p, _ in all_pairs) == 14


def test_the_report_command_imports_neither_the_database_nor_scipy():
    """`icp-bot report` on a spreadsheet loads numpy and pydantic only: sqlalchemy (0.5 s) and
    scipy.special (0.4-0.9 s) were most of its start-up."""
    import json
    import subprocess
    import sys

    code = ("import io, json, sys, contextlib; from bot.cli import main; "
            f"out = io.StringIO(); sys.stdout, real = out, sys.stdout; rc = main(['report', '--answers', {str(SAMPLE)!r}, "
            "'--format', 'json']); sys.stdout = real; "
            "print(json.dumps([rc, len(out.getvalue()), [m for m in ('sqlalchemy', 'scipy', 'slack_bolt', 'slack_sdk') "
            "if m in sys.modules]]))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60)
    rc, length, heavy = json.loads(done.stdout.strip().splitlines()[-1])
    assert rc == 0 and length > 1000
    assert heavy == []
