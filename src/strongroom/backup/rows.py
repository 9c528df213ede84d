"""Which tables a backup holds, and how a row becomes a line of JSON and back.

Every table of the schema is in a backup except what belongs to one deployment rather than
to its data: the audit records and checkpoints (the audit log's own hash chain), login
lock-out counters, and the session store's bookkeeping. Sessions (and the refresh tokens
they used) are in only when asked for. A table added later is in by default. Values stay as
stored: secret values, module keys and secret-typed settings are ciphertexts under the
keyring, and the keyring is wrapped by the root key, so a backup is no use without that key
(or its shares).
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from typing import Any

from sqlalchemy import LargeBinary, Table

from strongroom.db.schema import metadata

NOT_BACKED_UP = frozenset(
    {
        "audit_records",
        "audit_checkpoints",
        "login_failures",
        "store_generations",
        "store_meta",
        # How this deployment is sealed (its own init) and its running key rewraps: the
        # server restored into keeps its own (a restore checks that its root key fits).
        "seal_config",
        "rewrap_jobs",
    }
)
SESSION_TABLES = frozenset({"sessions", "used_refresh_tokens"})
FORMAT = "strongroom-backup"
VERSION = 1


def tables(*, sessions: bool) -> list[Table]:
    """The tables of a backup, parents before children, the keyring first (a restore checks
    it against its root key before anything else)."""
    chosen = [
        table
        for table in metadata.sorted_tables
        if table.name not in NOT_BACKED_UP and (sessions or table.name not in SESSION_TABLES)
    ]
    return sorted(chosen, key=lambda table: table.name != "keyring")


def binary_columns(table: Table) -> frozenset[int]:
    return frozenset(
        index for index, column in enumerate(table.columns) if isinstance(column.type, LargeBinary)
    )


def encode(row: Sequence[Any], binary: frozenset[int]) -> list[Any]:
    return [
        base64.b64encode(value).decode() if index in binary and value is not None else value
        for index, value in enumerate(row)
    ]


def decode(row: Sequence[Any], binary: frozenset[int]) -> list[Any]:
    return [
        base64.b64decode(value, validate=True) if index in binary and value is not None else value
        for index, value in enumerate(row)
    ]
