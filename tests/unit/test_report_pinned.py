"""The shipped sample's JSON report, pinned byte for byte.

``data/report_icp_sample_30.json`` is ``icp-bot report --answers icp-sample-30.csv --format
json`` as written before the report was made fast (issue 15). Any change to a figure, its
rounding or its order shows here (floats to 1e-12: numpy releases differ in the last bit of a sum),
so that a speed-up cannot move a number unnoticed; a
deliberate change of a statistic regenerates the file and says so in its commit.
"""

from __future__ import annotations

import json
import math
from importlib import resources
from pathlib import Path

import pytest

from bot.cli import main

SAMPLE = Path(str(resources.files("survey.samples").joinpath("icp-sample-30.csv")))
PINNED = Path(__file__).parent / "data" / "report_icp_sample_30.json"


def _same(got, want, where: str = "$") -> None:
    """``got == want`` with keys in the same order, floats to 1e-12 relative: the last bit of a
    sum depends on numpy's summation order, which moves between numpy releases."""
    assert type(got) is type(want), f"{where}: {got!r} != {want!r}"
    if isinstance(want, dict):
        assert list(got) == list(want), f"{where}: keys {list(got)} != {list(want)}"
        for key in want:
            _same(got[key], want[key], f"{where}.{key}")
    elif isinstance(want, list):
        assert len(got) == len(want), f"{where}: {len(got)} items != {len(want)}"
        for index, (g, w) in enumerate(zip(got, want, strict=True)):
            _same(g, w, f"{where}[{index}]")
    elif isinstance(want, float):
        assert math.isclose(got, want, rel_tol=1e-12, abs_tol=1e-15), f"{where}: {got!r} != {want!r}"
    else:
        assert got == want, f"{where}: {got!r} != {want!r}"


def test_the_sample_report_json_is_unchanged(capsys):
    assert main(["report", "--answers", str(SAMPLE), "--format", "json"]) == 0
    _same(json.loads(capsys.readouterr().out), json.loads(PINNED.read_text(encoding="utf-8")))


def test_the_pinned_comparison_catches_a_moved_figure():
    pinned = json.loads(PINNED.read_text(encoding="utf-8"))
    moved = json.loads(PINNED.read_text(encoding="utf-8"))
    moved["score"] = moved["score"] * (1 + 1e-9)
    with pytest.raises(AssertionError, match=r"\$\.score"):
        _same(moved, pinned)


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


def _within_ulps(ours, scipys, ulps: int = 4) -> None:
    """The same NaNs and infinities, finite values within ``ulps`` units in the last place:
    scipy's own kernels move by an ulp between releases (rel_entr did in 1.17)."""
    import numpy as np

    ours, scipys = np.asarray(ours, dtype=float), np.asarray(scipys, dtype=float)
    assert np.array_equal(np.isnan(ours), np.isnan(scipys))
    finite = np.isfinite(scipys)
    assert np.array_equal(ours[~finite & ~np.isnan(scipys)], scipys[~finite & ~np.isnan(scipys)])
    np.testing.assert_array_max_ulp(ours[finite], scipys[finite], maxulp=ulps)


def test_jensen_shannon_is_scipys_to_1e_12():
    import numpy as np
    from scipy.spatial.distance import jensenshannon as scipy_js

    from survey.agreement import jensenshannon

    rng = np.random.default_rng(5)
    for _ in range(100):
        k = int(rng.integers(2, 12))
        a = rng.integers(0, 50, (int(rng.integers(1, 40)), k)).astype(float)
        b = rng.integers(0, 50, a.shape).astype(float)
        with np.errstate(invalid="ignore", divide="ignore"):
            # a distance is the root of a sum of terms: its last bits follow their summation order
            np.testing.assert_allclose(jensenshannon(a, b, base=2, axis=-1), scipy_js(a, b, base=2, axis=-1),
                                       rtol=1e-12, atol=1e-15, equal_nan=True)
            np.testing.assert_allclose(jensenshannon(a[0], b[0], base=2), scipy_js(a[0], b[0], base=2),
                                       rtol=1e-12, atol=1e-15, equal_nan=True)


def test_rel_entr_is_scipys_to_a_few_ulps():
    import numpy as np
    from scipy.special import rel_entr as scipy_rel_entr

    from survey.agreement import rel_entr

    rng = np.random.default_rng(8)
    x = np.concatenate([rng.random(5000) * rng.choice([1e-300, 1e-3, 1.0, 1e6], 5000), [0, 0, 0, 1, -1, np.nan]])
    y = np.concatenate([rng.random(5000) * rng.choice([1e-300, 1e-3, 1.0, 1e6], 5000), [0, 1, -1, 0, 1, 1]])
    _within_ulps(rel_entr(x, y), scipy_rel_entr(x, y))
