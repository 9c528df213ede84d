"""the generation of the Redis session store

A Redis restarted from an old snapshot (or empty, or a lagging replica promoted) brings back
sessions and tokens that were revoked. Each node checks, on every new connection, that Redis
is still the process the database records for the current generation; a different one starts
a new generation, and every session of an older one is dead (sessions/generation.py).

Revision ID: 0004
Revises: 0002
Create Date: 2026-12-02 10:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "store_generations",
        sa.Column("prefix", sa.String(length=200), nullable=False),
        sa.Column("generation", sa.Integer(), nullable=False),
        sa.Column("identity", sa.String(length=100), nullable=False),
        sa.Column("changed_at", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("prefix", name=op.f("pk_store_generations")),
    )


def downgrade() -> None:
    op.drop_table("store_generations")
