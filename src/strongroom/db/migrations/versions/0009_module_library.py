"""the module library: enablements, transit keys and their versions, TOTP keys

Module data belongs to a user (ON DELETE CASCADE from users). Key material and seeds are
stored only through the barrier (see strongroom/modules/stored.py).

Revision ID: 0009
Revises: 0004
Create Date: 2026-12-03 10:28:57.580722
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "module_enablements",
        sa.Column("user_id", sa.String(length=36), nullable=False),
        sa.Column("module_id", sa.String(length=32), nullable=False),
        sa.Column("enabled_at", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_module_enablements_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("user_id", "module_id", name=op.f("pk_module_enablements")),
    )
    op.create_table(
        "totp_keys",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("user_id", sa.String(length=36), nullable=False),
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column("generated", sa.Boolean(), nullable=False),
        sa.Column("issuer", sa.String(length=256), nullable=False),
        sa.Column("account_name", sa.String(length=256), nullable=False),
        sa.Column("algorithm", sa.String(length=8), nullable=False),
        sa.Column("digits", sa.Integer(), nullable=False),
        sa.Column("period", sa.Integer(), nullable=False),
        sa.Column("skew", sa.Integer(), nullable=False),
        sa.Column("seed", sa.LargeBinary(), nullable=False),
        sa.Column("last_used_step", sa.BigInteger(), nullable=True),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.Column("updated_at", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_totp_keys_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_totp_keys")),
        sa.UniqueConstraint("user_id", "name", name=op.f("uq_totp_keys_user_id_name")),
    )
    op.create_table(
        "transit_keys",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("user_id", sa.String(length=36), nullable=False),
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column("type", sa.String(length=32), nullable=False),
        sa.Column("exportable", sa.Boolean(), nullable=False),
        sa.Column("deletion_allowed", sa.Boolean(), nullable=False),
        sa.Column("latest_version", sa.Integer(), nullable=False),
        sa.Column("min_decryption_version", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.Column("updated_at", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_transit_keys_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_transit_keys")),
        sa.UniqueConstraint("user_id", "name", name=op.f("uq_transit_keys_user_id_name")),
    )
    op.create_table(
        "transit_key_versions",
        sa.Column("key_id", sa.String(length=36), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("material", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(
            ["key_id"],
            ["transit_keys.id"],
            name=op.f("fk_transit_key_versions_key_id_transit_keys"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("key_id", "version", name=op.f("pk_transit_key_versions")),
    )


def downgrade() -> None:
    op.drop_table("transit_key_versions")
    op.drop_table("transit_keys")
    op.drop_table("totp_keys")
    op.drop_table("module_enablements")
