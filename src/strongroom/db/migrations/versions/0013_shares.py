"""share-once links: sealed copies of a value, claimed once by the holder of the link

Revision ID: 0013
Revises: 0003
Create Date: 2026-12-03 13:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "shares",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("blob", sa.LargeBinary(), nullable=False),
        sa.Column("proof_hash", sa.String(length=64), nullable=False),
        sa.Column("created_by", sa.String(length=36), nullable=False),
        sa.Column("secret_id", sa.String(length=36), nullable=False),
        sa.Column("secret_path", sa.String(length=1024), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.Column("expires_at", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(
            ["created_by"],
            ["users.id"],
            name=op.f("fk_shares_created_by_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_shares")),
    )
    op.create_index("ix_shares_expires_at", "shares", ["expires_at"], unique=False)
    op.create_index("ix_shares_created_by", "shares", ["created_by"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_shares_created_by", table_name="shares")
    op.drop_index("ix_shares_expires_at", table_name="shares")
    op.drop_table("shares")
