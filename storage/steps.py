"""A survey step's reads and writes on one Core connection: the hot path of the bot.

A person answering a round submits a step every few seconds, and on SQLite every step holds
the one write lock, so what runs under it must be short. Through the ORM a step cost three
``session.get`` calls, an upsert statement built (and its ``excluded`` alias compiled) anew
each time, and identity-map bookkeeping: about half of a step's CPU. Here the statements are
built once per dialect and executed on the unit of work's connection
(``Database.connection``): one query for the round and the person, one for the person's
answers, one upsert (executemany), and on the last step one update.

The rules are those of ``storage.answers.save_answers`` and ``storage.rounds.mark_completed``:
the caller reads the round with ``read_step`` (on PostgreSQL ``FOR SHARE`` of the round row,
so a concurrent close waits for this unit of work; on SQLite the unit of work holds the write
lock), checks that it is open and that the person takes part, then writes in the same
transaction.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Any

from sqlalchemy import Connection, bindparam, select, update
from sqlalchemy.exc import DBAPIError

from storage.answers import check_value, upsert_statement
from storage.models import Answer, RoundParticipant, SurveyRound
from survey.answers import AnswerValue

_ROUNDS = SurveyRound.__table__
_PEOPLE = RoundParticipant.__table__
_ANSWERS = Answer.__table__


@dataclass(frozen=True)
class StepRound:
    """The fields of a round that a step reads (a round's row, never written here)."""

    id: int
    team_id: str
    template_id: int
    title: str
    status: str
    closes_at: datetime | None
    max_reminders: int

    @property
    def is_open(self) -> bool:
        return self.status == "open"


@dataclass(frozen=True)
class StepPerson:
    """The fields of a participant that a step reads."""

    user_id: str
    team: str | None
    dm_channel: str | None
    invite_ts: str | None
    reminders_sent: int
    tz: str | None
    completed_at: datetime | None


_ROUND_COLUMNS = [_ROUNDS.c[name] for name in ("id", "team_id", "template_id", "title", "status", "closes_at",
                                               "max_reminders")]
_PERSON_COLUMNS = [_PEOPLE.c[name] for name in ("user_id", "team", "dm_channel", "invite_ts", "reminders_sent",
                                                "tz", "completed_at")]


@cache
def _statements(dialect: str) -> dict[str, Any]:
    """Every statement of a step for one dialect, built once (so compiled once, then cached)."""
    person_join = _ROUNDS.outerjoin(_PEOPLE, (_PEOPLE.c.round_id == _ROUNDS.c.id)
                                    & (_PEOPLE.c.user_id == bindparam("user_id")))
    read = select(*_ROUND_COLUMNS, *_PERSON_COLUMNS).select_from(person_join) \
        .where(_ROUNDS.c.id == bindparam("round_id"))
    if dialect == "postgresql":
        read = read.with_for_update(read=True, of=_ROUNDS)  # a close waits for this step
    answers = select(_ANSWERS.c.question_id, _ANSWERS.c.value).where(
        _ANSWERS.c.round_id == bindparam("round_id"), _ANSWERS.c.user_id == bindparam("user_id"))
    upsert = upsert_statement(dialect)
    clear = _ANSWERS.delete().where(
        _ANSWERS.c.round_id == bindparam("round_id"), _ANSWERS.c.user_id == bindparam("user_id"),
        _ANSWERS.c.question_id.in_(bindparam("question_ids", expanding=True)))
    complete = update(_PEOPLE).where(
        _PEOPLE.c.round_id == bindparam("p_round"), _PEOPLE.c.user_id == bindparam("p_user"),
        _PEOPLE.c.completed_at.is_(None)).values(completed_at=bindparam("at"))
    return {"read": read, "answers": answers, "upsert": upsert, "clear": clear, "complete": complete}


class _OnCursor:
    """A statement compiled once for SQLite and run on the DBAPI cursor of the unit of work's
    connection, with SQLAlchemy's own type conversions (the same JSON text and datetime
    format as every other write): Core's execution (cache key, context, result objects) cost
    ten times the statement itself, 0.7 ms of a step's 0.9 ms in the database layer."""

    def __init__(self, stmt: Any, dialect: Any, column_keys: list[str] | None = None):
        compiled = stmt.compile(dialect=dialect, column_keys=column_keys)
        self.sql = compiled.string
        self.names = tuple(compiled.positiontup or ())
        self.binds = [compiled.binds[name].type.dialect_impl(dialect).bind_processor(dialect)
                      for name in self.names]
        self.results = [column.type.dialect_impl(dialect).result_processor(dialect, None)
                        for column in getattr(stmt, "selected_columns", ())]

    def params(self, values: Mapping[str, Any]) -> tuple[Any, ...]:
        return tuple(value if bind is None else bind(value)
                     for bind, value in zip(self.binds, (values[name] for name in self.names), strict=True))

    def rows(self, cursor: Any, values: Mapping[str, Any]) -> list[tuple[Any, ...]]:
        cursor.execute(self.sql, self.params(values))
        return [tuple(value if result is None else result(value) for result, value in zip(self.results, row, strict=True))
                for row in cursor.fetchall()]


@cache
def _on_cursor(dialect: Any) -> dict[str, _OnCursor]:
    statements = _statements(dialect.name)
    return {"read": _OnCursor(statements["read"], dialect), "answers": _OnCursor(statements["answers"], dialect),
            "upsert": _OnCursor(statements["upsert"], dialect, list(_UPSERT_KEYS)),
            "complete": _OnCursor(statements["complete"], dialect)}


_UPSERT_KEYS = ("round_id", "user_id", "question_id", "value", "updated_at")


def _cursor(connection: Connection) -> Any | None:
    """The DBAPI cursor for the statements above (SQLite only; PostgreSQL runs them through Core)."""
    if connection.dialect.name != "sqlite":
        return None
    return connection.connection.dbapi_connection.cursor()  # type: ignore[union-attr]


@contextmanager
def _raw_errors(statement: str) -> Iterator[None]:
    """sqlite3's errors as SQLAlchemy's (callers catch ``OperationalError`` for a lock not got)."""
    try:
        yield
    except sqlite3.Error as exc:
        raise DBAPIError.instance(statement, None, exc, sqlite3.Error) from exc


def read_step(connection: Connection, round_id: int, user_id: str
              ) -> tuple[StepRound | None, StepPerson | None, dict[str, AnswerValue]]:
    """The round, the person (None if not invited) and the person's answers, in a write unit of
    work (on PostgreSQL the round row is locked FOR SHARE until it ends)."""
    key = {"round_id": round_id, "user_id": user_id}
    cursor = _cursor(connection)
    if cursor is not None:
        raw = _on_cursor(connection.dialect)
        with _raw_errors(raw["read"].sql):
            rows = raw["read"].rows(cursor, key)
            row = rows[0] if rows else None
            if row is None or row[len(_ROUND_COLUMNS)] is None:
                return (StepRound(*row[:len(_ROUND_COLUMNS)]) if row else None), None, {}
            answers = dict(raw["answers"].rows(cursor, key))
        return StepRound(*row[:len(_ROUND_COLUMNS)]), StepPerson(*row[len(_ROUND_COLUMNS):]), answers
    statements = _statements(connection.dialect.name)
    row = connection.execute(statements["read"], key).first()
    if row is None:
        return None, None, {}
    rnd = StepRound(*row[:len(_ROUND_COLUMNS)])
    if row[len(_ROUND_COLUMNS)] is None:
        return rnd, None, {}
    person = StepPerson(*row[len(_ROUND_COLUMNS):])
    return rnd, person, dict(connection.execute(statements["answers"], key).all())


def write_answers(connection: Connection, round_id: int, user_id: str,
                  answers: Mapping[str, AnswerValue | None], *, at: datetime) -> None:
    """Upsert ``{question_id: value}`` (None clears) for a person ``read_step`` found in an
    open round, in the same unit of work. Values must be canonical (``check_value``)."""
    for question_id, value in answers.items():
        check_value(question_id, value)
    statements = _statements(connection.dialect.name)
    rows = [{"round_id": round_id, "user_id": user_id, "question_id": qid, "value": value, "updated_at": at}
            for qid, value in answers.items() if value is not None]
    cleared = [qid for qid, value in answers.items() if value is None]
    cursor = _cursor(connection) if rows else None
    if cursor is not None:
        upsert = _on_cursor(connection.dialect)["upsert"]
        with _raw_errors(upsert.sql):
            cursor.executemany(upsert.sql, [upsert.params(row) for row in rows])
    elif rows:
        connection.execute(statements["upsert"], rows)
    if cleared:
        connection.execute(statements["clear"], {"round_id": round_id, "user_id": user_id, "question_ids": cleared})


def mark_completed(connection: Connection, round_id: int, user_id: str, *, at: datetime) -> bool:
    """Record that the person finished; True the first time (later edits keep the first date)."""
    values = {"p_round": round_id, "p_user": user_id, "at": at}
    cursor = _cursor(connection)
    if cursor is not None:
        complete = _on_cursor(connection.dialect)["complete"]
        with _raw_errors(complete.sql):
            cursor.execute(complete.sql, complete.params(values))
        return cursor.rowcount == 1
    return connection.execute(_statements(connection.dialect.name)["complete"], values).rowcount == 1
