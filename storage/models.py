"""The tables, as SQLAlchemy 2 typed ORM classes, portable between SQLite and PostgreSQL.

Conventions:

- Every timestamp is a timezone-aware UTC ``datetime`` in Python (``UTCDateTime``): PostgreSQL
  stores ``timestamptz``; SQLite has no time zones, so UTC is stored naive and made aware again
  on read. Naive datetimes are refused on write, so local time can never slip in.
- JSON columns are ``JSON`` (``jsonb`` on PostgreSQL) and hold plain JSON values.
- Slack ids (team ``T...``, user ``U...``, channel ``C.../D...``) are strings of up to 32
  characters, the width slack_sdk's own tables use.
- Constraint names follow ``NAMING_CONVENTION`` so that migrations can refer to them.
- slack_sdk's OAuth tables are declared in ``storage.oauth_tables`` as slack_sdk's own table
  builders build them (a test compares the two, so a slack_sdk upgrade that changes them is
  noticed), without importing slack_sdk's SQLAlchemy stores on the server path.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any, Literal

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    Float,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    false,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from storage import oauth_tables
from storage.oauth_tables import (
    SLACK_BOTS_TABLE,
    SLACK_INSTALLATIONS_TABLE,
    SLACK_OAUTH_STATES_TABLE,
)

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_N_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

SLACK_ID = 32

RoundKind = Literal["full", "pulse"]
RoundStatus = Literal["open", "closed"]
MessageStatus = Literal["claimed", "sent", "failed"]


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC datetime on both SQLite and PostgreSQL (see the module docstring)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        if not isinstance(value, datetime):
            raise TypeError(f"expected a datetime, got {type(value).__name__}")
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"naive datetime {value.isoformat()}: pass an aware one (UTC)")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class JSONValueType(TypeDecorator[Any]):
    """``JSON``, and ``jsonb`` on PostgreSQL. A TypeDecorator rather than
    ``JSON().with_variant(JSONB(), "postgresql")``, so that SQLite never imports the PostgreSQL
    dialect (2.3 MiB and 40 ms of the bot's start-up)."""

    impl = JSON
    cache_ok = True

    def load_dialect_impl(self, dialect):
        if dialect.name == "postgresql":
            from sqlalchemy.dialects.postgresql import JSONB

            return dialect.type_descriptor(JSONB())
        return dialect.type_descriptor(JSON())


JSONValue = JSONValueType()


BUILTIN_WHERE = text("team_id IS NULL")  # the partial index of built-in templates


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {datetime: UTCDateTime()}


def _check_in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class Workspace(Base):
    """A Slack workspace that installed the bot, and its settings."""

    __tablename__ = "workspaces"
    __table_args__ = (
        CheckConstraint("digest_weekday BETWEEN 0 AND 6", name="digest_weekday"),
        CheckConstraint("min_group_size >= 2", name="min_group_size"),
    )

    team_id: Mapped[str] = mapped_column(String(SLACK_ID), primary_key=True)
    name: Mapped[str | None] = mapped_column(String(200))
    digest_channel: Mapped[str | None] = mapped_column(String(SLACK_ID))
    digest_set_by: Mapped[str | None] = mapped_column(String(SLACK_ID))  # told if the digest cannot be posted
    digest_weekday: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    digest_time: Mapped[str] = mapped_column(String(5), default="09:00", server_default="09:00")
    timezone: Mapped[str] = mapped_column(String(64), default="UTC", server_default="UTC")
    min_group_size: Mapped[int] = mapped_column(Integer, default=3, server_default="3")
    # DMs reach people in these hours of their own time zone, on weekdays; None: at once.
    working_hours: Mapped[str | None] = mapped_column(String(11), default="09:00-17:00",
                                                      server_default="09:00-17:00")
    # StrategyCheck pulses: off until a leader turns them on; every N days.
    pulse_every_days: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    def __repr__(self) -> str:
        return f"Workspace({self.team_id!r}, name={self.name!r})"


class WorkspaceLeader(Base):
    """A person allowed to run rounds, ratify the ICP and change settings."""

    __tablename__ = "workspace_leaders"

    team_id: Mapped[str] = mapped_column(
        ForeignKey("workspaces.team_id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[str] = mapped_column(String(SLACK_ID), primary_key=True)
    added_by: Mapped[str | None] = mapped_column(String(SLACK_ID))
    added_at: Mapped[datetime] = mapped_column(default=utcnow)


class TemplateRecord(Base):
    """The exact YAML of a survey template a round was (or will be) asked with.

    ``team_id`` NULL marks a built-in template, stored on first use. The unique constraint
    covers workspace templates; built-ins need the partial index because NULLs never collide
    in a unique constraint.
    """

    __tablename__ = "templates"
    __table_args__ = (
        UniqueConstraint("team_id", "key", "version"),
        Index(
            "uq_templates_builtin_key_version",
            "key",
            "version",
            unique=True,
            sqlite_where=BUILTIN_WHERE,  # and postgresql_where: see add_postgresql_options
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    team_id: Mapped[str | None] = mapped_column(
        ForeignKey("workspaces.team_id", ondelete="CASCADE")
    )
    key: Mapped[str] = mapped_column(String(60))
    version: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(75))
    source_yaml: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class SurveyRound(Base):
    """One survey round: who was asked which template, and when it opened and closed."""

    __tablename__ = "survey_rounds"
    __table_args__ = (
        CheckConstraint(_check_in("kind", ("full", "pulse")), name="kind"),
        CheckConstraint(_check_in("status", ("open", "closed")), name="status"),
        Index("ix_survey_rounds_team_id_status", "team_id", "status"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    team_id: Mapped[str] = mapped_column(ForeignKey("workspaces.team_id", ondelete="CASCADE"))
    template_id: Mapped[int] = mapped_column(ForeignKey("templates.id"), index=True)
    title: Mapped[str] = mapped_column(String(150))
    kind: Mapped[str] = mapped_column(String(10), default="full", server_default="full")
    status: Mapped[str] = mapped_column(String(10), default="open", server_default="open")
    audience: Mapped[dict[str, Any]] = mapped_column(JSONValue, default=dict)
    created_by: Mapped[str | None] = mapped_column(String(SLACK_ID))
    opened_at: Mapped[datetime] = mapped_column(default=utcnow)
    closes_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]
    max_reminders: Mapped[int] = mapped_column(Integer, default=2, server_default="2")
    reminder_interval_hours: Mapped[int] = mapped_column(Integer, default=48, server_default="48")

    template: Mapped[TemplateRecord] = relationship(lazy="raise")

    @property
    def is_open(self) -> bool:
        return self.status == "open"

    def __repr__(self) -> str:
        return f"SurveyRound(id={self.id}, team_id={self.team_id!r}, status={self.status!r})"


class RoundParticipant(Base):
    """A person invited to a round; ``pseudonym`` is the only name exports ever show."""

    __tablename__ = "round_participants"
    __table_args__ = (UniqueConstraint("round_id", "pseudonym"),)

    round_id: Mapped[int] = mapped_column(
        ForeignKey("survey_rounds.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[str] = mapped_column(String(SLACK_ID), primary_key=True)
    team: Mapped[str | None] = mapped_column(String(40))
    pseudonym: Mapped[str] = mapped_column(String(12))
    invited_at: Mapped[datetime] = mapped_column(default=utcnow)
    dm_channel: Mapped[str | None] = mapped_column(String(SLACK_ID))
    invite_ts: Mapped[str | None] = mapped_column(String(32))
    reminders_sent: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    last_reminded_at: Mapped[datetime | None]
    completed_at: Mapped[datetime | None]
    tz: Mapped[str | None] = mapped_column(String(64))  # the person's Slack time zone, for working hours

    @property
    def completed(self) -> bool:
        return self.completed_at is not None


class Answer(Base):
    """One participant's current answer to one question; upserted, never duplicated."""

    __tablename__ = "answers"
    __table_args__ = (
        ForeignKeyConstraint(
            ["round_id", "user_id"],
            ["round_participants.round_id", "round_participants.user_id"],
            ondelete="CASCADE",
        ),
    )

    round_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[str] = mapped_column(String(SLACK_ID), primary_key=True)
    question_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    value: Mapped[Any] = mapped_column(JSONValue)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class IcpVersion(Base):
    """A ratified Ideal Customer Profile; versions count 1, 2, ... per workspace."""

    __tablename__ = "icp_versions"
    __table_args__ = (UniqueConstraint("team_id", "version"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    team_id: Mapped[str] = mapped_column(ForeignKey("workspaces.team_id", ondelete="CASCADE"))
    version: Mapped[int] = mapped_column(Integer)
    profile: Mapped[dict[str, Any]] = mapped_column(JSONValue)
    source_round_id: Mapped[int | None] = mapped_column(
        ForeignKey("survey_rounds.id", ondelete="SET NULL")
    )
    ratified_by: Mapped[str | None] = mapped_column(String(SLACK_ID))
    ratified_at: Mapped[datetime] = mapped_column(default=utcnow)


class CustomerRecord(Base):
    """One customer account of a workspace, imported from a CRM export (the company's data).

    The list is replaced as a whole on each import (``storage.customer_lists``) and goes with the
    workspace (ON DELETE CASCADE). ``traits`` holds canonical answers by question id.
    """

    __tablename__ = "customers"
    __table_args__ = (UniqueConstraint("team_id", "external_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    team_id: Mapped[str] = mapped_column(ForeignKey("workspaces.team_id", ondelete="CASCADE"))
    external_id: Mapped[str] = mapped_column(String(100))
    name: Mapped[str | None] = mapped_column(String(200))
    revenue: Mapped[float] = mapped_column(Float)
    deals: Mapped[int | None] = mapped_column(Integer)
    customer_since: Mapped[date | None] = mapped_column(Date)
    traits: Mapped[dict[str, Any]] = mapped_column(JSONValue, default=dict)
    source: Mapped[str] = mapped_column(String(20))
    template_key: Mapped[str] = mapped_column(String(60))
    imported_by: Mapped[str | None] = mapped_column(String(SLACK_ID))
    imported_at: Mapped[datetime] = mapped_column(default=utcnow)


class SentMessage(Base):
    """The exactly-once log: a post or DM is claimed under ``key`` before it is sent.

    ``attempts`` and ``claimed_at`` (beyond the first ``created_at``) let a failed or abandoned
    claim be taken over again by exactly one sender.
    """

    __tablename__ = "sent_messages"
    __table_args__ = (
        CheckConstraint(_check_in("status", ("claimed", "sent", "failed")), name="status"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    team_id: Mapped[str | None] = mapped_column(String(SLACK_ID), index=True)
    key: Mapped[str] = mapped_column(String(200), unique=True)
    kind: Mapped[str] = mapped_column(String(40))
    target: Mapped[str | None] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(10), default="claimed", server_default="claimed")
    attempts: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    channel: Mapped[str | None] = mapped_column(String(SLACK_ID))
    ts: Mapped[str | None] = mapped_column(String(32))
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    claimed_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None]


OutboxStatus = Literal["pending", "sending", "sent", "gave_up"]


class OutboxMessage(Base):
    """A Slack call that must happen once: written in the same transaction as the change that
    causes it, sent later by ``bot.outbox.OutboxSender``.

    ``key`` (workspace, kind, target, period) makes the enqueue idempotent. ``lease_until``
    keeps a message to one sender at a time; a lease that ran out means its sender died
    mid-call, so the next sender is ``uncertain`` whether Slack got it and checks first.
    ``notify_user`` is told once if the message cannot be delivered.
    """

    __tablename__ = "outbox"
    __table_args__ = (
        CheckConstraint(_check_in("status", ("pending", "sending", "sent", "gave_up")), name="status"),
        Index("ix_outbox_status_due_at", "status", "due_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    key: Mapped[str] = mapped_column(String(200), unique=True)
    team_id: Mapped[str] = mapped_column(String(SLACK_ID), index=True)
    kind: Mapped[str] = mapped_column(String(40))
    method: Mapped[str] = mapped_column(String(40))
    target: Mapped[str] = mapped_column(String(64))
    payload: Mapped[dict[str, Any]] = mapped_column(JSONValue)
    round_id: Mapped[int | None] = mapped_column(ForeignKey("survey_rounds.id", ondelete="CASCADE"), index=True)
    notify_user: Mapped[str | None] = mapped_column(String(SLACK_ID))
    status: Mapped[str] = mapped_column(String(10), default="pending", server_default="pending")
    due_at: Mapped[datetime] = mapped_column(default=utcnow)
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    uncertain: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    lease_until: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    reported: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    sent_channel: Mapped[str | None] = mapped_column(String(SLACK_ID))
    sent_ts: Mapped[str | None] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    first_attempt_at: Mapped[datetime | None]
    sent_at: Mapped[datetime | None]


# slack_sdk's OAuth tables (their naive DateTime columns are slack_sdk's business: it
# normalises to UTC before writing), declared by storage.oauth_tables as slack_sdk builds them.
slack_bots = oauth_tables.bots_table(Base.metadata, SLACK_BOTS_TABLE)
slack_installations = oauth_tables.installations_table(Base.metadata, SLACK_INSTALLATIONS_TABLE)
slack_oauth_states = oauth_tables.oauth_states_table(Base.metadata, SLACK_OAUTH_STATES_TABLE)

def add_postgresql_options() -> None:
    """Give the built-in templates' partial index its PostgreSQL ``WHERE`` (``storage.db``
    calls this when it opens a PostgreSQL database). Not at class definition: naming a
    dialect's option there imports that dialect, and SQLite would load PostgreSQL's."""
    index = next(i for i in TemplateRecord.__table__.indexes if i.name == "uq_templates_builtin_key_version")
    index.dialect_options["postgresql"]["where"] = BUILTIN_WHERE


# Tables that live in the same database but are created by someone else at run time.
FOREIGN_TABLES = frozenset({"apscheduler_jobs"})


def include_name(name: str | None, type_: str, parent_names: object) -> bool:
    """Alembic filter: leave alone tables other libraries create at run time."""
    return not (type_ == "table" and name in FOREIGN_TABLES)
