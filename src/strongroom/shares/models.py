from __future__ import annotations

from sqlalchemy import Column, Float, ForeignKey, Index, Integer, LargeBinary, String, Table

from strongroom.db.base import metadata

shares = Table(
    "shares",
    metadata,
    Column("id", String(36), primary_key=True),
    # The value sealed under the link's key (crypto.share), then through the barrier, bound to
    # "share:<id>": neither a dump with the keyring nor one without it opens the value.
    Column("blob", LargeBinary, nullable=False),
    # SHA-256 of the claim proof derived from the link's key: only the link claims the share.
    Column("proof_hash", String(64), nullable=False),
    Column("created_by", String(36), ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    # The secret it was copied from, for its owner's list (never shown to the recipient).
    Column("secret_id", String(36), nullable=False),
    Column("secret_path", String(1024), nullable=False),
    Column("version", Integer, nullable=False),
    Column("created_at", Float, nullable=False),
    Column("expires_at", Float, nullable=False),
    Index("ix_shares_expires_at", "expires_at"),
    Index("ix_shares_created_by", "created_by"),
)
