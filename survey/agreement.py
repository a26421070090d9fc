"""Agreement statistics: how far respondents gave the same answer to a question.

Pure numpy/scipy, no Slack, no SQL. Each closed question kind has an index in [0, 1]
(1 = everyone gave the same answer) and a consensus answer:

=========  ===========================================  ===================================
kind       index                                        consensus (share)
=========  ===========================================  ===================================
single     free-marginal kappa (Brennan-Prediger,       modal option (modal share)
           Randolph), chance 1/K over offered options
multi      mean pairwise Jaccard similarity             options chosen by > 50% (the
                                                        smallest of their shares)
scale      r_WG (James, Demaree & Wolf 1984), AD_M      median (share within 0.5 of it)
           beside it (Burke et al. 1999)
number     1 - quartile coefficient of dispersion,      median (share within +-25% of it)
           floored at the question's resolution
=========  ===========================================  ===================================

The kernels (``free_marginal_kappa``, ``mean_pairwise_jaccard``, ``rwg``, ``qcd_agreement``)
work on *count tables*: ``counts[..., d]`` is how many answers fall in category ``d``
(an option, a distinct set, a scale point, a distinct number). Leading axes are batches,
which is how the report bootstraps thousands of resamples at once. Undefined values are NaN
in kernels and None in the item summaries (``single_agreement`` ...).

Pairwise kernels take ``sum_w2``: the sum of squared respondent weights (default: ``n``,
every respondent counted once). A bootstrap resample that draws one respondent ``w`` times
passes ``sum w^2`` so that pairs of copies of the same person are left out: each resample
is then a weighted mean of the original pairwise agreements and resampling does not inflate
agreement. With unit weights every formula reduces to its textbook form.

Chance-corrected coefficients that estimate chance from the data (Krippendorff's alpha,
Fleiss' kappa) are only used across many questions (``krippendorff_ordinal``), never per
question: on one item they are 0 or -1/(n-1) whatever people answered.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Hashable, Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np

AGREEMENT_THRESHOLD = 0.70
"""Conventional reading: an index of 0.70 or more is agreement (LeBreton & Senter 2008)."""

NUMBER_TOLERANCE = 0.25
"""A number answer is "near" the median when within +-25% of it."""

Kernel = Callable[[np.ndarray, np.ndarray | None], np.ndarray]

__all__ = [
    "AGREEMENT_THRESHOLD",
    "MAX_EXACT_SETS",
    "NUMBER_TOLERANCE",
    "PAIR_SAMPLES",
    "ItemAgreement",
    "average_deviation",
    "free_marginal_kappa",
    "jaccard_matrix",
    "js_distance",
    "emd_ordered",
    "js_distances",
    "krippendorff_ordinal",
    "mean_pairwise_jaccard",
    "multi_agreement",
    "number_agreement",
    "qcd_agreement",
    "quantile_from_counts",
    "rwg",
    "rwg_j",
    "sampled_pairwise_jaccard",
    "scale_agreement",
    "single_agreement",
]


# -- kernels on count tables -------------------------------------------------------------


def _pair_denominator(n: np.ndarray, sum_w2: np.ndarray | None) -> np.ndarray:
    """Number of ordered pairs of distinct respondents: n^2 - sum w^2 (= n(n-1) unweighted)."""
    s2 = n if sum_w2 is None else np.asarray(sum_w2, dtype=float)
    return n * n - s2


def free_marginal_kappa(counts, n_options: int, sum_w2=None) -> np.ndarray:
    """Free-marginal multirater kappa of one nominal item.

    P_i = (sum_j n_j^2 - n) / (n (n - 1)), P_e = 1/K, kappa = (P_i - 1/K) / (1 - 1/K),
    clamped to [0, 1]; K is the number of options *offered*, n_j the answers per option.
    Brennan & Prediger (1981), Randolph (2005); statsmodels' ``fleiss_kappa(table,
    method="randolph")`` on one row. NaN when n < 2.
    """
    if n_options < 2:
        raise ValueError("a nominal item needs at least 2 options")
    c = np.asarray(counts, dtype=float)
    n = c.sum(axis=-1)
    s2 = n if sum_w2 is None else np.asarray(sum_w2, dtype=float)
    denom = _pair_denominator(n, sum_w2)
    with np.errstate(invalid="ignore", divide="ignore"):
        p_i = ((c * c).sum(axis=-1) - s2) / denom
    p_e = 1.0 / n_options
    kappa = np.clip((p_i - p_e) / (1.0 - p_e), 0.0, 1.0)
    return np.where(denom > 0, kappa, np.nan)


def jaccard_matrix(sets: Sequence[Iterable[Hashable]]) -> np.ndarray:
    """J[s, t] = |s & t| / |s | t| for every pair of sets, with J(empty, empty) = 1."""
    frozen = [frozenset(s) for s in sets]
    universe = sorted({x for s in frozen for x in s}, key=repr)
    col = {x: i for i, x in enumerate(universe)}
    member = np.zeros((len(frozen), max(len(universe), 1)), dtype=np.float64)
    for row, s in enumerate(frozen):
        member[row, [col[x] for x in s]] = 1.0
    inter = member @ member.T
    size = member.sum(axis=1)
    union = size[:, None] + size[None, :] - inter
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(union > 0, inter / union, 1.0)


def mean_pairwise_jaccard(set_counts, similarity, sum_w2=None) -> np.ndarray:
    """Mean Jaccard similarity over all unordered pairs of respondents.

    With identical sets grouped (c_s respondents chose set s, J the Jaccard matrix of the
    distinct sets): mean = (sum_{s,t} c_s c_t J(s,t) - sum_s c_s) / (n (n - 1)), which is
    O(S^2) in the number S of distinct sets instead of O(n^2). Jaccard (1912); the
    set-valued agreement of Passonneau (2006) without MASI's monotonicity weight.
    NaN when n < 2.
    """
    c = np.asarray(set_counts, dtype=float)
    n = c.sum(axis=-1)
    s2 = n if sum_w2 is None else np.asarray(sum_w2, dtype=float)
    denom = _pair_denominator(n, sum_w2)
    j = np.asarray(similarity, dtype=float)
    # a few hundred distinct sets: numpy's own loop, not a BLAS call whose threads wait for a core
    # on a loaded machine (15 ms a call instead of 0.3 ms); its sums in a fixed order
    # (a single table, the point estimate, keeps its matrix-vector product)
    cj = np.einsum("bs,st->bt", c, j, optimize=False) if c.ndim == 2 and j.shape[0] <= 256 else c @ j
    total = (cj * c).sum(axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = (total - s2) / denom
    return np.where(denom > 0, np.clip(mean, 0.0, 1.0), np.nan)


def _scale_moments(point_counts) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    c = np.asarray(point_counts, dtype=float)
    x = np.arange(1, c.shape[-1] + 1, dtype=float)
    return c.sum(axis=-1), c @ x, c @ (x * x)


def rwg(point_counts, sum_w2=None) -> np.ndarray:
    """Within-group agreement r_WG of one item on a 1..A scale.

    r_WG = 1 - s^2 / sigma_E^2 with s^2 the sample variance (ddof = 1) and
    sigma_E^2 = (A^2 - 1) / 12 the variance of the uniform "no agreement" null,
    truncated to [0, 1]. James, Demaree & Wolf (1984). ``point_counts[..., a-1]`` is the
    number of answers a, so A = ``point_counts.shape[-1]``. NaN when n < 2.

    Weighted: s^2 = (n sum w x^2 - (sum w x)^2) / (n^2 - sum w^2), the pairwise form
    sum_{i != j} w_i w_j (x_i - x_j)^2 / (2 sum_{i != j} w_i w_j).
    """
    n, s1, s2x = _scale_moments(point_counts)
    points = np.asarray(point_counts).shape[-1]
    denom = _pair_denominator(n, sum_w2)
    with np.errstate(invalid="ignore", divide="ignore"):
        var = np.maximum(n * s2x - s1 * s1, 0.0) / denom
    sigma_e2 = (points * points - 1) / 12.0
    return np.where(denom > 0, np.clip(1.0 - var / sigma_e2, 0.0, 1.0), np.nan)


def average_deviation(values) -> float | None:
    """AD_M = mean_i |x_i - mean(x)|: average deviation from the mean.

    Burke, Finkelstein & Dusig (1999). Acceptable agreement when AD_M <= A/6 on a 1..A
    scale (Burke & Dunlap 2002). None when there is no value.
    """
    x = np.asarray(values, dtype=float)
    if x.size == 0:
        return None
    return float(np.abs(x - x.mean()).mean())


SEARCH_ROWS = 64
"""Up to this many rows of counts (a bootstrap chunk's resamples), ``quantile_from_counts``
searches each row alone; more rows are searched at once in one shifted copy."""


def quantile_from_counts(value_counts, values, q) -> np.ndarray:
    """Quantile(s) q of the data given as counts of sorted distinct ``values``.

    Hyndman & Fan (1996) type 7, numpy's default (linear): h = (n - 1) q,
    Q = x_(floor h) + (h - floor h) (x_(floor h + 1) - x_(floor h)), 0-based order
    statistics. ``q`` a scalar or a sequence (a trailing axis is added). NaN when n = 0.
    """
    c = np.asarray(value_counts)
    whole = c.dtype.kind in "iu"  # the bootstrap's integer counts: summed as they are, exactly
    if not whole:
        c = np.asarray(c, dtype=float)
    v = np.asarray(values, dtype=float)
    qs = np.atleast_1d(np.asarray(q, dtype=float))
    n = c.sum(axis=-1)[..., None]
    cum = np.cumsum(c, axis=-1, dtype=np.int32 if c.dtype == np.int32 else None)
    h = np.maximum(n - 1, 0) * qs
    lo = np.floor(h)
    hi = np.minimum(lo + 1, np.maximum(n - 1, 0))
    # the value at 0-based position j is values[#{d: cum_d <= j}]
    last = len(v) - 1
    pos = np.concatenate([lo, hi], axis=-1)
    # cum is non-decreasing along the last axis: #{d: cum_d <= j} is a binary search per row
    flat_cum = cum.reshape(-1, cum.shape[-1])
    flat_pos = pos.reshape(flat_cum.shape[0], -1)  # pos has cum's batch shape (n comes from c)
    rows, width = flat_cum.shape
    if rows <= SEARCH_ROWS:  # a search per row: no shifted copy of the counts
        if whole:
            flat_pos = flat_pos.astype(cum.dtype)  # positions are whole too: no float copy of a row
        found = np.empty(flat_pos.shape, dtype=np.int64)
        for r in range(rows):
            found[r] = np.searchsorted(flat_cum[r], flat_pos[r], side="right")
    else:  # all rows in one search: row r shifted by r * (max n + 1) keeps the concatenation
        # sorted (counts are whole numbers, so the shifted values stay exact)
        shift = (float(flat_cum[:, -1].max()) + 1.0 if width and rows else 1.0) * np.arange(rows)[:, None]
        found = np.searchsorted((flat_cum + shift).ravel(), (flat_pos + shift).ravel(), side="right")
        found = found.reshape(flat_pos.shape) - np.arange(rows)[:, None] * width
    at = np.minimum(found.reshape(pos.shape), last)
    v_lo, v_hi = v[at[..., : qs.size]], v[at[..., qs.size :]]
    out = np.where(n > 0, v_lo + (h - lo) * (v_hi - v_lo), np.nan)
    return out if np.ndim(q) else out[..., 0]


def qcd_agreement(value_counts, values, sum_w2=None, resolution: float = 0.0) -> np.ndarray:
    """1 - QCD_c, a quartile coefficient of dispersion with a resolution floor, for a number item.

    QCD_c = (Q3 - Q1) / (|Q3| + |Q1| + 2c), quartiles of type 7, c = ``resolution`` (the
    smallest difference that matters, one unit by default: ``Question.number_resolution``).
    With c = 0 it is Bonett's (2006) QCD, scale-free: 10/20 and 10k/20k agree equally. The
    plain QCD jumps at zero (answers 0,0,0,1 give 0.0 but 0,0,0,0,0,0,1 give 1.0, and 0.001
    vs 0.002 reads as total disagreement); with c > 0 the index is continuous in the
    answers, equals 1 when Q1 = Q3, and values far below c count as near zero (0,0,0,1 with
    c = 1: 1 - 0.25/2.25 = 0.89). For answers much larger than c (deal sizes in USD) it is
    the QCD to within c/Q. In [0, 1] always; NaN when n < 2 (``sum_w2`` is unused).
    """
    del sum_w2
    c = np.asarray(value_counts)
    n = c.sum(axis=-1)
    quartiles = quantile_from_counts(c, values, [0.25, 0.75])
    q1, q3 = quartiles[..., 0], quartiles[..., 1]
    denom = np.abs(q3) + np.abs(q1) + 2.0 * max(float(resolution), 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        qcd = np.where(denom > 0, (q3 - q1) / np.where(denom > 0, denom, 1.0), 0.0)
    return np.where(n >= 2, np.clip(1.0 - qcd, 0.0, 1.0), np.nan)


def emd_ordered(counts_a, counts_b, positions) -> np.ndarray:
    """Earth mover's (Wasserstein-1) distance between two distributions over ordered categories.

    W1 = sum_k |F_a(k) - F_b(k)| (x_{k+1} - x_k), F the cumulative shares over the sorted
    category positions x (Vallender 1974: in one dimension W1 is the area between the two
    CDFs); ``scipy.stats.wasserstein_distance(x, x, counts_a, counts_b)`` gives the same on
    one pair. With positions in [0, 1] the distance is in [0, 1]: on a 1..A scale the
    positions are (a - 1)/(A - 1), so all-4 against all-5 on 1-5 is 0.25 and 1 against 5 is 1.
    Leading axes are batches (permutations). NaN where a side is empty.
    """
    a = np.asarray(counts_a, dtype=float)
    b = np.asarray(counts_b, dtype=float)
    x = np.asarray(positions, dtype=float)
    na, nb = a.sum(axis=-1, keepdims=True), b.sum(axis=-1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        fa, fb = np.cumsum(a, axis=-1) / na, np.cumsum(b, axis=-1) / nb
    out = (np.abs(fa - fb)[..., :-1] * np.diff(x)).sum(axis=-1)
    return np.where((na[..., 0] > 0) & (nb[..., 0] > 0), out, np.nan)


def rel_entr(x, y) -> np.ndarray:
    """``scipy.special.rel_entr`` in numpy, its branches in the same order (x log1p((x - y) / y)
    when x / y is within (0.5, 2), x log(x / y) when that ratio is a normal float, else
    x (log x - log y); 0 where x = 0 <= y; inf where a side is negative or 0 < x, y = 0; NaN
    propagates), so that a report does not import scipy.special (0.4-0.9 s, 30 MB)."""
    x, y = np.broadcast_arrays(np.asarray(x, dtype=float), np.asarray(y, dtype=float))
    out = np.full(x.shape, np.inf)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore", under="ignore"):
        both = (x > 0) & (y > 0)
        ratio = np.where(both, x / np.where(both, y, 1.0), 1.0)
        near = both & (ratio > 0.5) & (ratio < 2)
        normal = both & ~near & (ratio > np.finfo(float).tiny) & (ratio < np.inf)
        far = both & ~near & ~normal
        out[near] = x[near] * np.log1p((x[near] - y[near]) / y[near])
        out[normal] = x[normal] * np.log(ratio[normal])
        out[far] = x[far] * (np.log(x[far]) - np.log(y[far]))
    out[(x == 0) & (y >= 0)] = 0.0
    out[np.isnan(x) | np.isnan(y)] = np.nan
    return out


def jensenshannon(p, q, base: float = 2, axis: int = 0) -> np.ndarray:
    """``scipy.spatial.distance.jensenshannon(p, q, base, axis)``, the same operations in the
    same order (so the same floats), without importing scipy.spatial (12 MB, 0.1-0.3 s)."""
    p = np.asarray(p)
    q = np.asarray(q)
    p = p / np.sum(p, axis=axis, keepdims=True)
    q = q / np.sum(q, axis=axis, keepdims=True)
    m = (p + q) / 2.0
    js = np.sum(rel_entr(p, m), axis=axis) + np.sum(rel_entr(q, m), axis=axis)
    js /= np.log(base)
    return np.sqrt(js / 2.0)


def js_distances(counts_a, counts_b) -> np.ndarray:
    """Jensen-Shannon distance (base 2) of each row pair, as ``js_distance`` (batched)."""
    a = np.asarray(counts_a, dtype=float)
    b = np.asarray(counts_b, dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        d = jensenshannon(a, b, base=2, axis=-1)
    return np.clip(np.nan_to_num(np.asarray(d, dtype=float), nan=0.0), 0.0, 1.0)


# -- across questions --------------------------------------------------------------------


def rwg_j(variances: Sequence[float], points: Sequence[int]) -> float | None:
    """r_WG(J) of a block of J scale items.

    v = mean_j (s_j^2 / sigma_E_j^2) with sigma_E_j^2 = (A_j^2 - 1) / 12;
    r_WG(J) = J (1 - v) / (J (1 - v) + v), and 0 when v >= 1.
    James, Demaree & Wolf (1984). None when there is no item.
    """
    s2 = np.asarray(variances, dtype=float)
    a = np.asarray(points, dtype=float)
    if s2.size == 0 or s2.shape != a.shape:
        return None
    v = float(np.mean(s2 / ((a * a - 1) / 12.0)))
    if v >= 1:
        return 0.0
    j = s2.size
    return j * (1 - v) / (j * (1 - v) + v)


def krippendorff_ordinal(ratings) -> float | None:
    """Krippendorff's alpha, ordinal, with questions as units and respondents as coders.

    ``ratings[respondent, question]`` holds scale points (1..A), NaN when missing.
    alpha = 1 - D_o / D_e with ordinal distances (Krippendorff 2004), computed by the
    ``krippendorff`` package. None when undefined: fewer than 2 units, fewer than 2
    distinct values, no unit with 2 ratings, or the package raises / returns NaN.
    """
    import krippendorff

    data = np.asarray(ratings, dtype=float)
    if data.ndim != 2 or data.shape[1] < 2:
        return None
    present = ~np.isnan(data)
    if np.unique(data[present]).size < 2 or (present.sum(axis=0) >= 2).sum() < 1:
        return None
    domain = np.arange(1, int(np.nanmax(data)) + 1, dtype=float)
    # units x values counts, cheaper than letting the package expand coders x units x values
    value_counts = np.stack([(data == v).sum(axis=0) for v in domain], axis=1)
    try:
        with np.errstate(invalid="ignore", divide="ignore"):
            value = krippendorff.alpha(
                value_counts=value_counts, value_domain=domain, level_of_measurement="ordinal"
            )
    except (ValueError, ZeroDivisionError, FloatingPointError):
        return None
    value = float(value)
    return value if math.isfinite(value) else None


def js_distance(p, q) -> float:
    """Jensen-Shannon distance between two distributions, base 2, in [0, 1].

    JSD(P, Q) = sqrt((KL(P || M) + KL(Q || M)) / 2), M = (P + Q) / 2 (Lin 1991;
    Endres & Schindelin 2003); ``scipy.spatial.distance.jensenshannon``. Inputs are
    normalised to sum 1; identical distributions give 0, disjoint ones 1.
    """
    a = np.asarray(p, dtype=float)
    b = np.asarray(q, dtype=float)
    if a.shape != b.shape or a.sum() <= 0 or b.sum() <= 0:
        raise ValueError("two non-empty distributions over the same categories are needed")
    d = float(jensenshannon(a, b, base=2))
    return 0.0 if not math.isfinite(d) else min(max(d, 0.0), 1.0)


# -- item summaries: answers in, index + consensus out -----------------------------------


@dataclass(frozen=True, eq=False)
class ItemAgreement:
    """Agreement on one question, computed on the respondents who answered it.

    ``counts`` maps each option id / scale point to its number of answers (for multi, the
    number of respondents who chose it); empty for number questions. ``codes[i]`` is the
    category of the i-th answer given and ``kernel(category_counts, sum_w2)`` recomputes the
    index from a batch of category counts: together they let the report resample.
    """

    n: int
    index: float | None
    consensus: str | list[str] | float | None
    consensus_share: float | None
    counts: dict[str, int] = field(default_factory=dict)
    details: dict[str, float | bool | None] = field(default_factory=dict)
    codes: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64), repr=False)
    n_categories: int = 0
    kernel: Kernel | None = field(default=None, repr=False)

    def resample(self, category_counts: np.ndarray, sum_w2: np.ndarray | None = None) -> np.ndarray:
        """The index for each row of ``category_counts`` (NaN where undefined)."""
        if self.kernel is None:
            raise ValueError("this item has no index")
        return self.kernel(category_counts, sum_w2)


def _scalar(x: np.ndarray) -> float | None:
    value = float(np.asarray(x).reshape(()))
    return value if math.isfinite(value) else None


def _encode(keys: Sequence[Hashable], categories: Sequence[Hashable]) -> np.ndarray:
    index = {c: i for i, c in enumerate(categories)}
    try:
        return np.fromiter(map(index.__getitem__, keys), dtype=np.int64, count=len(keys))
    except KeyError as exc:
        raise ValueError(f"answer {exc.args[0]!r} is not one of the options") from None


def single_agreement(answers: Sequence[str], options: Sequence[str]) -> ItemAgreement:
    """Free-marginal kappa over the K offered ``options``; consensus = modal option.

    Ties for the mode go to the option listed first (``details["modal_tie"]`` is True).
    """
    opts = list(options)
    codes = _encode(list(answers), opts)
    counts = np.bincount(codes, minlength=len(opts))
    n = int(codes.size)
    k = len(opts)

    def kernel(c, s2=None):
        return free_marginal_kappa(c, k, s2)

    if n == 0:
        return ItemAgreement(0, None, None, None, dict.fromkeys(opts, 0), {}, codes, k, kernel)
    mode = int(np.argmax(counts))
    share = counts[mode] / n
    details = {"modal_share": float(share), "modal_tie": bool((counts == counts[mode]).sum() > 1)}
    return ItemAgreement(
        n=n,
        index=_scalar(kernel(counts)),
        consensus=opts[mode],
        consensus_share=float(share),
        counts={o: int(c) for o, c in zip(opts, counts, strict=True)},
        details=details,
        codes=codes,
        n_categories=k,
        kernel=kernel,
    )


MAX_EXACT_SETS = 1024
"""Above this many distinct chosen sets, mean pairwise Jaccard is estimated from sampled pairs."""

PAIR_SAMPLES = 1 << 18
"""Pairs sampled for the estimate: standard error <= 0.5 / sqrt(2^18) < 0.001."""


def sampled_pairwise_jaccard(weights, first, second, pair_similarity) -> np.ndarray:
    """Ratio estimate of the weighted mean pairwise Jaccard over a fixed sample of pairs.

    mean ~= sum_p w_{i_p} w_{j_p} J_p / sum_p w_{i_p} w_{j_p} over sampled pairs p = (i_p, j_p)
    of distinct respondents; ``weights[..., i]`` is respondent i's weight (1 = counted once).
    With unit weights it is the plain mean of the sampled J_p. NaN when no pair has weight.
    """
    w = np.atleast_2d(np.asarray(weights, dtype=float))
    num = np.zeros(w.shape[0])
    den = np.zeros(w.shape[0])
    block = max(1, 4_000_000 // max(w.shape[0], 1))
    for start in range(0, len(first), block):
        stop = start + block
        pair_w = w[:, first[start:stop]] * w[:, second[start:stop]]
        num += pair_w @ pair_similarity[start:stop]
        den += pair_w.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        out = np.where(den > 0, num / den, np.nan)
    return out.reshape(np.shape(weights)[:-1])


def multi_agreement(
    answers: Sequence[Iterable[str]],
    options: Sequence[str],
    *,
    max_exact_sets: int = MAX_EXACT_SETS,
    pair_samples: int = PAIR_SAMPLES,
    seed: int = 0,
) -> ItemAgreement:
    """Mean pairwise Jaccard of the chosen sets; consensus = options chosen by > 50%.

    ``consensus_share`` is the smallest share among the majority options; with no majority
    both are None and ``details["top_share"]`` gives the most chosen option's share.
    Exact (identical sets grouped) up to ``max_exact_sets`` distinct sets; beyond, estimated
    from ``pair_samples`` seeded random pairs of respondents (``details["estimated"]``),
    which keeps memory and time linear in n whatever the number of distinct sets.
    """
    opts = list(options)
    # count the answers as given first (a C-level Counter), then make one frozenset per distinct one
    given = Counter(map(tuple, answers))
    as_set = {t: frozenset(t) for t in given}
    tally: Counter[frozenset] = Counter()
    for t, c in given.items():
        tally[as_set[t]] += c
    n = len(answers)
    distinct = sorted(tally, key=lambda s: sorted(s))
    chosen = {o: sum(c for s, c in tally.items() if o in s) for o in opts}
    kernel: Kernel
    if len(distinct) <= max_exact_sets:
        position = {s: i for i, s in enumerate(distinct)}
        code_of = {t: position[s] for t, s in as_set.items()}
        codes = np.fromiter(map(code_of.__getitem__, map(tuple, answers)), dtype=np.int64, count=n)
        similarity = jaccard_matrix(distinct) if distinct else np.ones((0, 0))
        n_categories = len(distinct)

        def kernel(c, s2=None):
            return mean_pairwise_jaccard(c, similarity, s2)

        index = _scalar(kernel(np.bincount(codes, minlength=n_categories))) if n else None
        estimated = False
    else:
        universe = sorted({x for s in distinct for x in s})
        col = {x: i for i, x in enumerate(universe)}
        member = np.zeros((n, len(universe)), dtype=bool)
        for row, s in enumerate(as_set[t] for t in map(tuple, answers)):
            member[row, [col[x] for x in s]] = True
        rng = np.random.default_rng(seed)
        first = rng.integers(0, n, pair_samples)
        second = (first + rng.integers(1, n, pair_samples)) % n
        inter = (member[first] & member[second]).sum(axis=1)
        union = (member[first] | member[second]).sum(axis=1)
        pair_similarity = np.where(union > 0, inter / np.maximum(union, 1), 1.0)
        codes = np.arange(n, dtype=np.int64)  # categories are the respondents themselves
        n_categories = n

        def kernel(c, s2=None):
            return sampled_pairwise_jaccard(c, first, second, pair_similarity)

        index = float(pair_similarity.mean())
        estimated = True
    if n == 0:
        return ItemAgreement(0, None, None, None, chosen, {}, codes, n_categories, kernel)
    majority = [o for o in opts if chosen[o] * 2 > n]
    top = max(opts, key=lambda o: chosen[o])  # first listed on ties
    details: dict[str, float | bool | None] = {
        "top_share": chosen[top] / n,
        "mean_choices": sum(len(s) * c for s, c in tally.items()) / n,
        "estimated": estimated,
    }
    return ItemAgreement(
        n=n,
        index=index,
        consensus=majority or None,
        consensus_share=min(chosen[o] for o in majority) / n if majority else None,
        counts=chosen,
        details=details,
        codes=codes,
        n_categories=n_categories,
        kernel=kernel,
    )


def scale_agreement(answers: Sequence[int], points: int) -> ItemAgreement:
    """r_WG on a 1..``points`` scale, AD_M beside it; consensus = median.

    ``consensus_share`` = share of answers with |x - median| <= 0.5. ``details``: mean,
    variance (ddof 1), ad, ad_acceptable (AD_M <= A/6).
    """
    x = np.asarray(list(answers), dtype=np.int64)
    if x.size and (x.min() < 1 or x.max() > points):
        raise ValueError(f"scale answers must lie in 1..{points}")
    codes = x - 1
    counts = np.bincount(codes, minlength=points)
    n = int(x.size)

    def kernel(c, s2=None):
        return rwg(c, s2)

    labels = {str(p): int(c) for p, c in zip(range(1, points + 1), counts, strict=True)}
    if n == 0:
        return ItemAgreement(0, None, None, None, labels, {}, codes, points, kernel)
    median = float(np.median(x))
    ad = average_deviation(x)
    details: dict[str, float | bool | None] = {
        "mean": float(x.mean()),
        "variance": float(x.var(ddof=1)) if n >= 2 else None,
        "ad": ad,
        "ad_acceptable": bool(ad is not None and ad <= points / 6) if n >= 2 else None,
    }
    return ItemAgreement(
        n=n,
        index=_scalar(kernel(counts)),
        consensus=median,
        consensus_share=float(np.mean(np.abs(x - median) <= 0.5)),
        counts=labels,
        details=details,
        codes=codes,
        n_categories=points,
        kernel=kernel,
    )


def number_agreement(answers: Sequence[float], resolution: float = 0.0) -> ItemAgreement:
    """1 - QCD_c (``qcd_agreement`` with ``resolution`` c); consensus = median with Q1, Q3
    and IQR in ``details``.

    ``consensus_share`` = share of answers within +-25% of the median (equal to it when the
    median is 0).
    """
    x = np.asarray(list(answers), dtype=float)
    distinct, codes = np.unique(x, return_inverse=True)
    codes = codes.astype(np.int64).reshape(-1)
    n = int(x.size)

    def kernel(c, s2=None):
        return qcd_agreement(c, distinct, s2, resolution)

    if n == 0:
        return ItemAgreement(0, None, None, None, {}, {}, codes, 0, kernel)
    q1, median, q3 = (float(v) for v in np.quantile(x, [0.25, 0.5, 0.75]))
    counts = np.bincount(codes, minlength=distinct.size)
    details: dict[str, float | bool | None] = {"q1": q1, "q3": q3, "iqr": q3 - q1}
    return ItemAgreement(
        n=n,
        index=_scalar(kernel(counts)),
        consensus=median,
        consensus_share=float(np.mean(np.abs(x - median) <= NUMBER_TOLERANCE * abs(median))),
        counts={},
        details=details,
        codes=codes,
        n_categories=int(distinct.size),
        kernel=kernel,
    )
