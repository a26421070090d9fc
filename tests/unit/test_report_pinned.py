"""The shipped sample's JSON report, pinned byte for byte.

``data/report_icp_sample_30.json`` is ``icp-bot report --answers icp-sample-30.csv --format
json`` as written before the report was made fast (issue 15). Any change to a figure, its
rounding or its order shows here, so that a speed-up cannot move a number unnoticed; a
deliberate change of a statistic regenerates the file and says so in its commit.
"""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path

from bot.cli import main

SAMPLE = Path(str(resources.files("survey.samples").joinpath("icp-sample-30.csv")))
PINNED = Path(__file__).parent / "data" / "report_icp_sample_30.json"


def test_the_sample_report_json_is_unchanged(capsys):
    assert main(["report", "--answers", str(SAMPLE), "--format", "json"]) == 0
    out = capsys.readouterr().out
    expected = PINNED.read_text(encoding="utf-8")
    if out != expected:  # name the first figure that moved, then fail on the bytes
        got, want = json.loads(out), json.loads(expected)
        assert got == want
    assert out == expected


def test_mid_ranks_and_bh_are_scipys_to_the_last_bit():
    """The report ranks numbers and adjusts p-values without importing scipy.stats: the
    results must be scipy's exactly (ties, scales, repeated p-values included)."""
    import numpy as np
    from scipy.stats import false_discovery_control, rankdata

    from survey.team_splits import _mid_ranks, benjamini_hochberg

    rng = np.random.default_rng(3)
    for _ in range(200):
        n = int(rng.integers(1, 300))
        x = rng.integers(0, int(rng.integers(1, 40)), n) * float(rng.choice([1.0, 0.1, 1e6]))
        assert np.array_equal(_mid_ranks(x), rankdata(x))
        ps = np.round(rng.random(n), int(rng.integers(1, 4)))
        assert np.array_equal(benjamini_hochberg(ps), false_discovery_control(ps, method="bh"))
