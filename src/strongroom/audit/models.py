"""The `audit_records` table of the database sink.

The whole record is kept as written (`record`, JSON); a few members are copied into indexed
columns so that `GET /api/v1/audit` can filter without parsing JSON in SQL. `username` is the
principal's user, or the username a failed login attempted; `status` and `outcome` are null for
gap records.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, Float, Integer, String, Table, Text

from strongroom.db.base import metadata

USERNAME_LENGTH = 64
PATH_LENGTH = 512

audit_records = Table(
    "audit_records",
    metadata,
    Column(
        "id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    ),
    Column("time", Float, nullable=False, index=True),
    Column("request_id", String(64), nullable=True),
    Column("username", String(USERNAME_LENGTH), nullable=True, index=True),
    Column("path", String(PATH_LENGTH), nullable=True, index=True),
    Column("status", Integer, nullable=True),
    Column("outcome", String(16), nullable=True),
    Column("record", Text, nullable=False),
)


# The last record of each audit log file's chain, as its writers last saw it (issue 16,
# finding 10): `strongroom audit verify` refuses a log that ends before this record, or holds
# another record at this `seq`. `chain` names the file (its resolved path).
audit_checkpoints = Table(
    "audit_checkpoints",
    metadata,
    Column("chain", String(1024), primary_key=True),
    Column("seq", BigInteger, nullable=False),
    Column("hash", String(64), nullable=False),
    Column("updated_at", Float, nullable=False),
)
