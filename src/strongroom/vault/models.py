"""Tables of the Vault-compatible API: KV mounts, AppRole roles and secret ids, wrapped
responses. Credentials are stored as hashes only; wrapped responses sealed by the barrier."""

from __future__ import annotations

from sqlalchemy import Column, Float, ForeignKey, Index, Integer, LargeBinary, String, Table, Text

from strongroom.db.base import metadata

vault_mounts = Table(
    "vault_mounts",
    metadata,
    # The mount path without slashes ("kv1"); `secret` is always there and not stored.
    Column("path", String(64), primary_key=True),
    Column("version", Integer, nullable=False),
    Column("description", String(256), nullable=False),
    Column("created_at", Float, nullable=False),
)

approle_roles = Table(
    "approle_roles",
    metadata,
    Column("name", String(128), primary_key=True),
    Column("role_id", String(64), nullable=False, unique=True),
    # The strongroom user the role's logins act as (no password; role = the token policy).
    Column("user_id", String(36), ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("secret_id_num_uses", Integer, nullable=False),
    Column("secret_id_ttl", Integer, nullable=False),
    Column("token_ttl", Integer, nullable=False),
    Column("token_num_uses", Integer, nullable=False),
    # JSON lists of CIDRs: where a secret id may be used from, what the token is bound to.
    Column("secret_id_bound_cidrs", Text, nullable=False),
    Column("token_bound_cidrs", Text, nullable=False),
    Column("created_at", Float, nullable=False),
)

approle_secret_ids = Table(
    "approle_secret_ids",
    metadata,
    # HMAC-SHA256 of the secret id under the keyring's signing key: a 256-bit random value
    # needs no slow hash, and a dump without the keyring cannot even test a guess.
    Column("secret_hmac", String(64), primary_key=True),
    Column("accessor", String(64), nullable=False, unique=True),
    Column(
        "role_name",
        String(128),
        ForeignKey("approle_roles.name", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("uses_left", Integer, nullable=True),  # null: unlimited
    Column("expires_at", Float, nullable=True),
    Column("cidrs", Text, nullable=False),
    Column("created_at", Float, nullable=False),
    Index("ix_approle_secret_ids_role_name", "role_name"),
)

vault_wrapped = Table(
    "vault_wrapped",
    metadata,
    Column("token_hash", String(64), primary_key=True),
    Column("accessor", String(64), nullable=False, unique=True),
    # The wrapped response, sealed by the barrier and bound to "wrapped:<accessor>".
    Column("ciphertext", LargeBinary, nullable=False),
    Column("wrapped_key", LargeBinary, nullable=False),
    Column("creation_path", String(1024), nullable=False),
    Column("created_at", Float, nullable=False),
    Column("expires_at", Float, nullable=False),
    Index("ix_vault_wrapped_expires_at", "expires_at"),
)
