from __future__ import annotations

from sqlalchemy import Column, Float, Integer, LargeBinary, PrimaryKeyConstraint, String, Table

from strongroom.db.base import metadata

keyring = Table(
    "keyring",
    metadata,
    Column("purpose", String(16), nullable=False),
    Column("version", Integer, nullable=False),
    Column("wrapped_key", LargeBinary, nullable=False),
    Column("created_at", Float, nullable=False),
    PrimaryKeyConstraint("purpose", "version"),
)
