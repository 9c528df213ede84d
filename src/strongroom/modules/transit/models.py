from __future__ import annotations

from sqlalchemy import (
    Boolean,
    Column,
    Float,
    ForeignKey,
    Integer,
    LargeBinary,
    PrimaryKeyConstraint,
    String,
    Table,
    UniqueConstraint,
)

from strongroom.db.base import metadata

transit_keys = Table(
    "transit_keys",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("user_id", String(36), ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("name", String(128), nullable=False),
    Column("type", String(32), nullable=False),
    Column("exportable", Boolean, nullable=False, default=False),
    Column("deletion_allowed", Boolean, nullable=False, default=False),
    Column("latest_version", Integer, nullable=False),
    Column("min_decryption_version", Integer, nullable=False),
    Column("created_at", Float, nullable=False),
    Column("updated_at", Float, nullable=False),
    UniqueConstraint("user_id", "name"),
)

transit_key_versions = Table(
    "transit_key_versions",
    metadata,
    Column("key_id", String(36), ForeignKey("transit_keys.id", ondelete="CASCADE"), nullable=False),
    Column("version", Integer, nullable=False),
    # The key material of this version, through the barrier: an AES-256-GCM blob (crypto.aead)
    # bound to "module:transit:<key_id>:<version>" (modules/stored.py).
    Column("material", LargeBinary, nullable=False),
    Column("created_at", Float, nullable=False),
    PrimaryKeyConstraint("key_id", "version"),
)
