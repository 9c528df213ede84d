from __future__ import annotations

from sqlalchemy import Column, Float, Index, Integer, String, Table, UniqueConstraint

from strongroom.db.base import metadata

# One row per notice: (secret, its expiry, lead time) is unique, so however many nodes find a
# notice due, one row exists and one node at a time holds its delivery (`next_attempt_at` is
# pushed ahead by the node that claims it). `lead_time` 0 is the notice at expiry. The rows
# are the delivery log (readable by admins): attempts, the last answer, when it was sent.
expiry_notices = Table(
    "expiry_notices",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("secret_id", String(36), nullable=False),
    Column("path", String(512), nullable=False),
    Column("expires_at", Float, nullable=False),
    Column("lead_time", Integer, nullable=False),
    Column("event", String(32), nullable=False),
    Column("due_at", Float, nullable=False),
    # pending | sent | failed
    Column("status", String(8), nullable=False),
    Column("attempts", Integer, nullable=False, default=0),
    Column("next_attempt_at", Float, nullable=False),
    Column("last_status", Integer, nullable=True),
    Column("last_error", String(200), nullable=True),
    Column("created_at", Float, nullable=False),
    Column("sent_at", Float, nullable=True),
    UniqueConstraint("secret_id", "expires_at", "lead_time"),
)

Index("ix_expiry_notices_due", expiry_notices.c.status, expiry_notices.c.next_attempt_at)
