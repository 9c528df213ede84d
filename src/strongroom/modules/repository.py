"""SQL of the module library: which user enabled which module."""

from __future__ import annotations

from sqlalchemy import bindparam, delete, func, insert, select
from sqlalchemy.ext.asyncio import AsyncConnection

from strongroom.db import Database
from strongroom.db.hot import PerDatabase
from strongroom.modules.models import module_enablements as enablements


class HotEnablements:
    """The check of every module request, compiled once (db/hot.py)."""

    def __init__(self, db: Database) -> None:
        self._enabled = db.hot(
            select(enablements.c.enabled_at).where(
                enablements.c.user_id == bindparam("uid"),
                enablements.c.module_id == bindparam("module"),
            )
        )

    async def is_enabled(self, user_id: str, module_id: str) -> bool:
        return await self._enabled.first(uid=user_id, module=module_id) is not None


hot_enablements = PerDatabase(HotEnablements)


async def enabled_modules(conn: AsyncConnection, user_id: str) -> set[str]:
    query = select(enablements.c.module_id).where(enablements.c.user_id == user_id)
    return set((await conn.execute(query)).scalars())


async def enable(conn: AsyncConnection, user_id: str, module_id: str, at: float) -> bool:
    """Enable unless already enabled; True if a row was added. A concurrent enable of the same
    module makes this transaction fail with IntegrityError (the caller counts it as done)."""
    query = select(enablements.c.enabled_at).where(
        enablements.c.user_id == user_id, enablements.c.module_id == module_id
    )
    if (await conn.execute(query)).first() is not None:
        return False
    await conn.execute(
        insert(enablements).values(user_id=user_id, module_id=module_id, enabled_at=at)
    )
    return True


async def disable(conn: AsyncConnection, user_id: str, module_id: str) -> bool:
    result = await conn.execute(
        delete(enablements).where(
            enablements.c.user_id == user_id, enablements.c.module_id == module_id
        )
    )
    return result.rowcount > 0


async def enabled_counts(conn: AsyncConnection) -> dict[str, int]:
    query = select(enablements.c.module_id, func.count()).group_by(enablements.c.module_id)
    return {module_id: int(count) for module_id, count in await conn.execute(query)}
