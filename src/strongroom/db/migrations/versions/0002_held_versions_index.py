"""index of the versions that still hold a ciphertext

The wipe of versions beyond `max_versions`, on every write, walked the primary key over all
the versions a secret ever had: its cost grew with each write. This partial index holds only
the versions with a ciphertext (at most `max_versions` per secret).

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25 17:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

_HELD = sa.text("ciphertext IS NOT NULL")


def upgrade() -> None:
    op.create_index(
        "ix_secret_versions_held",
        "secret_versions",
        ["secret_id", "version"],
        sqlite_where=_HELD,
        postgresql_where=_HELD,
    )


def downgrade() -> None:
    op.drop_index("ix_secret_versions_held", table_name="secret_versions")
