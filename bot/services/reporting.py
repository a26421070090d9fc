"""The alignment report of a stored round, as survey/ computes it.

Anonymity over time (``survey.snapshot``): while a round is open the report uses only the
first ``floor(f / m) * m`` respondents to finish (m = the workspace's ``min_group_size``), so
two reports read a few answers apart never differ by fewer than m people, and team figures
wait for the close. A closed round counts every respondent with an answer and states how many
finished ("11 respondents, 10 finished"), as ``/icp-check status`` counts them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from storage import answers, rounds, send_log, templates, workspaces
from storage.db import Database
from storage.models import SurveyRound
from survey.answers import Response
from survey.snapshot import Snapshot, closed_round_snapshot, open_round_snapshot
from survey.template import Template

if TYPE_CHECKING:  # survey's numeric modules load numpy and scipy: not at start-up
    from survey.report import AlignmentReport


@dataclass
class RoundReport:
    round: SurveyRound
    template: Template
    report: AlignmentReport
    previous_score: float | None


def report_inputs(session, rnd: SurveyRound, template: Template, min_group: int) -> tuple[list[Response], Snapshot]:
    """The responses a round's report may use, and the snapshot that says which.

    Open round: the finished respondents in steps of ``min_group`` (``open_round_snapshot``);
    closed: everyone with an answer. Exports use the same inputs.
    """
    responses = answers.responses_for_round(session, rnd.id, template)
    finished_at = {p.pseudonym: p.completed_at for p in rounds.list_participants(session, rnd.id)}
    if rnd.status == "open":
        return open_round_snapshot(responses, finished_at, min_group)
    finished = sum(1 for r in responses if finished_at.get(r.respondent) is not None)
    return responses, closed_round_snapshot(responses, finished)


def _build(template: Template, responses: list[Response], snapshot: Snapshot, min_group: int,
           bootstrap: int) -> AlignmentReport:
    from survey.report import build_report
    return build_report(template, responses, min_group_size=min_group, bootstrap=bootstrap,
                        finished=snapshot.finished, snapshot=snapshot)


_CLOSED_SCORES: dict[tuple, float | None] = {}
"""(database, round id, opened and closed at, threshold) -> score of a closed round: answers are refused after close, so a
closed round's score never changes; App Home and the trend read it on every open."""
_CLOSED_SCORES_MAX = 4096


def _score(session, rnd: SurveyRound, min_group: int) -> float | None:
    """A round's alignment score alone (no bootstrap): for trends."""
    key = (str(session.get_bind().url), rnd.id, rnd.opened_at, rnd.closed_at, min_group)
    if rnd.status == "closed" and key in _CLOSED_SCORES:
        return _CLOSED_SCORES[key]
    template = templates.get_template(session, rnd.template_id)
    responses, snapshot = report_inputs(session, rnd, template, min_group)
    score = _build(template, responses, snapshot, min_group, 0).score
    if rnd.status == "closed":
        if len(_CLOSED_SCORES) >= _CLOSED_SCORES_MAX:
            _CLOSED_SCORES.clear()
        _CLOSED_SCORES[key] = score
    return score


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
        responses, snapshot = report_inputs(session, rnd, template, min_group)
        earlier = [r for r in rounds.list_rounds(session, team_id, status="closed", limit=10)
                   if r.id != rnd.id and r.opened_at < rnd.opened_at]
        previous_score = _score(session, earlier[0], min_group) if earlier else None
    report = _build(template, responses, snapshot, min_group, bootstrap)
    return RoundReport(round=rnd, template=template, report=report, previous_score=previous_score)


def _post_key(team_id: str, round_id: int, channel: str) -> str:
    return f"post-report:{team_id}:{round_id}:{channel}"


def claim_post(db: Database, team_id: str, round_id: int, channel: str, user_id: str, now) -> bool:
    """True for the first "Post to this channel" of a round's report in a channel."""
    with db.session() as session:
        return send_log.claim(session, _post_key(team_id, round_id, channel), kind="post-report", team_id=team_id,
                              target=channel, at=now)


def release_post(db: Database, team_id: str, round_id: int, channel: str) -> None:
    """The post failed (Slack refused it): the button may be used again."""
    with db.session() as session:
        send_log.forget(session, _post_key(team_id, round_id, channel))
