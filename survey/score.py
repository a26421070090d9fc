"""The alignment score of a round and its bootstrap interval over respondents.

The score is 100 times the weighted mean of the defined agreement indices of the scored
questions. Its interval resamples the respondents with replacement; the pairs formed by
two copies of the same respondent are left out (see ``survey.agreement``), so a resample
does not inflate pairwise agreement, and a question with no defined index in a resample is
left out of that resample's weighted mean.
"""

from __future__ import annotations

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


def bootstrap_resamples(
    items: list[QuestionAnswers], weights: np.ndarray, n: int, replicates: int, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """(scores, indices) of ``replicates`` resamples of the n respondents (with replacement):
    ``indices[r, j]`` is question j's index in resample r (NaN where undefined), so one
    resampling gives the score's interval and every question's.

    Respondent multiplicities W (n x chunk, integers, uint8 unless one reaches 256) come from one
    Generator(seed) stream; each question's category counts are W summed over the answers of each
    category (one ``np.add.reduceat`` over the answers grouped by category, integer sums), then
    the question's kernel gives the index of every resample at once. Every question needs the
    same resamples (the score is their weighted mean), so each question's interval comes from
    them too, at no extra cost.
    Memory is bounded by ``BOOTSTRAP_CELLS`` per chunk.
    """
    rng = np.random.default_rng(seed)
    groups = []  # per item: its answers' respondents grouped by category, and where each starts
    for it in items:
        item = it.item
        assert item is not None
        order = np.argsort(item.codes, kind="stable")
        present, starts = np.unique(item.codes[order], return_index=True)
        groups.append((it.rows[order], present, starts, len(it.rows) == n))
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
        flat *= b
        flat += np.arange(b, dtype=np.int32)[:, None]
        w = np.bincount(flat.ravel(), minlength=n * b).reshape(n, b)  # multiplicities, integers
        del flat
        if w.max() < 256:  # always but on a tiny chance: an eighth of the memory to gather and sum
            w = w.astype(np.uint8)
        w2 = w.astype(np.uint16 if w.dtype == np.uint8 else np.int64) ** 2  # 255^2 fits uint16
        sum_w2_all = w2.sum(axis=0, dtype=np.int64).astype(np.float64)
        indices = np.empty((b, len(items)))
        for j, (it, (rows, present, starts, full)) in enumerate(zip(items, groups, strict=True)):
            counts = np.zeros((b, it.item.n_categories))  # type: ignore[union-attr]
            if present.size:  # integer sums: exact in any order
                counts[:, present] = np.add.reduceat(w[rows], starts, axis=0, dtype=np.int64).T
            sum_w2 = sum_w2_all if full else w2[it.rows].sum(axis=0, dtype=np.int64).astype(np.float64)
            indices[:, j] = it.item.resample(counts, sum_w2)  # type: ignore[union-attr]
        scores.append(weighted_score(indices, weights))
        all_indices.append(indices)
    if not scores:
        return np.zeros(0), np.zeros((0, len(items)))
    return np.concatenate(scores), np.concatenate(all_indices)
