"""The weekly alignment digest: when it is due, and putting it in the outbox.

Each workspace with a digest channel gets one digest per local week, at its weekday and
time in the workspace's time zone. The scheduler's run enqueues it under the key
``<team>:digest:<channel>:<ISO year>-W<week>`` once the moment has passed, so a run that comes
late (a restart, a misfire) still posts it, and a second run or a second replica does not
post it again. ``digest now`` posts one at once under its own key.

The chart: the digest message carries Slack's native ``data_visualization`` charts. With
``CHART_PNG`` (``ICP_DIGEST_CHART_PNG=1``, read by ``icp-bot run``) its thread also gets the same
figures as a PNG once it is out (``bot.charts``, files upload v2 with alt text), for clients and
exports that do not draw native charts. Off by default: the native charts already say it all in
the message, and the PNG costs matplotlib in the scheduler's run (seconds to import, a fraction
to draw), a second message and the ``files:write`` scope that older installations may lack. A
hidden digest (too few answers) has no chart either way.
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from datetime import datetime, time, timedelta

from slack_sdk.models.blocks import SectionBlock
from sqlalchemy.orm import Session

from bot.services.customer_reality import customer_reality
from bot.services.profiles import load_icp
from bot.views.digest_blocks import digest_message
from bot.views.text import escape, mrkdwn
from bot.working_hours import last_weekly
from storage import answers, locks, outbox, rounds, templates, workspaces
from storage.db import Database
from storage.workspaces import WorkspaceSettings

LATE_LIMIT = timedelta(days=6)  # a digest missed for longer than this gives way to next week's


TREND_ROUNDS = 6
CHART_PNG = False  # the PNG in the digest's thread; icp-bot run sets it from ICP_DIGEST_CHART_PNG


def compose(db: Database, team_id: str) -> tuple[str, list[dict]]:
    """The digest's text and blocks: the workspace's latest full round against the ones
    before it, and against the ratified ICP (``survey.digest``)."""
    text, blocks, _ = compose_with_chart(db, team_id, chart=False)
    return text, blocks


def compose_with_chart(db: Database, team_id: str, *, chart: bool | None = None
                       ) -> tuple[str, list[dict], dict | None]:
    """``compose``, plus the chart PNG for the digest's thread when ``chart`` (default:
    ``CHART_PNG``) and the digest has one (not hidden, a trait to draw): ``{"png_b64",
    "alt_text"}``, JSON for an outbox row."""
    if chart is None:
        chart = CHART_PNG
    from survey.digest import (  # numpy and scipy: not at start-up
        DigestRound,
        Participation,
        build_digest,
    )
    from survey.report import build_report

    with db.session(read_only=True) as session:
        min_group = workspaces.settings_of(session, team_id).min_group_size
        recent = list(reversed(rounds.list_rounds(session, team_id, limit=TREND_ROUNDS)))
        digest_rounds, responses, template, participation = [], [], None, Participation(invited=0, finished=0)
        for rnd in recent:
            template = templates.get_template(session, rnd.template_id)
            responses = answers.responses_for_round(session, rnd.id, template)
            report = build_report(template, responses, min_group_size=min_group, bootstrap=0)
            digest_rounds.append(DigestRound(title=rnd.title, date=rnd.opened_at.date(), report=report))
        if recent:
            counts = rounds.participation(session, recent[-1].id)
            participation = Participation(invited=counts.invited, finished=counts.completed)
        loaded = load_icp(session, team_id)
    if not digest_rounds:
        text = "ICP alignment digest: no survey round yet. A leader starts one with /icp-check start."
        return text, [SectionBlock(text=mrkdwn(text)).to_dict()], None
    profile, profile_template = (loaded[0], loaded[1].template) if loaded else (None, None)
    same_template = profile_template is not None and template is not None and profile_template.id == template.id
    built = build_digest(digest_rounds, participation, responses=responses,
                         profile=profile if same_template else None, template=template)
    message = digest_message(built)
    blocks = message["blocks"]
    gap = _reality_gap(db, team_id)
    if gap:  # before the closing context line
        blocks.insert(max(0, len(blocks) - 1), SectionBlock(text=mrkdwn(f"*Perception and reality*: {escape(gap)}"),
                                                            block_id="digest_reality").to_dict())
    return message["text"], blocks, _chart(built) if chart else None


def _chart(built) -> dict | None:
    from bot.charts import digest_chart  # matplotlib: only when a digest is drawn

    image = digest_chart(built)
    if image is None:
        return None
    return {"png_b64": base64.b64encode(image.png).decode("ascii"), "alt_text": image.alt_text}


def _reality_gap(db: Database, team_id: str) -> str | None:
    """The trait where the staff's picture and the top customers differ most, where a customer
    list is imported (no customer is named)."""
    found = customer_reality(db, team_id, personas=False)
    if found.comparison is None:
        return None
    from survey.reality_format import gap_sentence  # the customer stack: not at start-up

    return gap_sentence(found.comparison)


def _enqueue(session: Session, db: Database, settings: WorkspaceSettings, key: str, now: datetime) -> bool:
    assert settings.digest_channel
    text, blocks, chart = compose_with_chart(db, settings.team_id)
    payload: dict = {"args": {"channel": settings.digest_channel, "text": text, "blocks": blocks}}
    if chart is not None:  # uploaded in the digest's thread once the digest is out (bot.outbox)
        payload["chart"] = chart
    return outbox.enqueue(session, key=key, team_id=settings.team_id, kind="digest", method="chat.postMessage",
                          target=settings.digest_channel, notify_user=settings.digest_set_by, at=now,
                          payload=payload)


def period_of(moment: datetime, settings: WorkspaceSettings) -> str:
    year, week, _ = moment.astimezone(settings.tz).isocalendar()
    return f"{year}-W{week:02d}"


def enqueue_due_digests(db: Database, now: datetime, on_enqueued: Callable[[], None] | None = None) -> int:
    """Enqueue every digest whose weekly moment has passed this week; how many were new.
    ``on_enqueued`` is called after each one commits (the outbox sends it while the next
    ones are composed).

    Several processes may run this at once (``bot.scheduler``: the housekeeping run and every
    other worker): each digest is claimed by its key (``storage.locks``) for the transaction
    that composes and enqueues it, so each process composes the ones nobody else is on, and
    a digest another process has just enqueued is seen after the claim and left alone."""
    with db.session(read_only=True) as session:
        due = [workspaces.settings_of(session, w.team_id) for w in workspaces.list_workspaces(session)
               if w.digest_channel]
    added = 0
    for settings in due:
        hour, minute = (int(x) for x in settings.digest_time.split(":"))
        moment = last_weekly(now, settings.tz, settings.digest_weekday, time(hour, minute))
        if now - moment > LATE_LIMIT:
            continue
        key = f"{settings.team_id}:digest:{settings.digest_channel}:{period_of(moment, settings)}"
        with db.session(read_only=True) as session:
            if outbox.find(session, key) is not None:
                continue
        with db.session() as session:
            if not locks.try_claim(session, key):  # another process is composing it
                continue
            new = outbox.find(session, key) is None and _enqueue(session, db, settings, key, now)
        added += new
        if new and on_enqueued is not None:
            on_enqueued()
    return added


def enqueue_now(db: Database, team_id: str, requested_by: str, now: datetime) -> bool:
    """``digest now``: one digest at once; False when no digest channel is set."""
    with db.session(read_only=True) as session:
        settings = workspaces.settings_of(session, team_id)
    if not settings.digest_channel:
        return False
    with db.session() as session:
        return _enqueue(session, db, settings, f"{team_id}:digest:{settings.digest_channel}:now-{now.timestamp():.0f}",
                        now)
