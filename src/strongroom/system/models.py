from __future__ import annotations

from sqlalchemy import Column, Float, Integer, LargeBinary, String, Table, Text

from strongroom.db.base import metadata

settings = Table(
    "settings",
    metadata,
    Column("key", String(128), primary_key=True),
    # JSON text for plain settings; secret-typed settings keep only `secret_value`.
    Column("value", Text, nullable=True),
    Column("secret_value", LargeBinary, nullable=True),
    Column("updated_at", Float, nullable=False),
    Column("updated_by", String(64), nullable=True),
)

settings_history = Table(
    "settings_history",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("key", String(128), nullable=False, index=True),
    # JSON text, secret values masked
    Column("old_value", Text, nullable=True),
    Column("new_value", Text, nullable=True),
    Column("changed_at", Float, nullable=False, index=True),
    Column("changed_by", String(64), nullable=True),
    Column("request_id", String(64), nullable=True),
)
