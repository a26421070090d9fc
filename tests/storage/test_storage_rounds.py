"""Rounds and participants."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest

from storage import answers, rounds, templates
from storage.db import Database
from storage.errors import NotFound, NotParticipant, RoundClosed

T0 = datetime(2025, 11, 3, 9, 0, tzinfo=UTC)


def _template_id(db: Database, team: str = "T1") -> int:
    with db.session() as s:
        return templates.latest_template(s, team, "icp-core").id


def test_create_and_find_rounds(db: Database) -> None:
    template_id = _template_id(db)
    with db.session() as s:
        first = rounds.create_round(
            s, "T1", template_id, title="Q3", created_by="ULEAD", audience={"channel": "C1"},
            opened_at=T0, closes_at=T0 + timedelta(days=7),
        )
        second = rounds.create_round(s, "T1", template_id, title="Pulse", kind="pulse", opened_at=T0 + timedelta(days=1))
        other = rounds.create_round(s, "T2", template_id, title="Elsewhere", opened_at=T0 + timedelta(days=2))
    with db.session() as s:
        got = rounds.get_round(s, first.id)
        assert (got.title, got.kind, got.status, got.audience, got.created_by) == ("Q3", "full", "open", {"channel": "C1"}, "ULEAD")
        assert (got.max_reminders, got.reminder_interval_hours) == (2, 48)
        assert got.opened_at == T0 and got.closes_at == T0 + timedelta(days=7) and got.closed_at is None
        # full rounds by default: a pulse is not "the open round" of status, remind or close
        assert rounds.open_round_for(s, "T1").id == first.id
        assert rounds.open_round_for(s, "T1", kind="pulse").id == second.id
        assert rounds.latest_round(s, "T1").id == first.id
        assert rounds.latest_round(s, "T1", kind=None).id == second.id
        assert rounds.latest_round(s, "T1", status="closed") is None
        assert [r.id for r in rounds.list_rounds(s, "T1", kind=None)] == [second.id, first.id]
        assert [r.id for r in rounds.list_rounds(s, "T1")] == [first.id]
        assert [r.id for r in rounds.open_rounds(s)] == [first.id, second.id, other.id]
        assert [r.id for r in rounds.rounds_due_to_close(s, now=T0 + timedelta(days=8))] == [first.id]
        assert rounds.rounds_due_to_close(s, now=T0 + timedelta(days=6)) == []
        assert rounds.get_round(s, 999) is None
        with pytest.raises(ValueError, match="kind"):
            rounds.create_round(s, "T1", template_id, title="x", kind="weekly")


def test_close_round_is_idempotent(db: Database) -> None:
    template_id = _template_id(db)
    with db.session() as s:
        survey_round = rounds.create_round(s, "T1", template_id, title="Q3", opened_at=T0)
    with db.session() as s:
        closed = rounds.close_round(s, survey_round.id, at=T0 + timedelta(days=1))
        assert closed.status == "closed" and closed.closed_at == T0 + timedelta(days=1)
    with db.session() as s:
        again = rounds.close_round(s, survey_round.id, at=T0 + timedelta(days=5))
        assert again.status == "closed" and again.closed_at == T0 + timedelta(days=1)
        assert rounds.open_round_for(s, "T1") is None
        assert rounds.latest_round(s, "T1", status="closed").id == survey_round.id
        assert [r.id for r in rounds.list_rounds(s, "T1", status="closed")] == [survey_round.id]
        with pytest.raises(NotFound):
            rounds.close_round(s, 999)


def test_add_participants_is_idempotent(db: Database, open_round) -> None:
    with db.session() as s:
        before = {p.user_id: p for p in rounds.list_participants(s, open_round.id)}
        answers.save_answers(s, open_round.id, "U1", {"team": "sales"})
    assert set(before) == {"U1", "U2", "U3"}
    assert {p.team for p in before.values()} == {"sales", "support", None}
    with db.session() as s:
        added = rounds.add_participants(
            s, open_round.id, [("U1", "marketing"), ("U3", "success"), ("U4", "sales"), ("U4", "other")]
        )
    assert added == 1
    with db.session() as s:
        after = {p.user_id: p for p in rounds.list_participants(s, open_round.id)}
        assert set(after) == {"U1", "U2", "U3", "U4"}
        for user_id in ("U1", "U2", "U3"):
            assert after[user_id].invited_at == before[user_id].invited_at
            assert after[user_id].pseudonym == before[user_id].pseudonym
        assert after["U1"].team == "sales"  # a known team is kept
        assert after["U3"].team == "success"  # an unknown one is filled in
        assert after["U4"].team == "sales"  # the first mention wins
        assert answers.answers_of(s, open_round.id, "U1") == {"team": "sales"}


def test_pseudonyms_are_random_and_unique_within_a_round(db: Database, open_round) -> None:
    people = [(f"U{i:05d}", None) for i in range(2000)]
    with db.session() as s:
        assert rounds.add_participants(s, open_round.id, people) == 2000
        pseudonyms = [p.pseudonym for p in rounds.list_participants(s, open_round.id)]
    assert len(pseudonyms) == 2003 == len(set(pseudonyms))
    assert all(re.fullmatch(r"[A-HJ-NP-Z2-9]{6}", p) for p in pseudonyms)
    assert not set(pseudonyms) & {user_id for user_id, _ in people}


def test_participants_cannot_join_a_closed_round(db: Database, open_round) -> None:
    with db.session() as s:
        rounds.close_round(s, open_round.id)
    with pytest.raises(RoundClosed), db.session() as s:
        rounds.add_participants(s, open_round.id, [("U9", None)])
    with db.session() as s:
        assert rounds.get_participant(s, open_round.id, "U9") is None


def test_participation_counts(db: Database, open_round) -> None:
    with db.session() as s:
        assert rounds.participation(s, open_round.id) == rounds.Participation(3, 0, 0)
        answers.save_answers(s, open_round.id, "U1", {"team": "sales", "value_drivers": ["spend"]})
        answers.save_answers(s, open_round.id, "U2", {"team": "support"})
        assert rounds.mark_completed(s, open_round.id, "U1") is True
    with db.session() as s:
        counts = rounds.participation(s, open_round.id)
        assert counts == rounds.Participation(invited=3, answered=2, completed=1)
        assert counts.response_rate == pytest.approx(1 / 3)
        assert [p.user_id for p in rounds.pending_participants(s, open_round.id)] == ["U2", "U3"]
        assert rounds.participation(s, 999) == rounds.Participation(0, 0, 0)


def test_invitation_reminders_completion_and_team(db: Database, open_round) -> None:
    with db.session() as s:
        assert {p.user_id for p in rounds.uninvited_participants(s, open_round.id)} == {"U1", "U2", "U3"}
        rounds.mark_invited(s, open_round.id, "U1", "D1", "1700000000.000100")
        rounds.record_reminder(s, open_round.id, "U1", at=T0)
        rounds.record_reminder(s, open_round.id, "U1", at=T0 + timedelta(hours=1))
        rounds.set_team(s, open_round.id, "U3", "marketing")
        assert rounds.mark_completed(s, open_round.id, "U2", at=T0) is True
        assert rounds.mark_completed(s, open_round.id, "U2", at=T0 + timedelta(days=1)) is False
    with db.session() as s:
        u1 = rounds.get_participant(s, open_round.id, "U1")
        assert (u1.dm_channel, u1.invite_ts, u1.reminders_sent) == ("D1", "1700000000.000100", 2)
        assert u1.last_reminded_at == T0 + timedelta(hours=1)
        assert rounds.get_participant(s, open_round.id, "U2").completed_at == T0
        assert rounds.get_participant(s, open_round.id, "U3").team == "marketing"
        assert {p.user_id for p in rounds.uninvited_participants(s, open_round.id)} == {"U2", "U3"}
        for call in (
            lambda: rounds.mark_invited(s, open_round.id, "UX", "D", "1.0"),
            lambda: rounds.record_reminder(s, open_round.id, "UX"),
            lambda: rounds.mark_completed(s, open_round.id, "UX"),
            lambda: rounds.set_team(s, open_round.id, "UX", "sales"),
        ):
            with pytest.raises(NotParticipant):
                call()


def test_due_for_reminder(db: Database) -> None:
    template_id = _template_id(db)
    with db.session() as s:
        survey_round = rounds.create_round(
            s, "T1", template_id, title="Q3", opened_at=T0, max_reminders=1, reminder_interval_hours=24
        )
        rounds.add_participants(s, survey_round.id, [("U1", None), ("U2", None), ("U3", None), ("U4", None)])
        for user_id in ("U1", "U2", "U3"):
            rounds.mark_invited(s, survey_round.id, user_id, f"D{user_id}", "1.0")
        rounds.mark_completed(s, survey_round.id, "U2")
    with db.session() as s:
        invited_at = rounds.get_participant(s, survey_round.id, "U1").invited_at
        assert rounds.due_for_reminder(s, survey_round.id, now=invited_at + timedelta(hours=23)) == []
        due = rounds.due_for_reminder(s, survey_round.id, now=invited_at + timedelta(hours=25))
        # U2 completed, U4 was never invited
        assert [p.user_id for p in due] == ["U1", "U3"]
        rounds.record_reminder(s, survey_round.id, "U1", at=invited_at + timedelta(hours=25))
    with db.session() as s:
        due = rounds.due_for_reminder(s, survey_round.id, now=invited_at + timedelta(days=30))
        assert [p.user_id for p in due] == ["U3"]  # U1 had its max_reminders=1
        rounds.close_round(s, survey_round.id)
        assert rounds.due_for_reminder(s, survey_round.id, now=invited_at + timedelta(days=30)) == []


def test_pseudonyms_use_the_whole_alphabet_evenly():
    """Six letters of the read-aloud-safe alphabet, each letter about equally often."""
    from collections import Counter

    from storage.rounds import PSEUDONYM_ALPHABET, PSEUDONYM_LENGTH, new_pseudonym

    drawn = [new_pseudonym() for _ in range(4000)]
    assert all(len(p) == PSEUDONYM_LENGTH and set(p) <= set(PSEUDONYM_ALPHABET) for p in drawn)
    tally = Counter("".join(drawn))
    expected = 4000 * PSEUDONYM_LENGTH / len(PSEUDONYM_ALPHABET)  # 750 per letter
    assert set(tally) == set(PSEUDONYM_ALPHABET)
    # chi-square with 31 df: above 70 happens with probability about 1e-4 under uniform draws
    assert sum((c - expected) ** 2 / expected for c in tally.values()) < 70
    assert len(set(drawn)) > 3990  # 4,000 of about a billion: collisions are rare
