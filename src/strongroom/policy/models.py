from __future__ import annotations

from sqlalchemy import Boolean, Column, Float, String, Table, Text

from strongroom.db.base import metadata

roles = Table(
    "roles",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("description", Text, nullable=False, default=""),
    # JSON list of {"path": "...", "capabilities": [...]}
    Column("rules", Text, nullable=False, default="[]"),
    Column("builtin", Boolean, nullable=False, default=False),
    Column("created_at", Float, nullable=False),
    Column("updated_at", Float, nullable=False),
)
