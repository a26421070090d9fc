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


def test_jensen_shannon_is_scipys_to_the_last_bit():
    import numpy as np
    from scipy.spatial.distance import jensenshannon as scipy_js

    from survey.agreement import jensenshannon

    rng = np.random.default_rng(5)
    for _ in range(100):
        k = int(rng.integers(2, 12))
        a = rng.integers(0, 50, (int(rng.integers(1, 40)), k)).astype(float)
        b = rng.integers(0, 50, a.shape).astype(float)
        with np.errstate(invalid="ignore", divide="ignore"):
            assert np.array_equal(jensenshannon(a, b, base=2, axis=-1), scipy_js(a, b, base=2, axis=-1),
                                  equal_nan=True)
            assert np.array_equal(jensenshannon(a[0], b[0], base=2), scipy_js(a[0], b[0], base=2),
                                  equal_nan=True)


def test_rel_entr_is_scipys_to_the_last_bit():
    import numpy as np
    from scipy.special import rel_entr as scipy_rel_entr

    from survey.agreement import rel_entr

    rng = np.random.default_rng(8)
    x = np.concatenate([rng.random(5000) * rng.choice([1e-300, 1e-3, 1.0, 1e6], 5000), [0, 0, 0, 1, -1, np.nan]])
    y = np.concatenate([rng.random(5000) * rng.choice([1e-300, 1e-3, 1.0, 1e6], 5000), [0, 1, -1, 0, 1, 1]])
    assert np.array_equal(rel_entr(x, y), scipy_rel_entr(x, y), equal_nan=True)
