"""Exactly-once delivery through the sent-messages log: who sends a keyed message, and what a
failure means.

A message is claimed under its key before it is sent. The claim goes to exactly one caller:
the first, or later the one that takes over a message that failed for a passing reason (up to
``MAX_ATTEMPTS`` in all) or a claim left unfinished for ``STALE_CLAIM`` (its sender died). A
person Slack cannot reach is recorded and never retried. The one window the log cannot close:
a sender that dies between Slack's answer and ``mark_sent`` leaves a message that a takeover
sends again.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from slack_sdk.errors import SlackApiError

from storage import send_log
from storage.db import Database

# Errors that mean the person cannot be reached: skipped and reported, never retried.
UNREACHABLE = frozenset({"user_not_found", "account_inactive", "cannot_dm_bot", "user_disabled",
                         "channel_not_found", "not_in_channel", "is_archived", "messages_tab_disabled"})
NOT_INSTALLED = "not_installed"
PERMANENT = UNREACHABLE | {NOT_INSTALLED}
MAX_ATTEMPTS = 3
STALE_CLAIM = timedelta(minutes=30)


def claim_or_take_over(db: Database, key: str, *, kind: str, team_id: str, target: str | None,
                       now: datetime | None = None) -> bool:
    """True for exactly one caller (see the module docstring)."""
    with db.session() as session:
        if send_log.claim(session, key, kind=kind, team_id=team_id, target=target, at=now):
            return True
    return take_over(db, key, now)


def take_over(db: Database, key: str, now: datetime | None = None) -> bool:
    """Claim an existing message again: a failure worth retrying, or an abandoned claim."""
    with db.session() as session:
        entry = send_log.get(session, key)
        if entry is None or entry.status == "sent" or entry.attempts >= MAX_ATTEMPTS:
            return False
        if entry.status == "failed" and (entry.error or "") in PERMANENT:
            return False
        return send_log.reclaim(session, key, stale_after=STALE_CLAIM, at=now)


def record_failure(db: Database, key: str, exc: SlackApiError) -> bool:
    """Mark ``key`` failed; True when the person is unreachable (no retry will help)."""
    error = exc.response.get("error", "unknown")
    with db.session() as session:
        send_log.mark_failed(session, key, error)
    return error in UNREACHABLE
