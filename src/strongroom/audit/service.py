"""Reading the audit log back: listing the database sink, hashing a value like the records do."""

from __future__ import annotations

import base64
import binascii
from typing import Any

import orjson

from strongroom.audit import repository
from strongroom.audit.record import parse_time
from strongroom.crypto import KeyPurpose
from strongroom.errors import Conflict, InvalidInput
from strongroom.services import Services

DATABASE_SINK_OFF = (
    "the audit log is not kept in the database on this node: start it with "
    "--audit-database (STRONGROOM_AUDIT_DATABASE=true) to query it over the API, "
    "or read the audit log file"
)


def encode_cursor(record_id: int) -> str:
    return base64.urlsafe_b64encode(str(record_id).encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> int:
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode("ascii")
    except (ValueError, binascii.Error):
        text = ""
    if not text.isdigit() or not 0 < int(text) < 2**63:
        raise InvalidInput("invalid cursor: pass a next_cursor unchanged", loc=("query", "cursor"))
    return int(text)


def text_filter(value: str | None, name: str) -> str | None:
    """A text query value; NUL cannot be stored, so it cannot match (and PostgreSQL rejects it)."""
    if value is not None and "\x00" in value:
        raise InvalidInput(f"{name} must not contain NUL", loc=("query", name))
    return value


def time_bound(value: str | None, name: str) -> float | None:
    """A `since` / `until` query value: RFC 3339 or Unix seconds."""
    if value is None:
        return None
    try:
        return parse_time(value)
    except (ValueError, OverflowError):
        raise InvalidInput(
            f"{name} must be an RFC 3339 time (2025-01-31T12:00:00Z) or Unix seconds",
            loc=("query", name),
        ) from None


async def list_records(
    services: Services, where: repository.RecordFilter, limit: int, cursor: str | None
) -> tuple[list[dict[str, Any]], str | None]:
    """A page of records, newest first, and the cursor of the next page (None at the end)."""
    if not services.config.audit_database:
        raise Conflict(DATABASE_SINK_OFF, code="audit_database_disabled")
    before = decode_cursor(cursor) if cursor is not None else None
    rows = await repository.list_records(services.db, where, limit=limit + 1, before_id=before)
    items = [{"id": record_id, **orjson.loads(text)} for record_id, text in rows[:limit]]
    next_cursor = encode_cursor(rows[limit - 1][0]) if len(rows) > limit else None
    return items, next_cursor


def audit_hmac(services: Services, value: str) -> str:
    """The HMAC the audit records carry for `value` (e.g. `token_hmac` of a token)."""
    return services.barrier.keyring.mac(KeyPurpose.audit, value.encode())
