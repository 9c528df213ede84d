"""key custody: the seal's configuration (type, shares, threshold) and rewrap jobs

Revision ID: 0016
Revises: 0017
Create Date: 2026-12-03 14:50:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "seal_config",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("seal_type", sa.String(length=16), nullable=False),
        sa.Column("secret_shares", sa.Integer(), nullable=False),
        sa.Column("secret_threshold", sa.Integer(), nullable=False),
        sa.Column("wrapped_root", sa.LargeBinary(), nullable=True),
        sa.Column("initialised_at", sa.Float(), nullable=False),
        sa.Column("rekeyed_at", sa.Float(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_seal_config")),
    )
    op.create_table(
        "rewrap_jobs",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("data_version", sa.Integer(), nullable=False),
        sa.Column("stage", sa.String(length=32), nullable=False),
        sa.Column("cursor", sa.String(length=1024), nullable=False),
        sa.Column("done", sa.Integer(), nullable=False),
        sa.Column("total", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("lease_owner", sa.String(length=64), nullable=True),
        sa.Column("lease_until", sa.Float(), nullable=True),
        sa.Column("started_at", sa.Float(), nullable=False),
        sa.Column("finished_at", sa.Float(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rewrap_jobs")),
    )


def downgrade() -> None:
    op.drop_table("rewrap_jobs")
    op.drop_table("seal_config")
