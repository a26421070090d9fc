"""What "agreed" means: one stated rule per report, named in it.

Two rules, declared by the template (``consensus_rule``) or overridden per report:

- ``index``: the question's agreement index is 0.70 or more, the convention for r_WG-type
  indices (LeBreton & Senter 2008) applied to every index of ``survey.agreement``;
- ``share``: the Delphi literature's percent-agreement rule, the most common definition of
  consensus there (Diamond et al. 2014, J Clin Epidemiol 67:401-409, median threshold 75%):
  at least 75% give the same answer. Per kind: single, the modal option's share >= 75%;
  multi, some option chosen by >= 75%; number, >= 75% of answers within +-25% of the
  median; scale, >= 70% on one side of the midpoint (the points above it, or below it),
  the "top or bottom band" reading used for Likert items in Delphi panels.
"""

from __future__ import annotations

from typing import Literal

import numpy as np

from survey.agreement import AGREEMENT_THRESHOLD, ItemAgreement
from survey.template import Question, QuestionKind

ConsensusRule = Literal["index", "share"]

SHARE_THRESHOLD = 0.75
"""Delphi percent agreement on one answer (Diamond et al. 2014: median of the studies)."""

SCALE_BAND_THRESHOLD = 0.70
"""Delphi consensus on a scale: this share in the top band or in the bottom band."""

RULE_TEXT = {
    "index": f"agreed = agreement index of {AGREEMENT_THRESHOLD:.2f} or more (the usual convention, "
    "LeBreton & Senter 2008)",
    "share": f"agreed = at least {SHARE_THRESHOLD:.0%} give the same answer (scales: "
    f"{SCALE_BAND_THRESHOLD:.0%} on one side), the Delphi share rule (Diamond et al. 2014)",
}


def band_shares(question: Question, item: ItemAgreement) -> tuple[float, float] | None:
    """Shares of answers below and above the scale's midpoint (the bottom and top bands)."""
    if question.kind != QuestionKind.SCALE or not item.n:
        return None
    points = question.points or 2
    mid = (points + 1) / 2
    counts = np.array([item.counts.get(str(p), 0) for p in range(1, points + 1)], dtype=float)
    x = np.arange(1, points + 1)
    return float(counts[x < mid].sum() / item.n), float(counts[x > mid].sum() / item.n)


def share_agreed(question: Question, item: ItemAgreement) -> bool | None:
    """The Delphi share rule on one question (see the module docstring); None with no answer."""
    if not item.n:
        return None
    kind = question.kind
    if kind == QuestionKind.SCALE:
        low, high = band_shares(question, item) or (0.0, 0.0)
        return max(low, high) >= SCALE_BAND_THRESHOLD
    if kind == QuestionKind.MULTI:
        return max(item.counts.values(), default=0) / item.n >= SHARE_THRESHOLD
    if item.consensus_share is None:
        return None
    return item.consensus_share >= SHARE_THRESHOLD


def is_agreed(rule: ConsensusRule, question: Question, item: ItemAgreement, index: float | None) -> bool | None:
    """Whether a scored question is agreed under ``rule``; None when it has no index."""
    if index is None:
        return None
    if rule == "share":
        return share_agreed(question, item)
    return index >= AGREEMENT_THRESHOLD
