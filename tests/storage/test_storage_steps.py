"""storage.steps, a survey step's reads and writes on one connection (on SQLite on the DBAPI
cursor): rows exactly as the ORM repositories write and read them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select, text, update

from storage import answers, rounds, steps
from storage.models import Answer, RoundParticipant, SurveyRound

TEAM = "T0001"  # the open_round fixture's workspace (tests/storage/conftest.py)

AT = datetime(2026, 3, 2, 9, 30, 15, 123456, tzinfo=UTC)
VALUES = {"company_size": "51-200", "industry": ["software", "fintech"], "deal_size": 25000.5,
          "innovation_attitude": 4}


def _raw_rows(db, round_id: int, user: str) -> list[tuple]:
    with db.session(read_only=True) as s:
        return sorted(tuple(r) for r in s.execute(text(
            "SELECT question_id, CAST(value AS TEXT), CAST(updated_at AS TEXT) FROM answers "
            "WHERE round_id = :r AND user_id = :u"), {"r": round_id, "u": user}))


def test_a_step_stores_what_the_orm_repository_stores_and_reads_it_back(db, open_round):
    with db.session() as s:
        answers.save_answers(s, open_round.id, "U1", VALUES, at=AT)
    with db.connection() as c:
        steps.write_answers(c, open_round.id, "U2", VALUES, at=AT)
    assert [r[1:] for r in _raw_rows(db, open_round.id, "U2")] == [r[1:] for r in _raw_rows(db, open_round.id, "U1")]
    with db.connection() as c:  # read_step belongs to a write unit of work (FOR SHARE on PostgreSQL)
        rnd, person, known = steps.read_step(c, open_round.id, "U2")
    assert known == VALUES
    with db.session(read_only=True) as s:
        orm_round = s.get(SurveyRound, open_round.id)
        orm_person = s.get(RoundParticipant, (open_round.id, "U2"))
        assert (orm_person.team, orm_person.dm_channel, orm_person.tz) == (person.team, person.dm_channel, person.tz)
        assert answers.answers_of(s, open_round.id, "U2") == VALUES
    assert (rnd.id, rnd.team_id, rnd.template_id, rnd.title, rnd.status, rnd.closes_at) == \
        (orm_round.id, TEAM, orm_round.template_id, orm_round.title, "open", orm_round.closes_at)
    assert (person.team, person.completed_at, person.reminders_sent) == ("support", None, 0)


def test_a_resubmission_keeps_the_row_and_a_change_or_a_clear_replaces_it(db, open_round):
    with db.connection() as c:
        steps.write_answers(c, open_round.id, "U1", VALUES, at=AT)
    later = AT + timedelta(minutes=5)
    with db.connection() as c:
        steps.write_answers(c, open_round.id, "U1", {**VALUES, "company_size": "201-1000", "deal_size": None},
                            at=later)
    with db.session(read_only=True) as s:
        rows = {a.question_id: a for a in s.scalars(select(Answer).where(Answer.user_id == "U1"))}
    assert rows["company_size"].value == "201-1000" and rows["company_size"].updated_at == later
    assert rows["industry"].updated_at == AT  # the same value again: left alone
    assert "deal_size" not in rows


def test_completion_is_recorded_once_with_its_time(db, open_round):
    with db.connection() as c:
        assert steps.mark_completed(c, open_round.id, "U3", at=AT)
    with db.connection() as c:
        assert not steps.mark_completed(c, open_round.id, "U3", at=AT + timedelta(days=1))
        _rnd, person, _ = steps.read_step(c, open_round.id, "U3")
    assert person.completed_at == AT
    with db.session(read_only=True) as s:
        assert s.get(RoundParticipant, (open_round.id, "U3")).completed_at == AT


def test_strangers_and_unknown_rounds_read_as_none(db, open_round):
    with db.session() as s:
        s.execute(update(SurveyRound).where(SurveyRound.id == open_round.id).values(closes_at=AT))
    with db.connection() as c:  # read_step belongs to a write unit of work (FOR SHARE on PostgreSQL)
        rnd, person, known = steps.read_step(c, open_round.id, "U9")
        assert rnd is not None and rnd.closes_at == AT and person is None and known == {}
        assert steps.read_step(c, open_round.id + 99, "U1") == (None, None, {})
    with db.session(read_only=True) as s:
        assert rounds.get_round(s, open_round.id).closes_at == AT
