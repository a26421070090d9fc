"""The outbox: Slack calls that must happen exactly once, as rows.

A message is written with ``enqueue`` in the same unit of work as the change that causes it
(a round and its invitations commit together, or neither does). Senders then ``claim`` due
messages one at a time: a conditional UPDATE that only one sender can win, whichever process
or replica it is, with a lease that a crash lets run out. A sender ends each claim with
``mark_sent``, ``retry_later`` or ``give_up``.

Keys name the workspace, the kind, the target and the period
(``T1:invite:U2:round-4``), so enqueueing the same message twice is a no-op.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, bindparam, func, or_, select, update
from sqlalchemy.orm import Session

from storage._sql import insert
from storage.models import OutboxMessage, utcnow

MAX_ERROR_LENGTH = 2000


def enqueue(session: Session, *, key: str, team_id: str, kind: str, method: str, target: str,
            payload: dict[str, Any], due_at: datetime | None = None, round_id: int | None = None,
            notify_user: str | None = None, at: datetime | None = None) -> bool:
    """Add a message; False when one with ``key`` is already there (it is left as it is)."""
    now = at or utcnow()
    stmt = insert(session, OutboxMessage).values(
        key=key, team_id=team_id, kind=kind, method=method, target=target, payload=payload,
        due_at=due_at or now, round_id=round_id, notify_user=notify_user, status="pending",
        attempts=0, uncertain=False, reported=False, created_at=now)
    stmt = stmt.on_conflict_do_nothing(index_elements=["key"]).returning(OutboxMessage.id)
    return session.execute(stmt).first() is not None


def _claimable(now: datetime):
    return or_(and_(OutboxMessage.status == "pending", OutboxMessage.due_at <= now),
               and_(OutboxMessage.status == "sending", OutboxMessage.lease_until <= now))


def due(session: Session, now: datetime, limit: int = 100) -> list[int]:
    """Ids of messages a sender may claim now, earliest due first."""
    stmt = (select(OutboxMessage.id).where(_claimable(now))
            .order_by(OutboxMessage.due_at, OutboxMessage.id).limit(limit))
    return list(session.scalars(stmt))


def next_due_at(session: Session) -> datetime | None:
    """When the next pending message falls due (for the sender's sleep)."""
    return session.scalar(select(func.min(OutboxMessage.due_at)).where(OutboxMessage.status == "pending"))


def claim(session: Session, message_id: int, now: datetime, lease: timedelta) -> OutboxMessage | None:
    """Take the message for one attempt; None when another sender has it or it is done.

    A claim of a message whose lease ran out marks it ``uncertain``: the sender that held it
    may have reached Slack before it died.
    """
    result = session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id == message_id, _claimable(now))
        .values(uncertain=OutboxMessage.uncertain | (OutboxMessage.status == "sending"),
                status="sending", lease_until=now + lease, attempts=OutboxMessage.attempts + 1,
                first_attempt_at=func.coalesce(OutboxMessage.first_attempt_at, now))
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        return None
    return session.get(OutboxMessage, message_id, populate_existing=True)


def get(session: Session, message_id: int) -> OutboxMessage | None:
    return session.get(OutboxMessage, message_id)


def find(session: Session, key: str) -> OutboxMessage | None:
    return session.scalar(select(OutboxMessage).where(OutboxMessage.key == key))


def mark_sent(session: Session, message_id: int, *, channel: str | None, ts: str | None,
              at: datetime | None = None) -> None:
    session.execute(update(OutboxMessage).where(OutboxMessage.id == message_id).values(
        status="sent", sent_channel=channel, sent_ts=ts, sent_at=at or utcnow(), lease_until=None,
        uncertain=False, last_error=None).execution_options(synchronize_session=False))


def retry_later(session: Session, message_id: int, *, error: str, due_at: datetime, uncertain: bool) -> None:
    """Back to pending, due again at ``due_at``; ``uncertain`` when Slack may have got it."""
    session.execute(update(OutboxMessage).where(OutboxMessage.id == message_id).values(
        status="pending", due_at=due_at, lease_until=None, last_error=error[:MAX_ERROR_LENGTH],
        uncertain=OutboxMessage.uncertain | uncertain).execution_options(synchronize_session=False))


