"""Fan-out to a round's participants: invitations, reminders, and closed notices.

Invitations go into the outbox (``storage.outbox``, sent by ``bot.outbox``) in the same
transaction as the round. Reminders are claimed in the send log under a unique key
(``remind:<round>:<user>:<n>``) before they are sent, so a retried request, a double click
or a second process never sends them twice (``bot.services.delivery``).
Fan-out is paced to Slack's posting rate; people Slack cannot reach (deactivated, unknown)
are skipped and counted for the leader, never retried forever.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from sqlalchemy.orm import Session

from bot.pacing import Pacer
from bot.services.delivery import claim_or_take_over, record_failure
from bot.views import messages
from storage import answers, outbox, rounds, send_log, templates
from storage.db import Database
from storage.models import SurveyRound
from survey.template import Template

log = logging.getLogger(__name__)


@dataclass
class FanOut:
    sent: int = 0
    already: int = 0
    unreachable: list[str] = field(default_factory=list)
    failed: int = 0

    def count_failure(self, user_id: str, unreachable: bool, what: str, exc: SlackApiError) -> None:
        if unreachable:
            self.unreachable.append(user_id)
        else:
            self.failed += 1
            log.warning("%s failed: %s", what, exc.response.get("error"))


def enqueue_invitations(session: Session, rnd: SurveyRound, template: Template, user_ids: list[str], *,
                        notify_user: str | None, now: datetime, due: dict[str, datetime] | None = None) -> int:
    """Put one invitation per person in the outbox, in the caller's unit of work (the one that
    creates the round), due at ``due[user]`` (default now); how many were new. The sender
    marks each person invited when Slack has the DM."""
    text, blocks = messages.invite_blocks(rnd.id, rnd.title, template.minutes, rnd.closes_at)
    rendered = [block.to_dict() for block in blocks]
    return outbox.enqueue_all(session, [
        {"key": f"{rnd.team_id}:invite:{user_id}:round-{rnd.id}", "team_id": rnd.team_id, "kind": "invite",
         "method": "chat.postMessage", "target": user_id, "round_id": rnd.id, "notify_user": notify_user,
         "due_at": (due or {}).get(user_id, now),
         "payload": {"args": {"channel": user_id, "text": text, "blocks": rendered}, "user_id": user_id}}
        for user_id in dict.fromkeys(user_ids)], at=now)


def send_reminders(db: Database, client: WebClient, round_id: int, *, now: datetime,
                   pacer: Pacer | None = None, only_due: bool = False) -> FanOut:
    """Remind those who have not finished: at most ``max_reminders`` each, never after close.

    A leader's ``/icp-check remind`` reminds everyone pending at once; the scheduler passes
    ``only_due`` to remind only those whose last contact is ``reminder_interval_hours`` old.
    Both share the keys ``remind:<round>:<user>:<n>``, so they never double a reminder.
    """
    outcome = FanOut()
    with db.session() as session:
        rnd = rounds.require_round(session, round_id)
        if not rnd.is_open or (rnd.closes_at is not None and rnd.closes_at <= now):
            return outcome
        template = templates.get_template(session, rnd.template_id)
        if only_due:
            pending = rounds.due_for_reminder(session, round_id, now)
        else:
            pending = [p for p in rounds.pending_participants(session, round_id)
                       if p.reminders_sent < rnd.max_reminders]
        started = {p.user_id for p in pending if answers.answers_of(session, round_id, p.user_id)}
    for participant in pending:
        user_id = participant.user_id
        key = f"remind:{round_id}:{user_id}:{participant.reminders_sent + 1}"
        if not claim_or_take_over(db, key, kind="reminder", team_id=rnd.team_id, target=user_id, now=now):
            outcome.already += 1
            continue
        if pacer:
            pacer.wait(f"{rnd.team_id}:chat.postMessage")
        text, blocks = messages.reminder_blocks(round_id, rnd.title, template.minutes, rnd.closes_at,
                                                started=user_id in started)
        try:
            response = client.chat_postMessage(channel=participant.dm_channel or user_id, text=text, blocks=blocks)
        except SlackApiError as exc:
            outcome.count_failure(user_id, record_failure(db, key, exc), f"reminder of round {round_id}", exc)
            continue
        with db.session() as session:
            send_log.mark_sent(session, key, channel=response["channel"], ts=response["ts"], at=now)
            rounds.record_reminder(session, round_id, user_id, at=now)
        outcome.sent += 1
    return outcome


def refresh_invitations_after_close(db: Database, client: WebClient, round_id: int, pacer: Pacer | None = None) -> int:
    """Turn every invitation and receipt of a closed round into a closed notice (no buttons)."""
    with db.session() as session:
        rnd = rounds.require_round(session, round_id)
        targets = [(p.dm_channel, p.invite_ts, p.completed_at is not None)
                   for p in rounds.list_participants(session, round_id) if p.invite_ts and p.dm_channel]
    updated = 0
    for channel, ts, completed in targets:
        if pacer:
            pacer.wait(f"{rnd.team_id}:chat.update")
        if completed:
            text, blocks = messages.receipt_blocks(round_id, rnd.title, rnd.closes_at, open_=False)
        else:
            text, blocks = messages.closed_blocks(rnd.title)
        try:
            client.chat_update(channel=channel, ts=ts, text=text, blocks=blocks)
            updated += 1
        except SlackApiError as exc:
            log.info("could not update an invitation after close: %s", exc.response.get("error"))
    return updated
