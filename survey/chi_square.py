"""Pearson's chi-square test of homogeneity of two teams' answers, for the large pairs of
``survey.team_splits``.

The 2 x C table is each team's count of every answer pattern. Cells (columns) whose smaller
expected count is below ``MIN_EXPECTED`` are pooled into one "other" cell first (and while
that cell is still below, the smallest remaining column joins it): the pooling reads the
pooled column totals only, which relabelling the respondents does not change, so it does not
bend the test's level. The test applies when at least two cells remain and every expected
count is at least ``MIN_EXPECTED`` (Cochran 1954); else ``chi_square_homogeneity`` gives None
and the caller keeps its permutation test.

The survival function is the closed form for whole degrees of freedom (Abramowitz & Stegun
1964, 26.4.4 and 26.4.5: a finite sum of Poisson terms, plus ``erfc`` for odd df), in the
standard library's ``math``: ``scipy.special`` would cost 0.4-0.9 s to import in the CLI for
one function; the tests check it against ``scipy.stats.chi2.sf``.
"""

from __future__ import annotations

import math

import numpy as np

MIN_EXPECTED = 5.0
"""Cochran's rule: every expected count at least 5 for the chi-square approximation."""


def chi_square_homogeneity(a: np.ndarray, b: np.ndarray) -> tuple[float, int] | None:
    """(statistic, df) of Pearson's chi-square test (no continuity correction) that the counts
    ``a`` and ``b`` (team a's and team b's, per category) come from one distribution, after
    pooling the rare cells; None when fewer than 2 cells remain or an expected count is below
    ``MIN_EXPECTED``."""
    a = np.asarray(a, dtype=float)
    b = np.asarray(b, dtype=float)
    n_a, n_b = float(a.sum()), float(b.sum())
    n = n_a + n_b
    if n_a <= 0 or n_b <= 0:
        return None
    pooled = a + b
    used = pooled > 0
    a, b, pooled = a[used], b[used], pooled[used]
    least = min(n_a, n_b) / n  # a column's smaller expected count is pooled * least
    rare = pooled * least < MIN_EXPECTED
    if rare.any():
        keep = np.flatnonzero(~rare)
        other = np.array([a[rare].sum(), b[rare].sum()])
        order = keep[np.argsort(pooled[keep], kind="stable")]  # smallest first
        taken = 0
        while other.sum() * least < MIN_EXPECTED and taken < order.size:
            other += (a[order[taken]], b[order[taken]])
            taken += 1
        keep = np.sort(order[taken:])
        a = np.append(a[keep], other[0])
        b = np.append(b[keep], other[1])
        pooled = a + b
    if pooled.size < 2:
        return None
    ea, eb = pooled * (n_a / n), pooled * (n_b / n)
    if min(ea.min(), eb.min()) < MIN_EXPECTED:
        return None
    stat = float(((a - ea) ** 2 / ea).sum() + ((b - eb) ** 2 / eb).sum())
    return stat, int(pooled.size - 1)


def chi2_sf(x: float, df: int) -> float:
    """P(X >= x) for X chi-square with ``df`` (a positive whole number) degrees of freedom."""
    if df < 1:
        raise ValueError("df must be a positive whole number")
    if not x > 0:
        return 1.0
    h = 0.5 * x
    log_h = math.log(h)
    if df % 2 == 0:  # A&S 26.4.4: Q = exp(-h) sum_{k<df/2} h^k / k!
        terms = (math.exp(-h + k * log_h - math.lgamma(k + 1)) for k in range(df // 2))
        return min(1.0, math.fsum(terms))
    # A&S 26.4.5: Q = erfc(sqrt(h)) + exp(-h) sum_{k=1}^{(df-1)/2} h^(k-1/2) / Gamma(k+1/2)
    terms = (math.exp(-h + (k - 0.5) * log_h - math.lgamma(k + 0.5)) for k in range(1, (df + 1) // 2))
    return min(1.0, math.fsum([math.erfc(math.sqrt(h)), *terms]))
