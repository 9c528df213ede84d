from __future__ import annotations

from sqlalchemy import BigInteger, Column, Float, Integer, String, Table, Text

from strongroom.db.base import metadata

audit_records = Table(
    "audit_records",
    metadata,
    Column(
        "id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    ),
    Column("time", Float, nullable=False, index=True),
    Column("request_id", String(64), nullable=True),
    Column("username", String(64), nullable=True, index=True),
    Column("path", String(512), nullable=True, index=True),
    Column("status", Integer, nullable=False),
    Column("outcome", String(16), nullable=False),
    # The whole record as written to the file sinks (JSON).
    Column("record", Text, nullable=False),
)
