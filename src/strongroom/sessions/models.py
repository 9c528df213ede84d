"""Tables of the database session store (the embedded default; Redis keeps its own keys)."""

from __future__ import annotations

from sqlalchemy import Boolean, Column, Float, Index, Integer, String, Table, Text

from strongroom.db.base import metadata

sessions = Table(
    "sessions",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("user_id", String(36), nullable=False, index=True),
    Column("username", String(64), nullable=False),
    Column("role", String(64), nullable=False),
    Column("auth_method", String(16), nullable=False),
    Column("access_hash", String(64), nullable=False, unique=True),
    Column("refresh_hash", String(64), nullable=True, unique=True),
    Column("created_at", Float, nullable=False),
    Column("last_used_at", Float, nullable=False),
    Column("access_expires_at", Float, nullable=False),
    Column("refresh_expires_at", Float, nullable=True),
    Column("max_expires_at", Float, nullable=False, index=True),
    Column("access_ttl", Float, nullable=False),
    Column("idle_timeout", Float, nullable=True),
    Column("bound_ip", String(45), nullable=True),
    Column("uses", Integer, nullable=False, default=0),
    Column("max_uses", Integer, nullable=True),
    Column("one_time", Boolean, nullable=False, default=False),
    Column("scope", Text, nullable=False, default=""),
    Column("client_id", String(128), nullable=True),
    Column("ip", String(45), nullable=True),
    Column("user_agent", String(512), nullable=True),
)

used_refresh_tokens = Table(
    "used_refresh_tokens",
    metadata,
    Column("token_hash", String(64), primary_key=True),
    Column("session_id", String(36), nullable=False),
    Column("expires_at", Float, nullable=False, index=True),
)

login_failures = Table(
    "login_failures",
    metadata,
    Column("key", String(200), primary_key=True),
    Column("failures", Integer, nullable=False),
    Column("window_ends_at", Float, nullable=False),
    Column("locked_until", Float, nullable=True),
)

store_meta = Table(
    "store_meta",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("value", String(128), nullable=False),
)

Index("ix_sessions_expiry_sweep", sessions.c.refresh_expires_at, sessions.c.access_expires_at)

# The generation of a Redis session store (sessions/generation.py): the database's record of
# which Redis process holds the sessions of that generation, so that a Redis restarted from
# an old snapshot (or empty, or a replica promoted) is noticed and its sessions ended.
store_generations = Table(
    "store_generations",
    metadata,
    Column("prefix", String(200), primary_key=True),
    Column("generation", Integer, nullable=False),
    Column("identity", String(100), nullable=False),
    Column("changed_at", Float, nullable=False),
)
