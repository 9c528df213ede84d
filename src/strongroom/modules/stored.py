"""Every column of module data kept through the barrier, for jobs that must reach them all
(e.g. a rewrap of every stored value under the newest data key).

Each blob is `Barrier.encrypt(plaintext, binding)`: an AES-256-GCM blob of crypto.aead under a
keyring data key, whose associated data is the binding worked out from its row, so a blob
moved to another row fails to decrypt. A job re-encrypts a blob with
`barrier.encrypt(await barrier.decrypt(blob, binding), binding)` and writes it back to the
same row (selected by `key_columns`), nothing else changes.

    table                  key columns         blob column  binding
    transit_key_versions   key_id, version     material     module:transit:<key_id>:<version>
    totp_keys              id                  seed         module:totp:<id>

Nodes cache unwrapped transit keys by the exact blob they came from, so a rewritten blob is
picked up at its next use without any signal.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Table

from strongroom.modules.totp.models import totp_keys
from strongroom.modules.transit.models import transit_key_versions


def transit_binding(key_id: str, version: int) -> bytes:
    return f"module:transit:{key_id}:{version}".encode()


def totp_binding(key_id: str) -> bytes:
    return f"module:totp:{key_id}".encode()


@dataclass(frozen=True, slots=True)
class BarrierColumn:
    table: Table
    key_columns: tuple[str, ...]
    blob_column: str
    # The associated data of a row's blob, from the row's columns by name.
    binding: Callable[[Mapping[str, Any]], bytes]


BARRIER_COLUMNS: tuple[BarrierColumn, ...] = (
    BarrierColumn(
        transit_key_versions,
        ("key_id", "version"),
        "material",
        lambda row: transit_binding(row["key_id"], row["version"]),
    ),
    BarrierColumn(totp_keys, ("id",), "seed", lambda row: totp_binding(row["id"])),
)
