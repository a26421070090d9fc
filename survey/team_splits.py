"""Teams in a round: who is in which team, team sizes, and where two teams answer apart.

A respondent's team is the one a leader assigned (``Response.team``), else their answer to
the template's team question. For every closed question answered by at least two teams of
``min_group_size`` people or more, each pair of teams gets the Jensen-Shannon distance
(base 2) between their answer distributions: over the options (single, multi: how many
chose each), the scale points, or, for numbers, the four bins cut at the quartiles of all
answers to the question.

A split is flagged when the distance reaches ``SPLIT_THRESHOLD`` *and* the two teams'
typical answers differ (another modal option or scale point, or medians more than
``NUMBER_TOLERANCE`` apart): with teams of 5-10 people the distance alone runs high on
sampling noise, and "51-200 (75%) / 51-200 (70%)" is no split a leader can act on.
"""

from __future__ import annotations

from collections import Counter
from itertools import combinations

import numpy as np
from pydantic import BaseModel

from survey.agreement import NUMBER_TOLERANCE, js_distance
from survey.answer_labels import scale_point, with_unit
from survey.answers import Response
from survey.question_answers import QuestionAnswers
from survey.template import Question, QuestionKind, Template

SPLIT_THRESHOLD = 0.30
"""Jensen-Shannon distance (base 2) from which two teams' answers are flagged as split."""

OTHER_TEAMS = "other (small teams)"
UNASSIGNED = "unassigned"


class TeamSplit(BaseModel):
    question_id: str
    prompt: str
    team_a: str
    team_b: str
    distance: float
    flagged: bool
    a_answer: str
    a_share: float
    b_answer: str
    b_share: float
    text: str


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


def team_sizes(team_of_row: list[str | None], min_group_size: int) -> dict[str, int]:
    """Team -> respondents, teams below ``min_group_size`` folded into ``OTHER_TEAMS`` and
    respondents without a team counted under ``UNASSIGNED``."""
    sizes = Counter(t for t in team_of_row if t)
    teams = {t: c for t, c in sorted(sizes.items()) if c >= min_group_size}
    small = sum(c for c in sizes.values() if c < min_group_size)
    if small:
        teams[OTHER_TEAMS] = small
    unassigned = sum(1 for t in team_of_row if not t)
    if unassigned:
        teams[UNASSIGNED] = unassigned
    return teams


def _split_profile(question: Question, answers: QuestionAnswers, mask: np.ndarray, edges: np.ndarray):
    """(distribution for the JSD, modal answer text, its share, typical answer) of one team."""
    values = [v for v, keep in zip(answers.values, mask, strict=True) if keep]
    n = len(values)
    kind = question.kind
    if kind == QuestionKind.SINGLE:
        ids = [o.id for o in question.options]
        counts = np.array([values.count(i) for i in ids], dtype=float)
        top = int(np.argmax(counts))
        return counts, question.option_label(ids[top]), counts[top] / n, ids[top]
    if kind == QuestionKind.MULTI:
        ids = [o.id for o in question.options]
        counts = np.array([sum(1 for v in values if i in v) for i in ids], dtype=float)
        top = int(np.argmax(counts))
        return counts, question.option_label(ids[top]), counts[top] / n, ids[top]
    if kind == QuestionKind.SCALE:
        counts = np.bincount(np.asarray(values) - 1, minlength=question.points or 2).astype(float)
        top = int(np.argmax(counts))
        return counts, scale_point(question, top + 1), counts[top] / n, top + 1
    x = np.asarray(values, dtype=float)
    counts = np.bincount(np.searchsorted(edges, x, side="left"), minlength=4).astype(float)
    median = float(np.median(x))
    share = float(np.mean(np.abs(x - median) <= NUMBER_TOLERANCE * abs(median)))
    return counts, with_unit(question, median), share, median


def _typical_answers_differ(question: Question, a: object, b: object) -> bool:
    """Whether two teams' typical answers differ: another modal option or scale point, or
    medians more than ``NUMBER_TOLERANCE`` apart (relative to the larger one)."""
    if question.kind == QuestionKind.NUMBER:
        fa, fb = float(a), float(b)  # type: ignore[arg-type]
        return abs(fa - fb) > NUMBER_TOLERANCE * max(abs(fa), abs(fb))
    return a != b


def team_splits(
    template: Template,
    scored: list[QuestionAnswers],
    team_of_row: list[str | None],
    min_group_size: int,
) -> list[TeamSplit]:
    """Every pair of eligible teams on every question in ``scored``, flagged or not, in
    question order, then team pairs in sorted order."""
    out: list[TeamSplit] = []
    for answers in scored:
        q = answers.question
        teams = np.array([team_of_row[r] or "" for r in answers.rows], dtype=object)
        sizes = Counter(t for t in teams if t)
        eligible = sorted(t for t, c in sizes.items() if c >= min_group_size)
        if len(eligible) < 2:
            continue
        edges = (
            np.quantile(np.asarray(answers.values, dtype=float), [0.25, 0.5, 0.75])
            if q.kind == QuestionKind.NUMBER
            else np.zeros(0)
        )
        profiles = {t: _split_profile(q, answers, teams == t, edges) for t in eligible}
        for a, b in combinations(eligible, 2):
            (pa, a_ans, a_share, a_key), (pb, b_ans, b_share, b_key) = profiles[a], profiles[b]
            distance = js_distance(pa, pb)
            la, lb = team_label(template, a), team_label(template, b)
            out.append(
                TeamSplit(
                    question_id=q.id,
                    prompt=q.prompt,
                    team_a=a,
                    team_b=b,
                    distance=distance,
                    flagged=distance >= SPLIT_THRESHOLD and _typical_answers_differ(q, a_key, b_key),
                    a_answer=a_ans,
                    a_share=float(a_share),
                    b_answer=b_ans,
                    b_share=float(b_share),
                    text=f"{la}: {a_ans} ({a_share:.0%}) / {lb}: {b_ans} ({b_share:.0%})",
                )
            )
    return out


def flagged_splits(
    template: Template,
    scored: list[QuestionAnswers],
    team_of_row: list[str | None],
    min_group_size: int,
) -> list[TeamSplit]:
    """The flagged team splits, largest distance first (ties keep ``team_splits`` order)."""
    splits = team_splits(template, scored, team_of_row, min_group_size)
    return sorted((s for s in splits if s.flagged), key=lambda s: -s.distance)
