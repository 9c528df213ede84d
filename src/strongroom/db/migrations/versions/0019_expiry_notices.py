"""expiry notices: the webhook deliveries before and at a secret's expiry (issue 22)

Revision ID: 0019
Revises: 0016
Create Date: 2026-12-03 15:10:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0019"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "expiry_notices",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("secret_id", sa.String(length=36), nullable=False),
        sa.Column("path", sa.String(length=512), nullable=False),
        sa.Column("expires_at", sa.Float(), nullable=False),
        sa.Column("lead_time", sa.Integer(), nullable=False),
        sa.Column("event", sa.String(length=32), nullable=False),
        sa.Column("due_at", sa.Float(), nullable=False),
        sa.Column("status", sa.String(length=8), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.Float(), nullable=False),
        sa.Column("last_status", sa.Integer(), nullable=True),
        sa.Column("last_error", sa.String(length=200), nullable=True),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.Column("sent_at", sa.Float(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_expiry_notices")),
        sa.UniqueConstraint(
            "secret_id",
            "expires_at",
            "lead_time",
            name=op.f("uq_expiry_notices_secret_id_expires_at_lead_time"),
        ),
    )
    op.create_index(
        "ix_expiry_notices_due", "expiry_notices", ["status", "next_attempt_at"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_expiry_notices_due", table_name="expiry_notices")
    op.drop_table("expiry_notices")
