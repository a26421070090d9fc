"""A closed round's report goes to the digest channel, once.

Every scheduler run looks at the full rounds closed in the last ``WINDOW`` (by the scheduler or
by a leader) and enqueues the report of each one that has none yet, under the key
``<team>:close-report:<channel>:round-<id>``: a crash between the close and the post only
delays it to the next run. The report is the channel version: no free-text quotes unless the
template says so.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select

from bot.services.reporting import round_report
from bot.views import report_blocks
from bot.views.text import escape
from storage import outbox, workspaces
from storage.db import Database
from storage.models import SurveyRound

WINDOW = timedelta(days=7)


def enqueue_close_reports(db: Database, now: datetime) -> int:
    """Enqueue the report of each recently closed round to its workspace's digest channel."""
    with db.session(read_only=True) as session:
        closed = session.execute(
            select(SurveyRound.id, SurveyRound.team_id).where(
                SurveyRound.status == "closed", SurveyRound.kind == "full",
                SurveyRound.closed_at.is_not(None), SurveyRound.closed_at >= now - WINDOW)
        ).all()
        channels = {team_id: workspaces.settings_of(session, team_id) for _, team_id in closed}
        todo = []
        for round_id, team_id in closed:
            settings = channels[team_id]
            if not settings.digest_channel:
                continue
            key = f"{team_id}:close-report:{settings.digest_channel}:round-{round_id}"
            if outbox.find(session, key) is None:
                todo.append((round_id, team_id, settings, key))
    added = 0
    for round_id, team_id, settings, key in todo:
        result = round_report(db, team_id, round_id, bootstrap=0)
        if result is None:
            continue
        blocks = report_blocks.report_blocks(result.report, result.round.title, previous_score=result.previous_score,
                                             for_channel=True)
        with db.session() as session:
            added += outbox.enqueue(
                session, key=key, team_id=team_id, kind="close-report", method="chat.postMessage",
                target=settings.digest_channel, round_id=round_id, notify_user=settings.digest_set_by, at=now,
                payload={"args": {"channel": settings.digest_channel,
                                  "text": f"ICP alignment report: {escape(result.round.title)} (closed)",
                                  "blocks": [b.to_dict() for b in blocks]}})
    return added
