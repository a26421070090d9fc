"""The alignment report of a stored round, as survey/ computes it."""

from __future__ import annotations

from dataclasses import dataclass

from storage import answers as answer_store
from storage import rounds, templates, workspaces
from storage.db import Database
from storage.models import SurveyRound
from survey.report import AlignmentReport, build_report
from survey.template import Template


@dataclass
class RoundReport:
    round: SurveyRound
    template: Template
    report: AlignmentReport
    previous_score: float | None


def _score(session, rnd: SurveyRound, min_group: int) -> float | None:
    """A round's alignment score alone (no bootstrap): for trends."""
    template = templates.get_template(session, rnd.template_id)
    responses = answer_store.responses_for_round(session, rnd.id, template)
    return build_report(template, responses, min_group_size=min_group, bootstrap=0).score


def _min_group(session, team_id: str) -> int:
    workspace = workspaces.get_workspace(session, team_id)
    return workspace.min_group_size if workspace else 3


def score_trend(db: Database, team_id: str, limit: int = 5) -> list[tuple[str, float | None]]:
    """(title, score) of the latest ``limit`` closed rounds, oldest first."""
    with db.session(read_only=True) as session:
        min_group = _min_group(session, team_id)
        closed = rounds.list_rounds(session, team_id, status="closed", limit=limit)
        return [(rnd.title, _score(session, rnd, min_group)) for rnd in reversed(closed)]


def round_report(db: Database, team_id: str, round_id: int | None = None, *, bootstrap: int = 1000) -> RoundReport | None:
    """The report of ``round_id`` (default: the latest round), None when there is no such round
    in this workspace. The previous closed round's score gives the trend."""
    with db.session(read_only=True) as session:
        rnd = rounds.get_round(session, round_id) if round_id is not None else rounds.latest_round(session, team_id)
        if rnd is None or rnd.team_id != team_id:
            return None
        min_group = _min_group(session, team_id)
        template = templates.get_template(session, rnd.template_id)
        responses = answer_store.responses_for_round(session, rnd.id, template)
        earlier = [r for r in rounds.list_rounds(session, team_id, status="closed", limit=10)
                   if r.id != rnd.id and r.opened_at < rnd.opened_at]
        previous_score = _score(session, earlier[0], min_group) if earlier else None
    report = build_report(template, responses, min_group_size=min_group, bootstrap=bootstrap)
    return RoundReport(round=rnd, template=template, report=report, previous_score=previous_score)
