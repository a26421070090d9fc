"""StrategyCheck pulses: one question between full rounds, on the trait the team split on most.

A pulse asks a question people answer with one click: a ``single`` or ``scale`` trait of the
ICP. The topic is the one the last round split on most: a question with a flagged team split
first (largest distance), else the lowest agreement below the agreement threshold; a round
where every trait is agreed has no pulse topic.

After answering, a person sees how the team answered so far (the Delphi method's controlled
feedback), only once at least ``min_group_size`` people have answered.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

from survey.report import AlignmentReport
from survey.template import QuestionKind, Template

ONE_CLICK_KINDS = (QuestionKind.SINGLE, QuestionKind.SCALE)
MAX_BUTTONS = 10


@dataclass(frozen=True)
class PulseTopic:
    question_id: str
    prompt: str
    teams: tuple[str, ...]  # the teams that split on it, when the split was flagged
    agreement: float


def one_click_options(template: Template, question_id: str) -> list[tuple[str, str]]:
    """(value, label) of each answer, as buttons."""
    question = template.question(question_id)
    if question.kind == QuestionKind.SCALE:
        points = question.points or 0
        labels = {1: f"1 {question.low_label}", points: f"{points} {question.high_label}"}
        return [(str(p), labels.get(p, str(p))) for p in range(1, points + 1)]
    return [(o.id, o.label) for o in question.options]


def pick_topic(report: AlignmentReport, template: Template) -> PulseTopic | None:
    """The question a pulse should ask after ``report`` (see the module docstring)."""
    if report.hidden:
        return None
    candidates = {q.id: q for q in report.questions
                  if not q.hidden and q.agreement is not None and q.kind in ONE_CLICK_KINDS and q.role == "trait"
                  and template.has_question(q.id) and len(one_click_options(template, q.id)) <= MAX_BUTTONS}
    flagged = sorted((s for s in report.splits if s.flagged and s.question_id in candidates),
                     key=lambda s: (-s.distance, s.question_id))
    if flagged:
        split = flagged[0]
        labels = {t.team: t.label for t in split.teams}
        pair = max((p for p in split.pairs if p.flagged), key=lambda p: p.distance, default=None)
        teams = (labels.get(pair.team_a, pair.team_a), labels.get(pair.team_b, pair.team_b)) if pair else ()
        question = candidates[split.question_id]
        return PulseTopic(question.id, question.name or question.prompt, teams, float(question.agreement or 0))
    below = [q for q in candidates.values() if (q.agreement or 0) < report.agreement_threshold]
    if not below:
        return None
    question = min(below, key=lambda q: (q.agreement, q.id))
    return PulseTopic(question.id, question.name or question.prompt, (), float(question.agreement or 0))


def feedback(template: Template, question_id: str, answers: Iterable[str], min_group_size: int) -> list[tuple[str, float]] | None:
    """(label, share) of each answer given so far, most chosen first; None below the threshold."""
    counted = Counter(answers)
    total = sum(counted.values())
    if total < min_group_size:
        return None
    labels = dict(one_click_options(template, question_id))
    return [(labels.get(value, value), n / total) for value, n in counted.most_common()]
