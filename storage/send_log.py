"""The sent-messages log: a claim under a unique key that exactly one caller wins.

Messages to Slack go through the outbox (``storage.outbox``); this log dedupes the requests
that cause them: a replayed Remind click (``remind-click:...``), a start form submitted twice
(``start:<view>``), a ratification form (``ratify:...``), a leader's "post the report here".

Protocol:

1. ``claim(key)`` in its own unit of work and commit; only the first claimer gets True,
   whichever process, thread or replica it is (the unique key decides, inside the INSERT).
2. Do it; then ``mark_sent(key, channel, ts)`` or ``mark_failed(key, error)``.
3. A failed entry, or a claim abandoned by a crash (still ``claimed`` after a while), can be
   taken over by exactly one caller with ``reclaim``.

Closes made by an older version left ``closed:<round>`` and ``closed-notice:<round>`` entries;
``bot.housekeeping`` hands the unfinished ones to the outbox.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete, or_, select, update
from sqlalchemy.orm import Session

from storage._sql import insert
from storage.errors import NotFound
from storage.models import SentMessage, utcnow

MAX_ERROR_LENGTH = 2000


def claim(
    session: Session,
    key: str,
    *,
    kind: str,
    team_id: str | None = None,
    target: str | None = None,
    at: datetime | None = None,
) -> bool:
    """Record the intent to send ``key``; True only for the first claimer (race-safe)."""
    now = at or utcnow()
    stmt = insert(session, SentMessage).values(
        key=key, kind=kind, team_id=team_id, target=target, status="claimed",
        attempts=1, created_at=now, claimed_at=now,
    )
    stmt = stmt.on_conflict_do_nothing(index_elements=["key"]).returning(SentMessage.id)
    return session.execute(stmt).first() is not None


def reclaim(
    session: Session, key: str, *, stale_after: timedelta | None = None, at: datetime | None = None
) -> bool:
    """Take over a failed message, or a claim older than ``stale_after`` that was never
    marked sent or failed (its sender died); True for exactly one caller."""
    now = at or utcnow()
    retryable = SentMessage.status == "failed"
    if stale_after is not None:
        retryable = or_(
            retryable,
            (SentMessage.status == "claimed") & (SentMessage.claimed_at <= now - stale_after),
        )
    result = session.execute(
        update(SentMessage)
        .where(SentMessage.key == key, retryable)
        .values(status="claimed", attempts=SentMessage.attempts + 1, claimed_at=now, error=None)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount == 1


def mark_sent(session: Session, key: str, channel: str | None, ts: str | None, *, at: datetime | None = None) -> None:
    """Record the delivered message's channel and ts (to update or thread on it later)."""
    result = session.execute(
        update(SentMessage)
        .where(SentMessage.key == key)
        .values(status="sent", channel=channel, ts=ts, error=None, sent_at=at or utcnow())
        .execution_options(synchronize_session=False)
    )
    if result.rowcount == 0:
        raise NotFound(f"no claimed message {key!r}")


def mark_failed(session: Session, key: str, error: str) -> None:
    """Record why sending failed; a message already marked sent stays sent."""
    result = session.execute(
        update(SentMessage)
        .where(SentMessage.key == key, SentMessage.status != "sent")
        .values(status="failed", error=error[:MAX_ERROR_LENGTH])
        .execution_options(synchronize_session=False)
    )
    if result.rowcount == 0 and get(session, key) is None:
        raise NotFound(f"no claimed message {key!r}")


def get(session: Session, key: str) -> SentMessage | None:
    """The log entry for ``key``, read fresh from the database."""
    stmt = select(SentMessage).where(SentMessage.key == key).execution_options(populate_existing=True)
    return session.scalars(stmt).first()


def list_messages(
    session: Session, *, team_id: str | None = None, status: str | None = None, kind: str | None = None
) -> list[SentMessage]:
    """Log entries, oldest first (for diagnostics and the retry job)."""
    stmt = select(SentMessage)
    if team_id is not None:
        stmt = stmt.where(SentMessage.team_id == team_id)
    if status is not None:
        stmt = stmt.where(SentMessage.status == status)
    if kind is not None:
        stmt = stmt.where(SentMessage.kind == kind)
    return list(session.scalars(stmt.order_by(SentMessage.id)))


def forget(session: Session, key: str) -> None:
    """Drop ``key``'s entry: what it claimed did not happen and may be tried again."""
    session.execute(delete(SentMessage).where(SentMessage.key == key))
