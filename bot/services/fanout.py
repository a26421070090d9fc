"""What a round sends its participants, as outbox rows: invitations, reminders, closed notices.

Each function writes into the caller's unit of work, so the messages commit with the change
that causes them (a round and its invitations; a leader's Remind and the reminders it spends;
a close and its closed notices) or not at all. ``bot.outbox`` sends them: paced, retried,
given up on people Slack cannot reach (the leader who asked is told once per batch).

Keys name the workspace, the kind, the target and the period, so writing one twice is a no-op:
``T1:invite:U2:round-4``, ``T1:reminder:U2:round-4-1`` (the person's first reminder of round 4),
``T1:closed:U2:round-4-<ts>`` (the closed notice of the DM posted at ``ts``).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.views import messages
from bot.working_hours import WorkingHours, next_working_moment, zone
from storage import answers, outbox, rounds, templates, workspaces
from storage.models import RoundParticipant, SurveyRound
from survey.template import Template

log = logging.getLogger(__name__)

INVITE = "invite"
REMINDER = "reminder"
REMIND_LATER = "remind-later"  # the person's own "Remind me later" (bot.services.survey_steps)
REMINDER_KINDS = (REMINDER, REMIND_LATER)
CLOSED = "closed"
RECEIPT = "receipt"  # a finisher's invitation turned into their receipt (bot.services.delivery.queue_receipt)
# What a close stops from going out: DMs still waiting for the person's working hours, and a
# receipt not sent yet (the close's own notice is the closed receipt).
UNSENT_AT_CLOSE = (INVITE, "pulse", *REMINDER_KINDS, RECEIPT)


def enqueue_invitations(session: Session, rnd: SurveyRound, template: Template, user_ids: list[str], *,
                        notify_user: str | None, now: datetime, due: dict[str, datetime] | None = None) -> int:
    """Put one invitation per person in the outbox, in the caller's unit of work (the one that
    creates the round), due at ``due[user]`` (default now); how many were new. The sender
    marks each person invited when Slack has the DM."""
    text, blocks = messages.invite_blocks(rnd.id, rnd.title, template.minutes, rnd.closes_at)
    rendered = [block.to_dict() for block in blocks]
    return outbox.enqueue_all(session, [
        {"key": f"{rnd.team_id}:invite:{user_id}:round-{rnd.id}", "team_id": rnd.team_id, "kind": INVITE,
         "method": "chat.postMessage", "target": user_id, "round_id": rnd.id, "notify_user": notify_user,
         "due_at": (due or {}).get(user_id, now),
         "payload": {"args": {"channel": user_id, "text": text, "blocks": rendered}, "user_id": user_id}}
        for user_id in dict.fromkeys(user_ids)], at=now)


# -- reminders ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Queued:
    """What a batch of reminders came to: ``now`` go out at once, ``later`` wait for each
    person's working hours (which start at ``hours_from``, their local time)."""

    now: int = 0
    later: int = 0
    already: int = 0  # a reminder of theirs is still waiting to go out
    unreachable: int = 0  # an earlier DM to them could not be delivered: not tried again
    too_late: int = 0  # their working hours start only after the round closes: not queued
    hours_from: str | None = None

    @property
    def queued(self) -> int:
        return self.now + self.later


def enqueue_reminders(session: Session, rnd: SurveyRound, people: Iterable[RoundParticipant], *,
                      now: datetime, notify_user: str | None) -> Queued:
    """One reminder per person in the outbox, due in their working hours (their Slack time
    zone, else the workspace's), each counted against ``max_reminders`` in the same unit of
    work. Skipped: people whose invitation has not reached them, who have a reminder still
    waiting, whom an earlier reminder could not reach, or whose working hours start only after
    the round closes. The caller chose ``people``
    (pending, under the limit) and holds the round open (``rounds.lock_open_round``)."""
    settings = workspaces.settings_of(session, rnd.team_id)
    hours = WorkingHours.parse(settings.working_hours) if settings.working_hours else None
    template = templates.get_template(session, rnd.template_id)
    waiting = set().union(*(outbox.waiting_targets(session, rnd.id, kind) for kind in REMINDER_KINDS))
    unreachable_people = outbox.undeliverable_targets(session, rnd.id, REMINDER)
    at_once = later = already = unreachable = too_late = 0
    for person in people:
        if person.completed_at is not None or person.reminders_sent >= rnd.max_reminders:
            continue
        if not person.dm_channel:  # the invitation is still waiting, or could not be delivered
            continue
        if person.user_id in unreachable_people:
            unreachable += 1
            continue
        if person.user_id in waiting:
            already += 1
            continue
        n = person.reminders_sent + 1
        due = next_working_moment(now, zone(person.tz, settings.timezone), hours) if hours else now
        if rnd.closes_at is not None and due >= rnd.closes_at:
            too_late += 1
            continue
        started = bool(answers.answers_of(session, rnd.id, person.user_id))
        text, blocks = messages.reminder_blocks(rnd.id, rnd.title, template.minutes, rnd.closes_at, started=started)
        added = outbox.enqueue(
            session, key=f"{rnd.team_id}:reminder:{person.user_id}:round-{rnd.id}-{n}", team_id=rnd.team_id,
            kind=REMINDER, method="chat.postMessage", target=person.user_id, round_id=rnd.id,
            notify_user=notify_user, due_at=due, at=now,
            payload={"args": {"channel": person.dm_channel, "text": text, "blocks": [b.to_dict() for b in blocks]},
                     "user_id": person.user_id, "n": n})
        if not added:
            already += 1
            continue
        # Counted now, with the row: the limit and the interval (from when it goes out) hold
        # whether the sender has sent it yet or not.
        rounds.record_reminder(session, rnd.id, person.user_id, at=due)
        if due > now:
            later += 1
        else:
            at_once += 1
    return Queued(now=at_once, later=later, already=already, unreachable=unreachable, too_late=too_late,
                  hours_from=f"{hours.start:%H:%M}" if hours else None)


