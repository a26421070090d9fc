"""Exactly-once delivery: what a Slack refusal means for a message that must go out once,
and the finisher's receipt.

Every such message is an outbox row (``storage.outbox``, sent by ``bot.outbox``); these are
the refusals that no retry can change. A person Slack cannot reach is given up at once and
the leader who started the batch is told once; anything else passing is tried again.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from bot.services.fanout import RECEIPT
from bot.views import messages
from storage import outbox
from storage.db import Database
from storage.models import SurveyRound

# Errors that mean the person or channel cannot be reached: given up and reported, never retried.
UNREACHABLE = frozenset({"user_not_found", "account_inactive", "cannot_dm_bot", "user_disabled",
                         "channel_not_found", "not_in_channel", "is_archived", "messages_tab_disabled"})
NOT_INSTALLED = "not_installed"
PERMANENT = UNREACHABLE | {NOT_INSTALLED}


def queue_receipt(db: Database, team_id: str | None, round_id: int, user_id: str, channel: str, ts: str, *,
                  now: datetime) -> bool:
    """Queue the ``chat.update`` that turns a finisher's invitation into their receipt, once
    (``<team>:receipt:<user>:round-<round>``); False when it is already queued or the round
    has closed (the close turned the invitation into a closed receipt already). The round is
    read under a share lock, so a close at this moment either comes first or cancels it."""
    with db.session() as session:
        rnd = session.scalar(select(SurveyRound).where(SurveyRound.id == round_id)
                             .with_for_update(read=True).execution_options(populate_existing=True))
        if rnd is None or rnd.team_id != team_id or not rnd.is_open:
            return False
        text, blocks = messages.receipt_blocks(rnd.id, rnd.title, rnd.closes_at)
        return outbox.enqueue(
            session, key=f"{rnd.team_id}:{RECEIPT}:{user_id}:round-{rnd.id}", team_id=rnd.team_id, kind=RECEIPT,
            method="chat.update", target=user_id, round_id=rnd.id, at=now,
            payload={"args": {"channel": channel, "ts": ts, "text": text, "blocks": [b.to_dict() for b in blocks]},
                     "user_id": user_id})
