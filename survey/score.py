"""The alignment score of a round and its bootstrap interval over respondents.

The score is 100 times the weighted mean of the defined agreement indices of the scored
questions. Its interval resamples the respondents with replacement; the pairs formed by
two copies of the same respondent are left out (see ``survey.agreement``), so a resample
does not inflate pairwise agreement, and a question with no defined index in a resample is
left out of that resample's weighted mean.
"""

from __future__ import annotations

import math
from statistics import NormalDist

import numpy as np

from survey.question_answers import QuestionAnswers

BOOTSTRAP_CELLS = 500_000
"""Respondent x resample cells per bootstrap chunk: bounds memory at any n (larger chunks were
no faster: the multiplicities of a chunk stay in the cache)."""


def weighted_score(indices: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """100 * sum_q w_q a_q / sum_q w_q over the defined indices (last axis = questions)."""
    defined = ~np.isnan(indices)
    w = np.where(defined, weights, 0.0)
    total = w.sum(axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(
            total > 0, 100.0 * (np.where(defined, indices, 0.0) * w).sum(-1) / total, np.nan
        )


BOOTSTRAP_MIN_CHUNK = 32
BOOTSTRAP_MAX_CELLS = 2_000_000
"""Large rounds get chunks of at least ``BOOTSTRAP_MIN_CHUNK`` resamples, up to this many cells."""

MIN_INTERVAL_N = 5
"""No bootstrap interval below this many respondents: a resample of 3 or 4 people is mostly
copies of one or two of them, whose pairs are left out, so the interval spans nearly the
whole range (3 respondents gave 17-100) and says nothing about agreement."""


def bootstrap_scores(
    items: list[QuestionAnswers], weights: np.ndarray, n: int, replicates: int, seed: int
) -> np.ndarray:
    """Scores of ``replicates`` resamples of the n respondents (with replacement)."""
    return bootstrap_resamples(items, weights, n, replicates, seed)[0]


def percentile_interval(samples: np.ndarray, level: float = 0.95) -> tuple[float, float] | None:
    """The percentile bootstrap interval (Efron & Tibshirani 1993, ch. 13) of the finite samples."""
    x = np.asarray(samples, dtype=float)
    x = x[np.isfinite(x)]
    if not x.size:
        return None
    tail = 100 * (1 - level) / 2
    lo, hi = np.percentile(x, [tail, 100 - tail])
    return float(lo), float(hi)


LARGE_ROUND = 2000
"""Above this many respondents the intervals are normal ones from ``LARGE_ROUND_RESAMPLES``."""

LARGE_ROUND_RESAMPLES = 200
"""Resamples of a large round: about 200 suffice for a bootstrap standard error (Efron &
Tibshirani 1993, ch. 6) where percentile intervals need about 1,000 (ch. 13). At 2,000+
respondents the indices are close to normal and their intervals narrow (a few points of the
score), so the Monte Carlo error of the standard error (about 5% of it at 200) moves an end by
well under the whole point the report prints."""


def interval_plan(n: int, replicates: int) -> tuple[int, str]:
    """(resamples, "percentile" or "normal") for a round of ``n`` respondents when
    ``replicates`` were asked for: a large round draws at most ``LARGE_ROUND_RESAMPLES``."""
    if n > LARGE_ROUND and replicates > 0:
        return min(replicates, LARGE_ROUND_RESAMPLES), "normal"
    return replicates, "percentile"


def normal_interval(samples: np.ndarray, estimate: float, low: float, high: float,
                    level: float = 0.95) -> tuple[float, float] | None:
    """The normal bootstrap interval (Efron & Tibshirani 1993, ch. 6 and 13.2): ``estimate`` +-
    z * the finite samples' standard deviation, clipped to the statistic's range [low, high]."""
    x = np.asarray(samples, dtype=float)
    x = x[np.isfinite(x)]
    if x.size < 2 or not math.isfinite(estimate):
        return None
    half = NormalDist().inv_cdf(0.5 + level / 2) * float(x.std(ddof=1))
    return max(low, estimate - half), min(high, estimate + half)


UINT8_COUNTS = 256
"""A resample's multiplicities are gathered as uint8 while every one is below this."""

MANY_CATEGORIES = 4096
"""A question with more categories than this (a number question's distinct answers) is counted
by a weighted ``np.bincount`` per resample: summing its sorted answers between so many category
starts (``np.add.reduceat``) took nearly three times as long."""

JOINT_CELLS = 4096
"""Questions with few categories are grouped while the product of their (categories + 1) stays
within this: one gather of the multiplicities serves the group (the gather was most of the
bootstrap), and each question's counts are its margin of the group's joint counts."""


def _category_groups(items: list[QuestionAnswers], n: int) -> list[tuple]:
    """(respondent order, present codes, their starts, members) per group of questions: the
    respondents sorted by their (joint) category, where each present one starts, and per member
    (item index, categories, its size in the joint code: categories + 1 for "unanswered", or
    None for a question alone, whose order holds its answerers only). A question alone with
    more than ``MANY_CATEGORIES`` categories is (each respondent's category, None, None,
    members), its categories counted by ``np.bincount``."""
    groups, pending, product = [], [], 1

    def close() -> None:
        if not pending:
            return
        if len(pending) == 1 and pending[0][1].item.n_categories > MANY_CATEGORIES:
            j, it = pending[0]
            k = it.item.n_categories
            code = np.full(n, k, dtype=np.intp)  # k: unanswered
            code[it.rows] = it.item.codes
            groups.append((code, None, None, [(j, k, None)]))
            return
        if len(pending) == 1:
            j, it = pending[0]
            order = np.argsort(it.item.codes, kind="stable")
            present, starts = np.unique(it.item.codes[order], return_index=True)
            groups.append((it.rows[order], present, starts, [(j, it.item.n_categories, None)]))
            return
        joint = np.zeros(n, dtype=np.int64)
        members = []
        for j, it in pending:
            k = it.item.n_categories
            code = np.full(n, k, dtype=np.int64)  # k: unanswered
            code[it.rows] = it.item.codes
            joint = joint * (k + 1) + code
            members.append((j, k, k + 1))
        order = np.argsort(joint, kind="stable")
        present, starts = np.unique(joint[order], return_index=True)
        groups.append((order, present, starts, members))

    for j, it in enumerate(items):
        assert it.item is not None
        size = it.item.n_categories + 1
        if pending and product * size > JOINT_CELLS:
            close()
            pending, product = [], 1
        pending.append((j, it))
        product *= size
    close()
    return groups


def bootstrap_resamples(
    items: list[QuestionAnswers], weights: np.ndarray, n: int, replicates: int, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """(scores, indices) of ``replicates`` resamples of the n respondents (with replacement):
    ``indices[r, j]`` is question j's index in resample r (NaN where undefined), so one
    resampling gives the score's interval and every question's.

    Respondent multiplicities W (chunk x n, uint8 unless one reaches 256) come from one
    Generator(seed) stream; each question's category counts are W summed over the answers of
    each category (integer sums: one gather and ``np.add.reduceat`` along each resample's row
    per group of questions, see ``JOINT_CELLS``, or a weighted ``np.bincount`` per resample for a
    question of ``MANY_CATEGORIES``), then
    the question's kernel gives the index of every resample at once. Every question needs the
    same resamples (the score is their weighted mean), so each question's interval comes from
    them too, at no extra cost.
    Memory is bounded by ``BOOTSTRAP_CELLS`` per chunk.
    """
    rng = np.random.default_rng(seed)
    groups = _category_groups(items, n)
    # at least BOOTSTRAP_MIN_CHUNK resamples a chunk while that stays within BOOTSTRAP_MAX_CELLS
    # (its arrays then stay below the peak of reading the spreadsheet):
    # a chunk of 5 resamples (100,000 respondents) spent most of its time in per-call overhead
    chunk = max(BOOTSTRAP_CELLS // max(n, 1), min(BOOTSTRAP_MIN_CHUNK, BOOTSTRAP_MAX_CELLS // max(n, 1)))
    chunk = max(1, min(replicates, chunk))
    scores, all_indices = [], []
    for start in range(0, replicates, chunk):
        b = min(chunk, replicates - start)
        # the draws are consumed element by element, so chunking does not change the resamples;
        # cells < 2^31 by BOOTSTRAP_CELLS, so int32 indices suffice
        flat = rng.integers(0, n, size=(b, n), dtype=np.int32)
        # multiplicities, resample-major (b x n): each resample's row is contiguous, so a
        # group's category sums are one gather and one reduceat along the rows; counted a
        # resample at a time (a row's counts stay in cache: twice as fast as one bincount of all)
        w = np.empty((b, n), dtype=np.uint8)  # an eighth of the memory to gather
        peak = 0
        for r in range(b):
            row = np.bincount(flat[r], minlength=n)
            peak = max(peak, int(row.max()))
            w[r] = row
        small = peak < UINT8_COUNTS  # always but on a tiny chance; else counted again, wider
        if not small:
            w = np.bincount((flat + (np.arange(b, dtype=np.int64) * n)[:, None]).ravel(),
                            minlength=n * b).reshape(b, n).astype(np.int32)
        del flat
        w2 = w.astype(np.uint16) if small else w.astype(np.int64)  # 255^2 fits uint16
        w2 *= w2
        sum_w2_all = w2.sum(axis=1, dtype=np.int64).astype(np.float64)
        counts: dict[int, np.ndarray] = {}
        for order, present, starts, members in groups:
            if present is None:  # many categories: a weighted count per resample (exact: whole numbers)
                j, k, _ = members[0]
                category = order  # such a group holds each respondent's category, not an order
                many = np.empty((b, k + 1))
                for r in range(b):
                    many[r] = np.bincount(category, weights=w[r], minlength=k + 1)
                counts[j] = many[:, :k].astype(np.int32)  # the last bin: unanswered; int32 as reduceat's
                continue
            if not present.size:
                for j, k, _ in members:
                    counts[j] = np.zeros((b, k))
                continue
            # integer sums (int32: a count is at most n): exact in any order
            sums = np.add.reduceat(w.take(order, axis=1), starts, axis=1, dtype=np.int32)
            if len(members) == 1 and members[0][2] is None:
                j, k, _ = members[0]
                if present.size == k:  # every category answered (a number's distinct answers always)
                    counts[j] = sums  # integer counts: each kernel reads them as floats, exactly
                else:
                    counts[j] = np.zeros((b, k))
                    counts[j][:, present] = sums
                continue
            shape = [size for _, _, size in members]
            joint = np.zeros((b, math.prod(shape)), dtype=np.int64)
            joint[:, present] = sums
            joint = joint.reshape(b, *shape)
            for axis, (j, k, _) in enumerate(members):
                others = tuple(1 + a for a in range(len(members)) if a != axis)
                counts[j] = joint.sum(axis=others)[:, :k].astype(np.float64)  # the last bin: unanswered
        indices = np.empty((b, len(items)))
        for j, it in enumerate(items):
            full = len(it.rows) == n
            sum_w2 = sum_w2_all if full else w2.take(it.rows, axis=1).sum(axis=1, dtype=np.int64).astype(np.float64)
            indices[:, j] = it.item.resample(counts[j], sum_w2)  # type: ignore[union-attr]
        scores.append(weighted_score(indices, weights))
        all_indices.append(indices)
    if not scores:
        return np.zeros(0), np.zeros((0, len(items)))
    return np.concatenate(scores), np.concatenate(all_indices)
