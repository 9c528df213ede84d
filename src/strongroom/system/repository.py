"""SQL for runtime settings and their history."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from strongroom.system.models import settings, settings_history


@dataclass(frozen=True, slots=True)
class StoredSetting:
    key: str
    value: str | None
    secret_value: bytes | None
    updated_at: float
    updated_by: str | None


@dataclass(frozen=True, slots=True)
class HistoryEntry:
    id: int
    key: str
    old_value: str | None
    new_value: str | None
    changed_at: float
    changed_by: str | None
    request_id: str | None


async def load_settings(conn: AsyncConnection) -> list[StoredSetting]:
    rows = await conn.execute(
        select(
            settings.c.key,
            settings.c.value,
            settings.c.secret_value,
            settings.c.updated_at,
            settings.c.updated_by,
        )
    )
    return [StoredSetting(*row) for row in rows]


async def upsert_setting(conn: AsyncConnection, row: StoredSetting) -> None:
    values: dict[str, Any] = {
        "value": row.value,
        "secret_value": row.secret_value,
        "updated_at": row.updated_at,
        "updated_by": row.updated_by,
    }
    result = await conn.execute(update(settings).where(settings.c.key == row.key).values(**values))
    if result.rowcount == 0:
        await conn.execute(insert(settings).values(key=row.key, **values))


async def delete_setting(conn: AsyncConnection, key: str) -> None:
    await conn.execute(delete(settings).where(settings.c.key == key))


async def add_history(conn: AsyncConnection, entries: Sequence[HistoryEntry]) -> None:
    if entries:
        await conn.execute(
            insert(settings_history),
            [
                {
                    "key": e.key,
                    "old_value": e.old_value,
                    "new_value": e.new_value,
                    "changed_at": e.changed_at,
                    "changed_by": e.changed_by,
                    "request_id": e.request_id,
                }
                for e in entries
            ],
        )


async def list_history(
    conn: AsyncConnection, *, key: str | None, before_id: int | None, limit: int
) -> list[HistoryEntry]:
    query = select(settings_history).order_by(settings_history.c.id.desc()).limit(limit)
    if key is not None:
        query = query.where(settings_history.c.key == key)
    if before_id is not None:
        query = query.where(settings_history.c.id < before_id)
    return [HistoryEntry(*row) for row in await conn.execute(query)]
