from __future__ import annotations

from sqlalchemy import BigInteger, Boolean, Column, Float, String, Table, Text

from strongroom.db.base import metadata

users = Table(
    "users",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("username", String(64), nullable=False, unique=True),
    Column("email", String(254), nullable=True, unique=True),
    Column("role", String(64), nullable=False),
    Column("password_hash", Text, nullable=True),
    Column("github_id", BigInteger, nullable=True, unique=True),
    Column("github_login", String(64), nullable=True),
    Column("disabled", Boolean, nullable=False, default=False),
    Column("created_at", Float, nullable=False),
    Column("updated_at", Float, nullable=False),
)