def give_up(session: Session, message_id: int, *, error: str) -> None:
    session.execute(update(OutboxMessage).where(OutboxMessage.id == message_id).values(
        status="gave_up", lease_until=None, last_error=error[:MAX_ERROR_LENGTH])
        .execution_options(synchronize_session=False))


@dataclass(frozen=True)
class UndeliveredBatch:
    """Messages of one kind of one round that could not be delivered, for one person to hear of."""

    team_id: str
    round_id: int | None
    kind: str
    notify_user: str
    total: int  # messages of this kind of the round, delivered or not
    errors: dict[str, int]  # error -> count
    message_ids: list[int]


def undelivered_to_report(session: Session) -> list[UndeliveredBatch]:
    """Batches with messages given up and not reported yet, whose other messages are all
    settled (sent or given up), so that the person hears once, with the whole count."""
    rows = session.execute(
        select(OutboxMessage.team_id, OutboxMessage.round_id, OutboxMessage.kind, OutboxMessage.notify_user)
        .where(OutboxMessage.status == "gave_up", OutboxMessage.reported.is_(False),
               OutboxMessage.notify_user.is_not(None))
        .distinct()
    ).all()
    batches = []
    for team_id, round_id, kind, notify_user in rows:
        same = select(OutboxMessage).where(OutboxMessage.team_id == team_id, OutboxMessage.kind == kind,
                                           OutboxMessage.notify_user == notify_user,
                                           OutboxMessage.round_id.is_(None) if round_id is None
                                           else OutboxMessage.round_id == round_id)
        messages: Sequence[OutboxMessage] = session.scalars(same).all()
        if any(m.status in ("pending", "sending") for m in messages):
            continue
        failed = [m for m in messages if m.status == "gave_up" and not m.reported]
        errors: dict[str, int] = {}
        for m in failed:
            errors[m.last_error or "unknown"] = errors.get(m.last_error or "unknown", 0) + 1
        batches.append(UndeliveredBatch(team_id=team_id, round_id=round_id, kind=kind, notify_user=notify_user,
                                        total=len(messages), errors=errors, message_ids=[m.id for m in failed]))
    return batches


def mark_reported(session: Session, message_ids: Sequence[int]) -> None:
    if message_ids:
        session.execute(update(OutboxMessage).where(OutboxMessage.id.in_(list(message_ids)))
                        .values(reported=True).execution_options(synchronize_session=False))


def pending_count(session: Session, round_id: int | None = None, kind: str | None = None) -> int:
    stmt = select(func.count()).select_from(OutboxMessage).where(OutboxMessage.status.in_(("pending", "sending")))
    if round_id is not None:
        stmt = stmt.where(OutboxMessage.round_id == round_id)
    if kind is not None:
        stmt = stmt.where(OutboxMessage.kind == kind)
    return int(session.scalar(stmt) or 0)


SKIPPED = "skipped: "  # last_error of a message settled unsent on purpose, not undeliverable


def skip(session: Session, message_id: int, *, reason: str) -> None:
    """Settle a message that is no longer wanted (its round closed, its person finished):
    not sent, and not reported as undelivered, since nothing went wrong."""
    session.execute(update(OutboxMessage).where(OutboxMessage.id == message_id).values(
        status="gave_up", lease_until=None, reported=True, last_error=(SKIPPED + reason)[:MAX_ERROR_LENGTH])
        .execution_options(synchronize_session=False))


def cancel_pending(session: Session, round_id: int, kinds: Sequence[str], *, reason: str) -> int:
    """Skip the round's messages of ``kinds`` still waiting for their due time (``skip``), in
    the caller's unit of work; how many. One a sender holds right now is left to it: the
    sender checks the round before it calls Slack, and a reminder that reaches Slack after the
    close gets its closed notice when it is marked sent."""
    result = session.execute(update(OutboxMessage).where(
        OutboxMessage.round_id == round_id, OutboxMessage.kind.in_(list(kinds)),
        OutboxMessage.status == "pending").values(
        status="gave_up", reported=True, last_error=(SKIPPED + reason)[:MAX_ERROR_LENGTH])
        .execution_options(synchronize_session=False))
    return int(result.rowcount or 0)


