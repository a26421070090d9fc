"""The outbox: every Slack call that must happen once; participants' time zones; working
hours and pulse cadence per workspace.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-01
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SLACK_ID = 32


def utc() -> sa.types.TypeEngine:
    return sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "outbox",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("key", sa.String(200), nullable=False),
        sa.Column("team_id", sa.String(SLACK_ID), nullable=False),
        sa.Column("kind", sa.String(40), nullable=False),
        sa.Column("method", sa.String(40), nullable=False),
        sa.Column("target", sa.String(64), nullable=False),
        sa.Column("payload", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=False),
        sa.Column("round_id", sa.Integer(), nullable=True),
        sa.Column("notify_user", sa.String(SLACK_ID), nullable=True),
        sa.Column("status", sa.String(10), server_default="pending", nullable=False),
        sa.Column("due_at", utc(), nullable=False),
        sa.Column("attempts", sa.Integer(), server_default="0", nullable=False),
        sa.Column("uncertain", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("lease_until", utc(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("reported", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("sent_channel", sa.String(SLACK_ID), nullable=True),
        sa.Column("sent_ts", sa.String(32), nullable=True),
        sa.Column("created_at", utc(), nullable=False),
        sa.Column("first_attempt_at", utc(), nullable=True),
        sa.Column("sent_at", utc(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_outbox"),
        sa.UniqueConstraint("key", name="uq_outbox_key"),
        sa.ForeignKeyConstraint(["round_id"], ["survey_rounds.id"], name="fk_outbox_round_id_survey_rounds",
                                ondelete="CASCADE"),
        sa.CheckConstraint("status IN ('pending', 'sending', 'sent', 'gave_up')", name="ck_outbox_status"),
    )
    op.create_index("ix_outbox_team_id", "outbox", ["team_id"])
    op.create_index("ix_outbox_round_id", "outbox", ["round_id"])
    op.create_index("ix_outbox_status_due_at", "outbox", ["status", "due_at"])
    with op.batch_alter_table("round_participants") as batch:
        batch.add_column(sa.Column("tz", sa.String(64), nullable=True))
    with op.batch_alter_table("workspaces") as batch:
        batch.add_column(sa.Column("working_hours", sa.String(11), server_default="09:00-17:00", nullable=True))
        batch.add_column(sa.Column("pulse_every_days", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("digest_set_by", sa.String(SLACK_ID), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("workspaces") as batch:
        batch.drop_column("digest_set_by")
        batch.drop_column("pulse_every_days")
        batch.drop_column("working_hours")
    with op.batch_alter_table("round_participants") as batch:
        batch.drop_column("tz")
    op.drop_index("ix_outbox_status_due_at", table_name="outbox")
    op.drop_index("ix_outbox_round_id", table_name="outbox")
    op.drop_index("ix_outbox_team_id", table_name="outbox")
    op.drop_table("outbox")
