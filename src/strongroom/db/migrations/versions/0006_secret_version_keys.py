"""a key of its own for each secret version (envelope encryption)

Destroying a version used to wipe its ciphertext while the keyring that decrypts it stayed: a
copy of the row kept from before (a backup, the SQLite WAL, a dead PostgreSQL tuple) could
still be decrypted. Each new version's value is now encrypted under a random key of its own,
stored wrapped in this table and deleted when the version is destroyed, burned, expired or
pruned. Versions written before keep no row here and are decrypted with the keyring as before.

Revision ID: 0006
Revises: 0009
Create Date: 2026-12-02 10:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "secret_version_keys",
        sa.Column("secret_id", sa.String(length=36), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("wrapped_key", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(
            ["secret_id", "version"],
            ["secret_versions.secret_id", "secret_versions.version"],
            name=op.f("fk_secret_version_keys_secret_id_secret_versions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("secret_id", "version", name=op.f("pk_secret_version_keys")),
    )


def downgrade() -> None:
    # Dropping the keys would make every value written since unreadable, for good.
    held = op.get_bind().execute(sa.text("SELECT count(*) FROM secret_version_keys")).scalar()
    if held:
        raise RuntimeError(
            f"{held} secret versions are encrypted under keys of their own; a downgrade "
            "below 0006 would destroy them"
        )
    op.drop_table("secret_version_keys")