def sent_messages(session: Session, round_id: int, kinds: Sequence[str]) -> list[OutboxMessage]:
    """The round's messages of ``kinds`` that Slack has, with where they went (to update them)."""
    return list(session.scalars(select(OutboxMessage).where(
        OutboxMessage.round_id == round_id, OutboxMessage.kind.in_(list(kinds)), OutboxMessage.status == "sent",
        OutboxMessage.sent_channel.is_not(None), OutboxMessage.sent_ts.is_not(None))
        .order_by(OutboxMessage.id)))


def waiting_targets(session: Session, round_id: int, kind: str) -> set[str]:
    """Who has a message of ``kind`` of the round still to send (a reminder queued for their
    working hours)."""
    return set(session.scalars(select(OutboxMessage.target).where(
        OutboxMessage.round_id == round_id, OutboxMessage.kind == kind,
        OutboxMessage.status.in_(("pending", "sending"))).distinct()))


def undeliverable_targets(session: Session, round_id: int, kind: str) -> set[str]:
    """Who could not be sent a message of ``kind`` of the round (deactivated, unknown, or
    failing for good): asking Slack again would only fail again and tell the leader twice."""
    return set(session.scalars(select(OutboxMessage.target).where(
        OutboxMessage.round_id == round_id, OutboxMessage.kind == kind, OutboxMessage.status == "gave_up",
        ~func.coalesce(OutboxMessage.last_error, "").startswith(SKIPPED)).distinct()))


def due_except(session: Session, now: datetime, *, limit: int,
               skip: Sequence[tuple[str, str]] = ()) -> list[int]:
    """``due``, leaving out the (workspace, method) pairs in ``skip``: a sender whose pacing
    holds back one method of a workspace (300 closed notices at chat.update's Tier 3) claims
    that workspace's other messages (the next round's invitations) and other workspaces'
    meanwhile."""
    stmt = select(OutboxMessage.id).where(_claimable(now))
    if skip:
        stmt = stmt.where(~or_(*[and_(OutboxMessage.team_id == team, OutboxMessage.method == method)
                                 for team, method in skip]))
    return list(session.scalars(stmt.order_by(OutboxMessage.due_at, OutboxMessage.id).limit(limit)))


def claim_all(session: Session, message_ids: Sequence[int], now: datetime, lease: timedelta) -> list[OutboxMessage]:
    """``claim`` for many messages in one statement: those this sender won (the others are
    another sender's, or done)."""
    if not message_ids:
        return []
    stmt = (update(OutboxMessage)
            .where(OutboxMessage.id.in_(list(message_ids)), _claimable(now))
            .values(uncertain=OutboxMessage.uncertain | (OutboxMessage.status == "sending"),
                    status="sending", lease_until=now + lease, attempts=OutboxMessage.attempts + 1,
                    first_attempt_at=func.coalesce(OutboxMessage.first_attempt_at, now))
            .returning(OutboxMessage)
            .execution_options(synchronize_session=False, populate_existing=True))
    return sorted(session.scalars(stmt).all(), key=lambda m: (m.due_at, m.id))


def mark_all_sent(session: Session, sent: Sequence[tuple[int, str | None, str | None]], at: datetime) -> None:
    """``mark_sent`` for many (id, channel, ts) at once: one statement, executed for each."""
    if not sent:
        return
    table = OutboxMessage.__table__
    stmt = (table.update().where(table.c.id == bindparam("b_id"))
            .values(status="sent", sent_channel=bindparam("b_channel"), sent_ts=bindparam("b_ts"), sent_at=at,
                    lease_until=None, uncertain=False, last_error=None))
    session.execute(stmt, [{"b_id": i, "b_channel": c, "b_ts": t} for i, c, t in sent])


def enqueue_all(session: Session, messages: Sequence[dict[str, Any]], at: datetime | None = None) -> int:
    """``enqueue`` for many messages (each a dict of ``enqueue``'s keyword arguments) in one
    statement executed for each; how many were new (a key already there is left as it is)."""
    if not messages:
        return 0
    now = at or utcnow()
    keys = [m["key"] for m in messages]
    before = session.scalar(select(func.count()).where(OutboxMessage.key.in_(keys)))
    rows = [{"due_at": now, "round_id": None, "notify_user": None, **m, "status": "pending", "attempts": 0,
             "uncertain": False, "reported": False, "created_at": now} for m in messages]
    session.execute(insert(session, OutboxMessage).on_conflict_do_nothing(index_elements=["key"]), rows)
    after = session.scalar(select(func.count()).where(OutboxMessage.key.in_(keys)))
    return after - before
