"""the Vault-compatible API: KV mounts, AppRole roles and secret ids, wrapped responses

Revision ID: 0017
Revises: 0013
Create Date: 2026-12-03 15:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "vault_mounts",
        sa.Column("path", sa.String(length=64), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("description", sa.String(length=256), nullable=False),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("path", name=op.f("pk_vault_mounts")),
    )
    op.create_table(
        "approle_roles",
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column("role_id", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.String(length=36), nullable=False),
        sa.Column("secret_id_num_uses", sa.Integer(), nullable=False),
        sa.Column("secret_id_ttl", sa.Integer(), nullable=False),
        sa.Column("token_ttl", sa.Integer(), nullable=False),
        sa.Column("token_num_uses", sa.Integer(), nullable=False),
        sa.Column("secret_id_bound_cidrs", sa.Text(), nullable=False),
        sa.Column("token_bound_cidrs", sa.Text(), nullable=False),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_approle_roles_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_approle_roles")),
        sa.UniqueConstraint("role_id", name=op.f("uq_approle_roles_role_id")),
    )
    op.create_table(
        "approle_secret_ids",
        sa.Column("secret_hmac", sa.String(length=64), nullable=False),
        sa.Column("accessor", sa.String(length=64), nullable=False),
        sa.Column("role_name", sa.String(length=128), nullable=False),
        sa.Column("uses_left", sa.Integer(), nullable=True),
        sa.Column("expires_at", sa.Float(), nullable=True),
        sa.Column("cidrs", sa.Text(), nullable=False),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(
            ["role_name"],
            ["approle_roles.name"],
            name=op.f("fk_approle_secret_ids_role_name_approle_roles"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("secret_hmac", name=op.f("pk_approle_secret_ids")),
        sa.UniqueConstraint("accessor", name=op.f("uq_approle_secret_ids_accessor")),
    )
    op.create_index(
        "ix_approle_secret_ids_role_name", "approle_secret_ids", ["role_name"], unique=False
    )
    op.create_table(
        "vault_wrapped",
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("accessor", sa.String(length=64), nullable=False),
        sa.Column("ciphertext", sa.LargeBinary(), nullable=False),
        sa.Column("wrapped_key", sa.LargeBinary(), nullable=False),
        sa.Column("creation_path", sa.String(length=1024), nullable=False),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.Column("expires_at", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("token_hash", name=op.f("pk_vault_wrapped")),
        sa.UniqueConstraint("accessor", name=op.f("uq_vault_wrapped_accessor")),
    )
    op.create_index("ix_vault_wrapped_expires_at", "vault_wrapped", ["expires_at"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_vault_wrapped_expires_at", table_name="vault_wrapped")
    op.drop_table("vault_wrapped")
    op.drop_index("ix_approle_secret_ids_role_name", table_name="approle_secret_ids")
    op.drop_table("approle_secret_ids")
    op.drop_table("approle_roles")
    op.drop_table("vault_mounts")
