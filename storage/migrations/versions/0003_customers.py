"""Customers: a workspace's customer list imported from a CRM export.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SLACK_ID = 32


def upgrade() -> None:
    op.create_table(
        "customers",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("team_id", sa.String(SLACK_ID), nullable=False),
        sa.Column("external_id", sa.String(100), nullable=False),
        sa.Column("name", sa.String(200), nullable=True),
        sa.Column("revenue", sa.Float(), nullable=False),
        sa.Column("deals", sa.Integer(), nullable=True),
        sa.Column("customer_since", sa.Date(), nullable=True),
        sa.Column("traits", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=False),
        sa.Column("source", sa.String(20), nullable=False),
        sa.Column("template_key", sa.String(60), nullable=False),
        sa.Column("imported_by", sa.String(SLACK_ID), nullable=True),
        sa.Column("imported_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_customers"),
        sa.ForeignKeyConstraint(
            ["team_id"], ["workspaces.team_id"],
            name="fk_customers_team_id_workspaces", ondelete="CASCADE",
        ),
        sa.UniqueConstraint("team_id", "external_id", name="uq_customers_team_id_external_id"),
    )


def downgrade() -> None:
    op.drop_table("customers")
