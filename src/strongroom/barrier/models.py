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

# One row (id 1), written once by `sys/init` and changed by a rekey: which seal made the root
# key, and its share counts. No key material: a Shamir root key is never stored, and a pkcs11
# root key only wrapped by the HSM's key (`wrapped_root`).
seal_config = Table(
    "seal_config",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("seal_type", String(16), nullable=False),
    Column("secret_shares", Integer, nullable=False),
    Column("secret_threshold", Integer, nullable=False),
    Column("wrapped_root", LargeBinary, nullable=True),
    Column("initialised_at", Float, nullable=False),
    Column("rekeyed_at", Float, nullable=True),
)

# The rewrap job after a rotation: one row per job, its lease held by one worker at a time,
# its cursor committed with each batch so that a crash resumes where it stopped.
rewrap_jobs = Table(
    "rewrap_jobs",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("data_version", Integer, nullable=False),
    Column("stage", String(32), nullable=False),
    Column("cursor", String(1024), nullable=False),
    Column("done", Integer, nullable=False),
    Column("total", Integer, nullable=False),
    Column("state", String(16), nullable=False),
    Column("lease_owner", String(64), nullable=True),
    Column("lease_until", Float, nullable=True),
    Column("started_at", Float, nullable=False),
    Column("finished_at", Float, nullable=True),
)
