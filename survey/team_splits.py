"""Teams in a round: who is in which team, which teams may be shown, and where teams answer apart.

A respondent's team is the one a leader assigned (``Response.team``), else their answer to
the template's team question.

**Which teams are shown** (``visible_groups``): a team of fewer than ``min_group_size``
respondents is never shown; and since the overall figures are shown too, the respondents
hidden that way (small teams and those with no team, pooled) would be the overall figures
minus the shown teams'. So when the hidden respondents number fewer than the threshold
(but more than none), the next-smallest shown team is hidden as well, and so on: the
complementary suppression of statistical disclosure control (Hundepool et al. 2012,
*Statistical Disclosure Control*, ch. 5), as careful pulse-survey tools apply it. The pooled
hidden group is then either empty or of at least ``min_group_size`` people, and no size
below the threshold is ever printed. The same rule runs per question on those who answered
it, so no team figure of a question can be derived for fewer people either.

**Team splits** (``team_splits``): for each closed question, every pair of shown teams gets
a distance between their answer distributions that suits the kind:

- single, multi: Jensen-Shannon distance, base 2, over the options (multi: how many chose
  each), in [0, 1] (Lin 1991; ``scipy.spatial.distance.jensenshannon``);
- scale: the earth mover's distance over the points, normalised by the scale's length
  (A - 1), so all-4 against all-5 on 1-5 is 0.25 and 1 against 5 is 1.0;
- number: the earth mover's distance over the pooled answers' mid-ranks scaled to [0, 1]
  (the rank transform keeps it scale-free like the number index, and robust to outliers).

A pair is **flagged** only when the difference is unlikely by chance and large enough to act
on: a permutation test over respondents (the two teams' members relabelled at random; exact
over all relabellings when there are at most ``PERMUTATIONS`` of them, else R seeded ones,
p = (1 + #{d* >= d}) / (1 + R), Phipson & Smyth 2010; each random relabelling is drawn as the
multivariate hypergeometric table of team a's answer patterns it gives, which has the same
distribution: ``permutation_test``), or for a pair of at least ``LARGE_PAIR`` respondents
Pearson's chi-square test of homogeneity on its 2 x C table of answer patterns (options,
points, the number's rank bins, or multi's distinct chosen sets; ``survey.chi_square``): the
same null (the two teams' answers have one distribution), with rare cells pooled by the
pooled margins, kept only where Cochran's rule holds after pooling. Why: with 357 pairs under
Benjamini-Hochberg the strongest lone split needs p <= 0.05 / 357 = 1.4e-4, but the R = 357
relabellings of a large pair cannot show a p below 1 / 358 = 2.8e-3, so a single real split
among many pairs could never be flagged on a large round; the asymptotic p resolves small p
and costs nothing. The distance stays the effect size. Then the
Benjamini-Hochberg false discovery rate over every pair tested in the report
(``scipy.stats.false_discovery_control``), flagged at q <= ``FDR_LEVEL``; and the distance
reaches ``MIN_DISTANCE`` of its kind and the two teams' typical answers differ (another modal
option or scale point, or medians more than ``NUMBER_TOLERANCE`` apart). Seeded, so a report
is reproducible.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Mapping
from itertools import combinations, repeat
from typing import Literal

import numpy as np
from pydantic import BaseModel, Field

from survey.agreement import NUMBER_TOLERANCE, emd_ordered, js_distances
from survey.answer_labels import scale_point, with_unit
from survey.answers import Response
from survey.chi_square import chi2_sf, chi_square_homogeneity
from survey.question_answers import QuestionAnswers
from survey.template import Question, QuestionKind, Template

FDR_LEVEL = 0.05
"""Benjamini-Hochberg false discovery rate at which a team split is flagged."""

PERMUTATIONS = 999
"""Random relabellings per pair when exact enumeration would take more (p >= 0.001)."""

MIN_DISTANCE = {"jensen-shannon": 0.30, "earth mover's": 0.20}
"""The smallest distance flagged: a third of the way to disjoint answers (JSD), or a fifth of
the scale (EMD: more than half a point apart on a 1-5 scale, on average)."""

SPLIT_THRESHOLD = MIN_DISTANCE["jensen-shannon"]
"""Kept for callers of the former single threshold (Jensen-Shannon)."""

MAX_NUMBER_BINS = 100
"""Above this many distinct number answers, ranks are binned (EMD within 1/100 of exact)."""

LARGE_PAIR = 1000
"""From this many respondents a pair is tested by Pearson's chi-square (see the module text):
up to about 1,000 the permutation test keeps all ``PERMUTATIONS`` relabellings at little cost
(``monte_carlo_relabellings``), above it R falls as 1,000,000 / n, and with hundreds of
respondents per team the chi-square approximation is close (Cochran's rule is still checked)."""

OTHER_TEAMS = "other teams or none"
UNASSIGNED = "unassigned"  # kept for callers; respondents without a team pool with OTHER_TEAMS


class TeamAnswer(BaseModel):
    """One shown team's typical answer to a question."""

    team: str
    label: str
    n: int
    answer: str
    share: float | None = None
    """Share of the team giving ``answer``; None for numbers (``answer`` is the median)."""

    @property
    def text(self) -> str:
        return f"{self.label}: {self.answer}" + (f" ({self.share:.0%})" if self.share is not None else "")


class PairTest(BaseModel):
    """The distance between two teams' answers, its permutation p-value and BH q-value."""

    team_a: str
    team_b: str
    distance: float
    p_value: float
    q_value: float | None = None
    typical_differ: bool
    flagged: bool = False
    test: Literal["permutation", "chi-square"] = "permutation"
    """Which test gave ``p_value``."""


class TeamSplit(BaseModel):
    """One question's answers by team: one line with every shown team, and the pair tests."""

    question_id: str
    prompt: str
    name: str
    metric: str
    teams: list[TeamAnswer] = Field(default_factory=list)
    pairs: list[PairTest] = Field(default_factory=list)
    flagged: bool = False
    distance: float = 0.0
    """The largest flagged distance (else the largest distance)."""
    q_value: float | None = None
    """The smallest q-value among the question's pairs."""
    text: str = ""


def team_of(template: Template, response: Response) -> str | None:
    """The respondent's team: assigned by a leader, else their answer to the team question."""
    if response.team:
        return response.team
    tq = template.team_question
    answer = response.answers.get(tq.id) if tq is not None else None
    return answer if isinstance(answer, str) and answer else None


def team_label(template: Template, team: str) -> str:
    """The team question's label for ``team``, else the team capitalized."""
    tq = template.team_question
    if tq is not None and tq.option(team):
        return tq.option_label(team)
    return team[:1].upper() + team[1:]


def visible_groups(sizes: Mapping[str | None, int], min_group_size: int) -> set[str]:
    """The teams whose figures may be shown, by complementary suppression.

    ``sizes`` maps each team (None: no team) to its respondents. Teams below
    ``min_group_size`` are hidden; while the hidden respondents are more than 0 and fewer
    than ``min_group_size``, the smallest shown team (by size, then name) is hidden too.
    """
    shown = {t for t, c in sizes.items() if t is not None and c >= min_group_size}
    hidden = sum(c for t, c in sizes.items() if t not in shown)
    while 0 < hidden < min_group_size and shown:
        smallest = min(shown, key=lambda t: (sizes[t], t))
        shown.discard(smallest)
        hidden += sizes[smallest]
    return shown


def team_sizes(team_of_row: list[str | None], min_group_size: int) -> dict[str, int]:
    """Shown team -> respondents (``visible_groups``), the rest pooled under ``OTHER_TEAMS``
    (never fewer than ``min_group_size``); {} when nobody has a team."""
    sizes: Counter[str | None] = Counter(team_of_row)
    if not any(t for t in sizes):
        return {}
    shown = visible_groups(sizes, min_group_size)
    teams = {t: sizes[t] for t in sorted(shown)}
    hidden = sum(c for t, c in sizes.items() if t not in shown)
    if hidden:
        teams[OTHER_TEAMS] = hidden
    return teams


# -- one question's per-respondent encoding ------------------------------------------------


def _encode(question: Question, values: list) -> tuple[np.ndarray, np.ndarray, str, np.ndarray | None]:
    """(each respondent's answer pattern, pattern x category matrix, metric, category positions
    for the EMD or None).

    A pattern is what one respondent contributes to a team's category counts: one option, scale
    point or rank bin (a row of the identity), or for multi one distinct chosen set (its
    options). A team's counts are its pattern counts times the matrix, which is what lets the
    permutation test draw pattern counts instead of relabelling people."""
    kind = question.kind
    if kind in (QuestionKind.SINGLE, QuestionKind.MULTI):
        ids = [o.id for o in question.options]
        col = {i: k for k, i in enumerate(ids)}
        if kind == QuestionKind.SINGLE:
            codes = np.fromiter(map(col.__getitem__, values), dtype=np.int64, count=len(values))
            return codes, np.eye(len(ids), dtype=np.int64), "jensen-shannon", None
        keys = list(map(tuple, values))
        # numbered in order of first appearance, as setdefault would
        pattern_of = {key: row for row, key in enumerate(dict.fromkeys(keys))}
        codes = np.fromiter(map(pattern_of.__getitem__, keys), dtype=np.int64, count=len(values))
        patterns = np.zeros((len(pattern_of), len(ids)), dtype=np.int64)
        for chosen, row in pattern_of.items():
            patterns[row, [col[item] for item in chosen]] = 1
        return codes, patterns, "jensen-shannon", None
    if kind == QuestionKind.SCALE:
        points = question.points or 2
        codes = np.asarray(values, dtype=np.int64) - 1
        return codes, np.eye(points, dtype=np.int64), "earth mover's", np.arange(points) / (points - 1)
    x = np.asarray(values, dtype=float)
    ranks = _mid_ranks(x)  # mid-ranks over all answers to the question
    position = (ranks - 1) / max(len(values) - 1, 1)
    distinct, codes = np.unique(position, return_inverse=True)
    codes = codes.reshape(-1)
    if distinct.size > MAX_NUMBER_BINS:  # many distinct answers: equal-width bins of the ranks
        codes = np.minimum((position * MAX_NUMBER_BINS).astype(int), MAX_NUMBER_BINS - 1)
        sums = np.bincount(codes, weights=position, minlength=MAX_NUMBER_BINS)
        used = np.bincount(codes, minlength=MAX_NUMBER_BINS) > 0
        codes = np.cumsum(used)[codes] - 1
        distinct = sums[used] / np.bincount(codes)
    return codes.astype(np.int64), np.eye(distinct.size, dtype=np.int64), "earth mover's", distinct


def _mid_ranks(x: np.ndarray) -> np.ndarray:
    """``scipy.stats.rankdata(x)`` (ties get the mean of their ranks; halves are exact in
    floats), without importing scipy.stats (half a second)."""
    distinct, inverse, counts = np.unique(x, return_inverse=True, return_counts=True)
    upto = np.cumsum(counts)
    return 0.5 * (upto[inverse.reshape(-1)] + (upto - counts)[inverse.reshape(-1)] + 1)


def benjamini_hochberg(ps: np.ndarray) -> np.ndarray:
    """``scipy.stats.false_discovery_control(ps, method="bh")``, the same float operations in
    the same order (so the same q-values to the last bit), without importing scipy.stats."""
    ps = np.asarray(ps, dtype=float)
    if ps.size <= 1:
        return ps
    m = ps.shape[-1]
    order = np.argsort(ps, kind="stable")
    q = ps[order]
    q *= m / np.arange(1, m + 1, dtype=q.dtype)
    np.minimum.accumulate(q[::-1], out=q[::-1])
    out = np.empty_like(q)
    out[order] = q
    return np.clip(out, 0.0, 1.0)


def _distance(metric: str, a: np.ndarray, b: np.ndarray, positions: np.ndarray | None) -> np.ndarray:
    if metric == "jensen-shannon":
        return js_distances(a, b)
    assert positions is not None
    if positions.size < 2:
        return np.zeros(np.shape(a)[:-1])
    return emd_ordered(a, b, positions)


def monte_carlo_relabellings(n: int, permutations: int = PERMUTATIONS) -> int:
    """R, the random relabellings of a pair of ``n`` respondents: ``permutations``, but never
    more than 1,000,000 / n (at least 199), the bound of the former respondent-level draws;
    kept so that every p-value keeps the Monte Carlo resolution it had."""
    return int(min(permutations, max(199, 1_000_000 // max(n, 1))))


def pair_p_value(
    codes: np.ndarray, patterns: np.ndarray, n_a: int, metric: str, positions: np.ndarray | None,
    observed: float, rng: np.random.Generator, permutations: int = PERMUTATIONS,
) -> float:
    """``pair_test``'s p-value."""
    return pair_test(codes, patterns, n_a, metric, positions, observed, rng, permutations)[0]


def pair_test(
    codes: np.ndarray, patterns: np.ndarray, n_a: int, metric: str, positions: np.ndarray | None,
    observed: float, rng: np.random.Generator, permutations: int = PERMUTATIONS,
) -> tuple[float, str]:
    """(p-value, test) of team a against team b: Pearson's chi-square test (``chi_square_p_value``)
    when the pair has at least ``LARGE_PAIR`` respondents and Cochran's rule holds, else the
    permutation test (``permutation_test``), whose rng draws are then the same as before."""
    if len(codes) >= LARGE_PAIR:
        p = chi_square_p_value(np.bincount(codes[:n_a], minlength=len(patterns)),
                               np.bincount(codes[n_a:], minlength=len(patterns)))
        if p is not None:
            return p, "chi-square"
    return permutation_test(codes, patterns, n_a, metric, positions, observed, rng, permutations), "permutation"


def chi_square_p_value(counts_a: np.ndarray, counts_b: np.ndarray) -> float | None:
    """Pearson's chi-square p-value on the pair's 2 x patterns table (``survey.chi_square``),
    or None where it does not apply."""
    result = chi_square_homogeneity(counts_a, counts_b)
    return None if result is None else chi2_sf(*result)


def permutation_test(
    codes: np.ndarray, patterns: np.ndarray, n_a: int, metric: str, positions: np.ndarray | None,
    observed: float, rng: np.random.Generator, permutations: int = PERMUTATIONS,
) -> float:
    """P-value of ``observed`` when the first ``n_a`` respondents of ``codes`` (team a; each
    respondent's answer pattern, a row of ``patterns``) and the rest (team b) are relabelled at
    random.

    Exact over all C(n, n_a) relabellings of the respondents when they are at most
    ``permutations`` (p = #{d* >= d} / C, the observed one included). Else
    (1 + #{d* >= d}) / (1 + R) over R = ``monte_carlo_relabellings(n)`` seeded draws (Phipson &
    Smyth 2010), each drawn as the table it gives rather than as a relabelling: the distance
    depends on the relabelling only through team a's pattern counts, and under a uniformly
    random relabelling with the team sizes fixed those counts are multivariate hypergeometric
    (n_a drawn without replacement from the pooled pattern counts). So
    ``rng.multivariate_hypergeometric(pooled, n_a, size=R)`` (method "marginals": K - 1
    hypergeometric variates a draw) has the very null distribution of the relabellings, in
    O(R x K) instead of O(R x n)."""
    n = len(codes)
    k = patterns.shape[1]
    pooled = np.bincount(codes, minlength=len(patterns))
    total = pooled @ patterns
    tol = 1e-12
    # C(n, n_a) >= n when 0 < n_a < n: no big-integer binomial when n alone rules exact out
    exact = math.comb(n, n_a) if n <= permutations or n_a in (0, n) else permutations + 1
    if exact <= permutations:
        owner, cat = np.nonzero(patterns[codes])
        masks = np.zeros((exact, n), dtype=bool)
        for row, chosen in enumerate(combinations(range(n), n_a)):
            masks[row, list(chosen)] = True
        b = masks.shape[0]
        idx = (np.arange(b)[:, None] * k + cat[None, :])[masks[:, owner]]
        ca = np.bincount(idx, minlength=b * k).reshape(b, k).astype(float)
        d = _distance(metric, ca, total - ca, positions)
        return float(np.mean(d >= observed - tol))
    r = monte_carlo_relabellings(n, permutations)
    hits = int((null_distances(codes, patterns, n_a, metric, positions, rng, r) >= observed - tol).sum())
    return (1 + hits) / (1 + r)


def null_distances(
    codes: np.ndarray, patterns: np.ndarray, n_a: int, metric: str, positions: np.ndarray | None,
    rng: np.random.Generator, size: int,
) -> np.ndarray:
    """The distances of ``size`` random relabellings of the pair (see ``pair_p_value``): team a's
    pattern counts drawn multivariate hypergeometric, the rest team b's."""
    pooled = np.bincount(codes, minlength=len(patterns))
    present = np.flatnonzero(pooled)
    drawn = rng.multivariate_hypergeometric(pooled[present], n_a, size=size, method="marginals")
    ca = drawn @ patterns[present]  # integer products: exact
    total = pooled @ patterns
    return _distance(metric, ca.astype(float), (total - ca).astype(float), positions)


def permutation_p_value(
    e: np.ndarray, n_a: int, metric: str, positions: np.ndarray | None, observed: float,
    rng: np.random.Generator, permutations: int = PERMUTATIONS,
) -> float:
    """``pair_p_value`` of a respondent x category matrix ``e`` (its first ``n_a`` rows team a):
    each distinct row is one answer pattern."""
    e = np.asarray(e)
    if not len(e):
        return 1.0
    patterns, codes = np.unique(e, axis=0, return_inverse=True)
    return pair_p_value(codes.reshape(-1), patterns.astype(np.int64), n_a, metric, positions, observed,
                        rng, permutations)


def _team_answer(question: Question, label: str, team: str, n: int, counts: np.ndarray,
                 values: np.ndarray | None) -> tuple[TeamAnswer, object]:
    """A team of ``n``'s typical answer (modal option / scale point, or the median of
    ``values``, its number answers) and its key; ``counts``: the team's category counts (how
    many chose each option, gave each scale point)."""
    kind = question.kind
    if kind == QuestionKind.NUMBER:
        assert values is not None
        median = float(np.median(values))
        return TeamAnswer(team=team, label=label, n=n, answer=f"median {with_unit(question, median)}"), median
    top = int(np.argmax(counts))
    share = float(counts[top] / n)
    if kind == QuestionKind.SCALE:
        return TeamAnswer(team=team, label=label, n=n, answer=scale_point(question, top + 1), share=share), top + 1
    option = question.options[top].id
    return TeamAnswer(team=team, label=label, n=n, answer=question.option_label(option), share=share), option


def _typical_answers_differ(question: Question, a: object, b: object) -> bool:
    """Another modal option or scale point, or medians more than ``NUMBER_TOLERANCE`` apart
    (relative to the larger one)."""
    if question.kind == QuestionKind.NUMBER:
        fa, fb = float(a), float(b)  # type: ignore[arg-type]
        return abs(fa - fb) > NUMBER_TOLERANCE * max(abs(fa), abs(fb))
    return a != b


def team_splits(
    template: Template,
    scored: list[QuestionAnswers],
    team_of_row: list[str | None],
    min_group_size: int,
    *,
    seed: int = 0,
    permutations: int = PERMUTATIONS,
    fdr: float = FDR_LEVEL,
) -> list[TeamSplit]:
    """Every question of ``scored`` answered by at least two shown teams, in question order,
    each with all its shown teams and its pair tests (q-values over all pairs of all questions)."""
    round_shown = visible_groups(Counter(team_of_row), min_group_size)
    # teams as small integers once (the round's shown teams; -1 for the rest, pooled as None)
    shown_names = sorted(round_shown)
    number = {t: i for i, t in enumerate(shown_names)}
    team_code = np.fromiter(map(number.get, team_of_row, repeat(-1)), dtype=np.int64, count=len(team_of_row))
    out: list[TeamSplit] = []
    for pos, answers in enumerate(scored):
        q = answers.question
        row_team = team_code[answers.rows]
        counted = np.bincount(row_team + 1, minlength=len(shown_names) + 1)
        sizes: Counter[str | None] = Counter({t: int(counted[i + 1]) for i, t in enumerate(shown_names)
                                              if counted[i + 1]})
        if counted[0]:
            sizes[None] = int(counted[0])
        shown = sorted(visible_groups(sizes, min_group_size))
        if len(shown) < 2:
            continue
        codes, patterns, metric, positions = _encode(q, answers.values)
        # each shown team's pattern counts at once (a team's category counts: times ``patterns``)
        local = np.full(len(shown_names) + 1, -1, dtype=np.int64)
        local[[number[t] + 1 for t in shown]] = np.arange(len(shown))
        member_of = local[row_team + 1]
        inside = member_of >= 0
        k = len(patterns)
        pattern_counts = np.bincount(member_of[inside] * k + codes[inside],
                                     minlength=len(shown) * k).reshape(len(shown), k)
        category_counts = pattern_counts @ patterns  # integer products: exact
        values = np.asarray(answers.values, dtype=float) if q.kind == QuestionKind.NUMBER else None
        members = [np.flatnonzero(member_of == i) for i in range(len(shown))]
        lines, typical = [], []
        for i, t in enumerate(shown):
            line, key = _team_answer(q, team_label(template, t), t, len(members[i]), category_counts[i],
                                     None if values is None else values[members[i]])
            lines.append(line)
            typical.append(key)
        rng = np.random.default_rng([seed, pos])
        ia, ib = (np.array(side, dtype=np.int64) for side in zip(*combinations(range(len(shown)), 2), strict=True))
        distances = _distance(metric, category_counts[ia], category_counts[ib], positions).tolist()
        pairs = []
        for i, j, observed in zip(ia.tolist(), ib.tolist(), distances, strict=True):
            p = None
            if len(members[i]) + len(members[j]) >= LARGE_PAIR:
                p = chi_square_p_value(pattern_counts[i], pattern_counts[j])
            test = "chi-square"
            if p is None:
                p, test = permutation_test(np.concatenate([codes[members[i]], codes[members[j]]]), patterns,
                                           len(members[i]), metric, positions, observed, rng, permutations), \
                    "permutation"
            pairs.append(PairTest(team_a=shown[i], team_b=shown[j], distance=observed, p_value=p, test=test,
                                  typical_differ=_typical_answers_differ(q, typical[i], typical[j])))
        out.append(TeamSplit(question_id=q.id, prompt=q.prompt, name=q.name, metric=metric, teams=lines,
                             pairs=pairs, text=" · ".join(t.text for t in lines)))
    tests = [p for s in out for p in s.pairs]
    if tests:
        qs = benjamini_hochberg(np.array([p.p_value for p in tests]))
        for p, qv in zip(tests, qs, strict=True):
            p.q_value = float(qv)
    for split in out:
        for p in split.pairs:
            p.flagged = bool(p.q_value is not None and p.q_value <= fdr and p.typical_differ
                             and p.distance >= MIN_DISTANCE[split.metric])
        flagged = [p for p in split.pairs if p.flagged]
        split.flagged = bool(flagged)
        split.distance = max(p.distance for p in (flagged or split.pairs))
        split.q_value = min((p.q_value for p in split.pairs if p.q_value is not None), default=None)
    return out


def flagged_splits(splits: list[TeamSplit]) -> list[TeamSplit]:
    """The questions with a flagged split, largest flagged distance first (question order on ties)."""
    return sorted((s for s in splits if s.flagged), key=lambda s: -s.distance)
