from __future__ import annotations

from sqlalchemy import (
    Boolean,
    Column,
    Float,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    LargeBinary,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
)

from strongroom.db.base import metadata

# Paths are ASCII (secrets.paths); byte order on PostgreSQL whatever the database's collation,
# so that prefix ranges and keyset pagination behave as on SQLite (BINARY).
PathType = String(512).with_variant(String(512, collation="C"), "postgresql")

secrets = Table(
    "secrets",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("path", String(512), nullable=False),
    # Equal to `path` while the secret holds it; NULL once deleted, destroyed or expired (the
    # path is released). Unique, so at most one secret holds a path (NULLs don't clash). The
    # listing walks this index: only live secrets are in it.
    Column("path_key", PathType, nullable=True, unique=True),
    Column("current_version", Integer, nullable=False),
    # JSON object (string -> string); clear text by design, mirrored in secret_metadata.
    Column("metadata", Text, nullable=False, default="{}"),
    Column("max_reads", Integer, nullable=True),
    # Counted only when max_reads is set: ordinary reads never write.
    Column("reads", Integer, nullable=False, default=0),
    Column("expires_at", Float, nullable=True, index=True),
    Column("deleted_at", Float, nullable=True),
    Column("destroyed", Boolean, nullable=False, default=False),
    Column("created_at", Float, nullable=False),
    Column("updated_at", Float, nullable=False),
    Column("created_by", String(64), nullable=True),
    Column("updated_by", String(64), nullable=True),
)

secret_versions = Table(
    "secret_versions",
    metadata,
    Column("secret_id", String(36), ForeignKey("secrets.id", ondelete="CASCADE"), nullable=False),
    Column("version", Integer, nullable=False),
    # AES-256-GCM blob (crypto.aead) bound to "secret:<id>:<version>"; NULL once destroyed.
    # Under the version's own key (secret_version_keys) when that row exists; without one, a
    # value written before envelopes (migration 0006), under a keyring data key.
    Column("ciphertext", LargeBinary, nullable=True),
    Column("value_type", String(8), nullable=False, default="string"),
    Column("created_at", Float, nullable=False),
    Column("created_by", String(64), nullable=True),
    Column("destroyed_at", Float, nullable=True),
    PrimaryKeyConstraint("secret_id", "version"),
)

# The key of each version's value (envelope encryption, crypto/envelope.py): a random 256-bit
# data-encryption key drawn for that version, wrapped by a keyring data key (the version is in
# the blob's header) with associated data "dek|secret:<id>:<version>". A row lives exactly as
# long as its version holds a ciphertext: the destroy, the burn of a `max_reads` secret, the
# expiry sweep and the pruning beyond `max_versions` delete it in the transaction that wipes
# the ciphertext, and then no copy of that ciphertext can be decrypted with the keyring. Kept
# apart from the ciphertexts: small rows, deleted rather than updated. Key rotation re-wraps
# `wrapped_key` (envelope.rewrap_key); the ciphertexts never need rewriting.
secret_version_keys = Table(
    "secret_version_keys",
    metadata,
    Column("secret_id", String(36), nullable=False),
    Column("version", Integer, nullable=False),
    Column("wrapped_key", LargeBinary, nullable=False),
    PrimaryKeyConstraint("secret_id", "version"),
    ForeignKeyConstraint(
        ["secret_id", "version"],
        ["secret_versions.secret_id", "secret_versions.version"],
        ondelete="CASCADE",
    ),
)

secret_metadata = Table(
    "secret_metadata",
    metadata,
    Column("secret_id", String(36), ForeignKey("secrets.id", ondelete="CASCADE"), nullable=False),
    Column("key", String(128), nullable=False),
    Column("value", String(512), nullable=False),
    PrimaryKeyConstraint("secret_id", "key"),
)

Index("ix_secret_metadata_key_value", secret_metadata.c.key, secret_metadata.c.value)

# The versions that still hold a ciphertext: at most `max_versions` (+1 while a write commits)
# per secret. The wipe of every write walks this index, not the primary key, whose range over
# all the versions ever written would grow with each write.
_HELD = secret_versions.c.ciphertext.is_not(None)
Index(
    "ix_secret_versions_held",
    secret_versions.c.secret_id,
    secret_versions.c.version,
    sqlite_where=_HELD,
    postgresql_where=_HELD,
)
