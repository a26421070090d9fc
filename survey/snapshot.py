"""Figures of an open round, refreshed only in steps that keep differencing safe.

A report read at 3 finished respondents and again at 4 shows, by subtraction, what the 4th
answered. So while a round is open the report is computed on the first
``floor(f / m) * m`` respondents to finish (f finished so far, m = ``min_group_size``), in
order of finishing: its figures change only when m more people have finished, and any two
reports of the round differ by at least m people. Those who started but have not finished
are left out until the round closes; team comparisons wait for the close too, because a
team's figures could still change by one person between two steps. Once the round is
closed every respondent with an answer counts (partial answers included) and the report says
how many of them finished.

Residual, stated in the report: a finished respondent who edits their answers while the round
is open changes the figures of the current step.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime

from pydantic import BaseModel

from survey.answers import Response


class Snapshot(BaseModel):
    """Which respondents an open round's figures use, and when they refresh next."""

    open: bool
    finished: int
    """Respondents who have finished so far."""
    used: int
    """Respondents the figures are computed on."""
    step: int
    next_refresh_at: int | None = None
    """The number of finished respondents at which the figures refresh next (open rounds)."""

    def note(self) -> str:
        """One line for the report."""
        if not self.open:
            return ""
        text = (f"Round still open: figures use the first {self.used} of {self.finished} finished "
                f"answers and refresh in steps of {self.step}")
        if self.next_refresh_at is not None:
            text += f" (next at {self.next_refresh_at} finished)"
        return text + ", so no one's answers can be worked out by comparing two reports. " \
            "Team comparisons come when the round closes."


def open_round_snapshot(
    responses: Sequence[Response], finished_at: Mapping[str, datetime | None], step: int
) -> tuple[list[Response], Snapshot]:
    """The respondents an open round's report may use, and the snapshot to state.

    ``finished_at`` maps a respondent label to when they finished (None or absent: not yet).
    Keeps the first ``floor(f / step) * step`` finished respondents by finishing time (ties by
    label); ``step`` is the round's ``min_group_size``.
    """
    if step < 1:
        raise ValueError("step must be at least 1")
    done = [r for r in responses if finished_at.get(r.respondent) is not None]
    done.sort(key=lambda r: (finished_at[r.respondent], r.respondent))
    used = len(done) // step * step
    kept = done[:used]
    return kept, Snapshot(open=True, finished=len(done), used=used, step=step,
                          next_refresh_at=used + step)


def closed_round_snapshot(responses: Sequence[Response], finished: int) -> Snapshot:
    """A closed round: every respondent with an answer counts."""
    return Snapshot(open=False, finished=finished, used=len(responses), step=1)
