"""SQL for the audit records of the database sink."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, insert, select, update

from strongroom.audit.models import PATH_LENGTH, USERNAME_LENGTH, audit_checkpoints, audit_records
from strongroom.audit.record import dump, parse_time
from strongroom.db import Database, now
from strongroom.db.upsert import upsert


def _column_text(value: str | None, length: int) -> str | None:
    # PostgreSQL text cannot hold NUL: a path with %00 must not knock the sink out.
    return value.replace("\x00", "\\x00")[:length] if value else None


def _columns(record: Mapping[str, Any]) -> dict[str, Any]:
    principal = record.get("principal")
    username = principal["user"] if principal else record.get("attempted_user")
    return {
        "time": parse_time(record["time"]),
        "request_id": record.get("request_id"),
        "username": _column_text(username, USERNAME_LENGTH),
        "path": _column_text(record.get("path"), PATH_LENGTH),
        "status": record.get("status"),
        "outcome": record.get("outcome"),
        "record": dump(record).decode(),
    }


async def insert_record(db: Database, record: Mapping[str, Any]) -> None:
    """Store one record in its own transaction."""
    async with db.begin() as conn:
        await conn.execute(insert(audit_records).values(**_columns(record)))


async def save_checkpoint(db: Database, chain: str, seq: int, digest: str) -> None:
    """Move the chain's checkpoint forward to (seq, digest); never back (several writers)."""
    table = audit_checkpoints
    async with db.begin() as conn:
        moved = await conn.execute(
            update(table)
            .where(table.c.chain == chain, table.c.seq < seq)
            .values(seq=seq, hash=digest, updated_at=now())
        )
        if moved.rowcount == 0:
            await conn.execute(
                upsert(db, table)
                .values(chain=chain, seq=seq, hash=digest, updated_at=now())
                .on_conflict_do_nothing(index_elements=[table.c.chain])
            )


async def load_checkpoints(db: Database) -> dict[str, tuple[int, str]]:
    """Every chain's checkpoint: {chain: (seq, hash)}."""
    table = audit_checkpoints
    async with db.connect() as conn:
        rows = (await conn.execute(select(table.c.chain, table.c.seq, table.c.hash))).all()
    return {row.chain: (int(row.seq), row.hash) for row in rows}


@dataclass(frozen=True, slots=True)
class RecordFilter:
    """Conditions of a listing; None means any."""

    username: str | None = None
    path_prefix: str | None = None
    since: float | None = None
    until: float | None = None
    outcome: str | None = None

    def conditions(self) -> list[ColumnElement[bool]]:
        table = audit_records.c
        found: list[ColumnElement[bool]] = []
        if self.username is not None:
            found.append(table.username == self.username)
        if self.path_prefix is not None:
            found.append(table.path.startswith(self.path_prefix, autoescape=True))
        if self.since is not None:
            found.append(table.time >= self.since)
        if self.until is not None:
            found.append(table.time <= self.until)
        if self.outcome is not None:
            found.append(table.outcome == self.outcome)
        return found


async def list_records(
    db: Database, where: RecordFilter, *, limit: int, before_id: int | None
) -> list[tuple[int, str]]:
    """(id, record JSON) newest first, ids below `before_id` (the keyset cursor)."""
    query = select(audit_records.c.id, audit_records.c.record).where(*where.conditions())
    if before_id is not None:
        query = query.where(audit_records.c.id < before_id)
    query = query.order_by(audit_records.c.id.desc()).limit(limit)
    async with db.connect() as conn:
        rows = (await conn.execute(query)).all()
    return [(row.id, row.record) for row in rows]
