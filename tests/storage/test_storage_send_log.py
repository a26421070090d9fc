"""The exactly-once message log."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from storage import send_log
from storage.db import Database
from storage.errors import NotFound

T0 = datetime(2025, 11, 3, 9, 0, tzinfo=UTC)


def test_first_claim_wins_and_the_log_records_delivery(db: Database) -> None:
    with db.session() as s:
        assert send_log.claim(s, "invite:42:U1", kind="invite", team_id="T1", target="U1", at=T0) is True
        assert send_log.claim(s, "invite:42:U1", kind="invite", team_id="T1", target="U1") is False
        assert send_log.claim(s, "invite:42:U2", kind="invite", team_id="T1", target="U2") is True
    with db.session() as s:
        assert send_log.claim(s, "invite:42:U1", kind="invite") is False
        entry = send_log.get(s, "invite:42:U1")
        assert (entry.status, entry.kind, entry.team_id, entry.target, entry.attempts) == ("claimed", "invite", "T1", "U1", 1)
        assert entry.created_at == T0 and entry.sent_at is None
        send_log.mark_sent(s, "invite:42:U1", "D1", "1700000000.000200", at=T0 + timedelta(seconds=1))
    with db.session() as s:
        entry = send_log.get(s, "invite:42:U1")
        assert (entry.status, entry.channel, entry.ts) == ("sent", "D1", "1700000000.000200")
        assert entry.sent_at == T0 + timedelta(seconds=1)
        assert send_log.get(s, "nope") is None
        assert [m.key for m in send_log.list_messages(s, team_id="T1", status="claimed")] == ["invite:42:U2"]


def test_concurrent_claims_have_exactly_one_winner(db: Database, race) -> None:
    def claim(i: int) -> bool:
        with db.session() as s:
            return send_log.claim(s, "digest:T1:2025-W45", kind="digest", team_id="T1", target=f"worker{i}")

    results = race(8, claim)
    assert results.count(True) == 1
    with db.session() as s:
        assert len(send_log.list_messages(s)) == 1


def test_failed_message_can_be_reclaimed_by_one_sender(db: Database, race) -> None:
    with db.session() as s:
        send_log.claim(s, "remind:42:U1:1", kind="reminder")
        send_log.mark_failed(s, "remind:42:U1:1", "ratelimited " + "x" * 5000)
    with db.session() as s:
        entry = send_log.get(s, "remind:42:U1:1")
        assert entry.status == "failed" and entry.error.startswith("ratelimited") and len(entry.error) == 2000

    def reclaim(_: int) -> bool:
        with db.session() as s:
            return send_log.reclaim(s, "remind:42:U1:1")

    assert race(6, reclaim).count(True) == 1
    with db.session() as s:
        entry = send_log.get(s, "remind:42:U1:1")
        assert (entry.status, entry.attempts, entry.error) == ("claimed", 2, None)
        assert send_log.reclaim(s, "remind:42:U1:1") is False  # claimed, not failed


def test_stale_claim_can_be_taken_over_fresh_one_cannot(db: Database) -> None:
    with db.session() as s:
        send_log.claim(s, "k", kind="digest", at=T0)
        assert send_log.reclaim(s, "k", stale_after=timedelta(minutes=10), at=T0 + timedelta(minutes=5)) is False
        assert send_log.reclaim(s, "k", stale_after=timedelta(minutes=10), at=T0 + timedelta(minutes=11)) is True
        assert send_log.reclaim(s, "k", stale_after=timedelta(minutes=10), at=T0 + timedelta(minutes=12)) is False


def test_sent_message_stays_sent(db: Database) -> None:
    with db.session() as s:
        send_log.claim(s, "k", kind="digest")
        send_log.mark_sent(s, "k", "C1", "1.0")
        send_log.mark_failed(s, "k", "late error")
        assert send_log.reclaim(s, "k", stale_after=timedelta(0)) is False
        entry = send_log.get(s, "k")
        assert (entry.status, entry.error) == ("sent", None)
        with pytest.raises(NotFound):
            send_log.mark_sent(s, "unknown", "C1", "1.0")
        with pytest.raises(NotFound):
            send_log.mark_failed(s, "unknown", "x")
