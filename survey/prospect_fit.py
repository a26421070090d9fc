"""Bulk fit: a prospect list scored against the ICP and written back, row for row.

The list is read like a customer export (``survey.customers``, revenue not needed); each row
is scored with ``survey.profile.score_fit`` and written back with every original cell as it
was, plus the columns ``FIT_COLUMNS``: the score 0-100 (blank when no trait of the profile is
known), the verdict, the traits that match, those that miss (with what the ICP expects) and
any walk-away sign, each as the answer reads ("51-200 employees"). Columns of these names already in the file (a list scored before) are
replaced, so scoring a scored list again gives the same file.
"""

from __future__ import annotations

import csv
from typing import TextIO

from survey.customers import CustomerImport
from survey.profile import FitResult, IcpProfile, score_fit
from survey.template import Template

FIT_COLUMNS = ("icp_score", "icp_verdict", "icp_matches", "icp_misses", "icp_walk_away")


def score_prospects(prospects: CustomerImport, profile: IcpProfile, template: Template) -> list[FitResult]:
    """One fit result per row of the list, in the file's order."""
    return [score_fit(profile, template, row.customer.traits) for row in prospects.rows]


def fit_cells(fit: FitResult) -> dict[str, str]:
    """The added cells of one row."""
    return {
        "icp_score": "" if fit.score is None else str(fit.score),
        "icp_verdict": fit.verdict,
        "icp_matches": "; ".join(m.actual for m in fit.matches),
        "icp_misses": "; ".join(f"{m.actual} (ICP: {m.expected})" for m in fit.misses),
        "icp_walk_away": "; ".join(fit.disqualifiers_hit),
    }


def write_scored(out: TextIO, prospects: CustomerImport, fits: list[FitResult]) -> None:
    """The list as read, with the fit columns appended (or replaced)."""
    header = [h for h in prospects.header if h not in FIT_COLUMNS] + list(FIT_COLUMNS)
    writer = csv.DictWriter(out, fieldnames=header, lineterminator="\n", extrasaction="ignore")
    writer.writeheader()
    for row, fit in zip(prospects.rows, fits, strict=True):
        writer.writerow({**row.cells, **fit_cells(fit)})
