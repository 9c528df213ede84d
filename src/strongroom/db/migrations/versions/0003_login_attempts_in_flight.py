"""login attempts in flight

A login reserves its attempt on the account's and the client's failure counters before the
password is checked, so that concurrent guesses cannot outrun the lock-out (issue 16,
finding 1): `pending` counts the attempts reserved and not yet settled.

Revision ID: 0003
Revises: 0006
Create Date: 2026-12-02 10:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "login_failures",
        sa.Column("pending", sa.Integer(), nullable=False, server_default="0"),
    )


def downgrade() -> None:
    with op.batch_alter_table("login_failures") as batch_op:
        batch_op.drop_column("pending")