# -- closed notices ----------------------------------------------------------------------------


@dataclass(frozen=True)
class ClosedNotices:
    updates: int  # DMs queued to turn into closed notices
    cancelled: int  # DMs that were still waiting to go out, now never sent


def enqueue_closed_notice(session: Session, rnd: SurveyRound, user_id: str, channel: str, ts: str, *,
                          receipt: bool, now: datetime) -> bool:
    """Queue the ``chat.update`` that turns one DM of a closed round into its closed notice (a
    closed receipt for an invitation of someone who finished); False if already queued."""
    if receipt:
        text, blocks = messages.receipt_blocks(rnd.id, rnd.title, rnd.closes_at, open_=False)
    else:
        text, blocks = messages.closed_blocks(rnd.title)
    return outbox.enqueue(
        session, key=f"{rnd.team_id}:{CLOSED}:{user_id}:round-{rnd.id}-{ts}", team_id=rnd.team_id, kind=CLOSED,
        method="chat.update", target=user_id, round_id=rnd.id, at=now,
        payload={"args": {"channel": channel, "ts": ts, "text": text, "blocks": [b.to_dict() for b in blocks]},
                 "user_id": user_id})


def enqueue_closed_notices(session: Session, rnd: SurveyRound, now: datetime) -> ClosedNotices:
    """In the close's unit of work: every invitation and reminder DM the round sent becomes a
    closed notice (one outbox row per message), and the DMs still waiting for someone's
    working hours are cancelled. A DM in flight at this moment gets its notice when the
    sender marks it sent (``closed_meanwhile``)."""
    cancelled = outbox.cancel_pending(session, rnd.id, UNSENT_AT_CLOSE, reason="the round closed")
    updates = 0
    for person in rounds.list_participants(session, rnd.id):
        if person.dm_channel and person.invite_ts:
            updates += enqueue_closed_notice(session, rnd, person.user_id, person.dm_channel, person.invite_ts,
                                             receipt=person.completed_at is not None, now=now)
    for sent in outbox.sent_messages(session, rnd.id, REMINDER_KINDS):
        assert sent.sent_channel is not None and sent.sent_ts is not None
        updates += enqueue_closed_notice(session, rnd, sent.target, sent.sent_channel, sent.sent_ts,
                                         receipt=False, now=now)
    return ClosedNotices(updates=updates, cancelled=cancelled)


def closed_meanwhile(session: Session, round_id: int, user_id: str, channel: str, ts: str, *,
                     invitation: bool, now: datetime) -> bool:
    """A DM that reached Slack after its round closed (the sender held it during the close):
    queue its closed notice now, in the unit of work that marks it sent."""
    return closed_meanwhile_all(session, [(round_id, user_id, channel, ts)], invitation=invitation, now=now) > 0


def closed_meanwhile_all(session: Session, sent: Sequence[tuple[int, str, str, str]], *, invitation: bool,
                         now: datetime) -> int:
    """``closed_meanwhile`` for many (round, user, channel, ts) DMs, with one read of their
    rounds (a settled batch of 8 invitations cost 8 reads before); how many notices were
    queued. The rounds are read with a share lock, so a close in progress is waited for,
    never missed."""
    round_ids = sorted({round_id for round_id, *_ in sent})
    if not round_ids:
        return 0
    closed = {rnd.id: rnd for rnd in session.scalars(
        select(SurveyRound).where(SurveyRound.id.in_(round_ids))
        .with_for_update(read=True).execution_options(populate_existing=True)) if not rnd.is_open}
    queued = 0
    for round_id, user_id, channel, ts in sent:
        rnd = closed.get(round_id)
        if rnd is None:
            continue
        completed = False
        if invitation:
            person = rounds.get_participant(session, round_id, user_id)
            completed = person is not None and person.completed_at is not None
        log.info("a DM of round %s reached Slack after the close; its closed notice is queued", round_id)
        queued += enqueue_closed_notice(session, rnd, user_id, channel, ts, receipt=completed, now=now)
    return queued
