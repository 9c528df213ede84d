"""Request and response bodies of the secrets API.

Request models are strict (no coercion of `"5"` into 5) and refuse unknown fields. A secret
value is kept out of every `repr` (`repr=False`), and 422 bodies never echo the input.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import orjson
from pydantic import BaseModel, ConfigDict, Field

from strongroom.timefmt import rfc3339

if TYPE_CHECKING:
    from strongroom.secrets.reading import Revealed
    from strongroom.secrets.repository import SecretRow, VersionRow
    from strongroom.secrets.service import Written

MAX_READS_LIMIT = 1_000_000
# Versions are INTEGER columns (32 bits on PostgreSQL).
INT32_MAX = 2**31 - 1
Value = str | dict[str, Any]
Duration = int | str


class _Request(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class SecretCreate(_Request):
    path: str = Field(
        max_length=1024, description="Segments of A-Z a-z 0-9 . _ - joined by '/'; max 512."
    )
    value: Value = Field(repr=False, description="A string or a JSON object.")
    metadata: dict[str, str] | None = Field(
        None, description="String to string map, stored in clear and searchable: not secret."
    )
    ttl: Duration | None = Field(
        None,
        description="Lifetime: integer seconds or '15m', '1h', '7d'. Default secrets.default_ttl; "
        "0 means no expiry. Bounded by secrets.max_ttl.",
    )
    max_reads: int | None = Field(
        None,
        ge=1,
        le=MAX_READS_LIMIT,
        description="Burn after this many successful reads (counted across all nodes).",
    )


class SecretUpdate(_Request):
    value: Value = Field(repr=False, description="The value of the new version.")
    metadata: dict[str, str] | None = Field(
        None, description="Replaces the metadata when given; kept when omitted."
    )
    ttl: Duration | None = Field(
        None, description="New lifetime from now when given; the expiry is kept when omitted."
    )
    cas: int | None = Field(
        None,
        ge=0,
        le=INT32_MAX,
        description="Write only if the current version is this one (else 409).",
    )


class DestroyRequest(_Request):
    versions: list[Annotated[int, Field(ge=1, le=INT32_MAX)]] | None = Field(
        None,
        min_length=1,
        max_length=1000,
        description="Versions whose ciphertext to wipe; omitted: every version (the secret is "
        "then gone for good).",
    )


class MoveRequest(_Request):
    source: str = Field(max_length=1024, description="The path (or, with `prefix`, the prefix).")
    destination: str = Field(max_length=1024, description="The new path (or prefix).")
    prefix: bool = Field(
        False,
        description="Move every live secret under `source` (a prefix such as 'a/') to the "
        "same place under `destination` ('c/').",
    )


class Moved(BaseModel):
    from_: str = Field(alias="from", serialization_alias="from")
    to: str
    id: str

    model_config = ConfigDict(populate_by_name=True)


class MoveResult(BaseModel):
    """What moved: every secret's old path, new path and (unchanged) id. Never a value."""

    moved: list[Moved]


class SecretCreated(BaseModel):
    id: str
    path: str
    version: int
    created_at: str
    expires_at: str | None
    metadata: dict[str, str]


class SecretRead(BaseModel):
    """A secret with its value: the one schema that reveals one."""

    id: str
    path: str
    version: int
    value: Value
    metadata: dict[str, str]
    created_at: str = Field(description="When the secret was created.")
    updated_at: str = Field(description="When this version was written.")
    expires_at: str | None
    reads: int | None = Field(description="Successful reads so far; null unless max_reads is set.")
    max_reads: int | None


class SecretInfo(BaseModel):
    """A secret without its value (listings, writes)."""

    id: str
    path: str
    version: int
    metadata: dict[str, str]
    created_at: str
    updated_at: str
    expires_at: str | None
    reads: int | None
    max_reads: int | None


class SecretPage(BaseModel):
    items: list[SecretInfo]
    next_cursor: str | None = Field(
        description="Pass as ?cursor= for the next page; null at the end. A page may hold "
        "fewer than `limit` items when entries the caller may not list were skipped."
    )


class SecretState(BaseModel):
    """The outcome of delete, undelete and destroy."""

    id: str
    path: str
    version: int
    deleted_at: str | None
    destroyed: bool
    destroyed_versions: list[int] = Field(default_factory=list)


class VersionInfo(BaseModel):
    version: int
    created_at: str
    created_by: str | None
    destroyed: bool
    destroyed_at: str | None
    current: bool


class VersionPage(BaseModel):
    items: list[VersionInfo]
    next_cursor: str | None


# Building responses. The read path builds its dict directly: no model validation per read.


def read_body(revealed: Revealed) -> dict[str, Any]:
    """The body of `SecretRead`; the value's JSON bytes are embedded without re-encoding."""
    row = revealed.row
    secret = row.secret
    return {
        "id": secret.id,
        "path": secret.path,
        "version": row.version,
        "value": orjson.Fragment(revealed.plaintext),
        "metadata": orjson.loads(secret.metadata),
        "created_at": rfc3339(secret.created_at),
        "updated_at": rfc3339(row.version_created_at),
        "expires_at": rfc3339(secret.expires_at),
        "reads": revealed.reads,
        "max_reads": secret.max_reads,
    }


def info_out(secret: SecretRow) -> SecretInfo:
    return SecretInfo(
        id=secret.id,
        path=secret.path,
        version=secret.current_version,
        metadata=orjson.loads(secret.metadata),
        created_at=rfc3339(secret.created_at) or "",
        updated_at=rfc3339(secret.updated_at) or "",
        expires_at=rfc3339(secret.expires_at),
        reads=secret.reads if secret.max_reads is not None else None,
        max_reads=secret.max_reads,
    )


def created_out(written: Written) -> SecretCreated:
    secret = written.secret
    return SecretCreated(
        id=secret.id,
        path=secret.path,
        version=written.version,
        created_at=rfc3339(secret.created_at) or "",
        expires_at=rfc3339(secret.expires_at),
        metadata=written.metadata,
    )


def state_out(written: Written) -> SecretState:
    secret = written.secret
    return SecretState(
        id=secret.id,
        path=secret.path,
        version=written.version,
        deleted_at=rfc3339(secret.deleted_at),
        destroyed=secret.destroyed,
        destroyed_versions=list(written.destroyed_versions),
    )


def version_out(row: VersionRow, current: int) -> VersionInfo:
    return VersionInfo(
        version=row.version,
        created_at=rfc3339(row.created_at) or "",
        created_by=row.created_by,
        destroyed=not row.has_ciphertext,
        destroyed_at=rfc3339(row.destroyed_at),
        current=row.version == current,
    )
