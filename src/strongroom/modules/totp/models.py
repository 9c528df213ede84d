from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Float,
    ForeignKey,
    Integer,
    LargeBinary,
    String,
    Table,
    UniqueConstraint,
)

from strongroom.db.base import metadata

totp_keys = Table(
    "totp_keys",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("user_id", String(36), ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("name", String(128), nullable=False),
    # True: the server made the seed (its owner's authenticator holds the other copy).
    Column("generated", Boolean, nullable=False),
    Column("issuer", String(256), nullable=False),
    Column("account_name", String(256), nullable=False),
    Column("algorithm", String(8), nullable=False),
    Column("digits", Integer, nullable=False),
    Column("period", Integer, nullable=False),
    Column("skew", Integer, nullable=False),
    # The seed, through the barrier: an AES-256-GCM blob (crypto.aead) bound to
    # "module:totp:<id>" (modules/stored.py).
    Column("seed", LargeBinary, nullable=False),
    # The latest time step a code was accepted for: a code validates once, and never one of
    # an earlier step after it (RFC 6238 §5.2). Compared and set in one statement.
    Column("last_used_step", BigInteger, nullable=True),
    Column("created_at", Float, nullable=False),
    Column("updated_at", Float, nullable=False),
    UniqueConstraint("user_id", "name"),
)
