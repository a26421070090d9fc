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


def hand_qcd_agreement(answers: list[str]) -> float:
    """1 - (Q3 - Q1) / (Q3 + Q1)."""
    values = [_number(a) for a in answers]
    q1, q3 = hand_quartile(values, 0.25), hand_quartile(values, 0.75)
    return 1 - (q3 - q1) / (q3 + q1)


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
    assert hand_qcd_agreement(["10", "20", "30", "40"]) == pytest.approx(0.7)


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
    assert q["agreement"] == pytest.approx(1 - (q3 - q1) / (q3 + q1), abs=1e-6)
    assert q["details"]["q1"] == pytest.approx(q1) and q["details"]["q3"] == pytest.approx(q3)
    assert q["consensus"] == pytest.approx(statistics.median(deals))


def test_score_is_the_mean_of_the_indices_by_hand(sample_json):
    indices = hand_indices(_rows())
    assert len(indices) == 17
    score = 100 * sum(indices.values()) / len(indices)
    assert sample_json["score"] == pytest.approx(score, abs=1e-6)


def test_text_format_has_the_score_line(capsys):
    code, out, err = _run(capsys, "--answers", str(SAMPLE), "--bootstrap", "200")
    assert code == 0 and err == ""
    score = 100 * sum(hand_indices(_rows()).values()) / 17
    assert f"Alignment score: {score:.0f}/100 (95% interval " in out
    assert "Respondents: 30" in out
    assert "Teams: marketing 8, sales 12, support 10" in out
    assert "0.70 or more is conventionally read as agreement" in out


def test_markdown_format_has_a_table(capsys):
    code, out, _ = _run(capsys, "--answers", str(SAMPLE), "--format", "markdown", "--bootstrap", "0")
    assert code == 0
    lines = out.splitlines()
    assert lines[0] == "# ICP alignment report: Ideal Customer Profile (B2B)"
    header = lines.index("| question | n | agreement | consensus | share |")
    assert lines[header + 1].startswith("| --- |")
    body = [line for line in lines[header + 2:] if line.startswith("| ")]
    assert len(body) == 17 + 1  # the 17 scored questions and the (unscored) confidence row
    assert all(line.count("|") == 6 for line in body)
    assert "| How many employees does an ideal customer have? | 30 |" in out


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
    assert "How many employees does an ideal customer have?: 51-200 employees (not agreed yet: index 0.34)" in text
