"""SQL of transit keys."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Integer, and_, bindparam, delete, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from strongroom.crypto.transit import TransitKeyType
from strongroom.db import Database
from strongroom.db.hot import PerDatabase
from strongroom.modules.catalog import TRANSIT
from strongroom.modules.models import module_enablements as enablements
from strongroom.modules.transit.models import transit_key_versions as versions
from strongroom.modules.transit.models import transit_keys as keys


@dataclass(frozen=True, slots=True)
class KeyRow:
    id: str
    name: str
    type: TransitKeyType
    exportable: bool
    deletion_allowed: bool
    latest_version: int
    min_decryption_version: int
    created_at: float
    updated_at: float


@dataclass(slots=True)  # built per request: a frozen __init__ costs 8x; never mutated
class VersionRow:
    """One version of a key with its material (a barrier blob), as a use of it needs it."""

    key: KeyRow
    version: int
    material: bytes
    enabled: bool  # the owner has the transit module enabled

    def __repr__(self) -> str:
        return f"VersionRow({self.key.id!r}, v{self.version}, material=***)"


_KEY_COLUMNS = [
    keys.c.id,
    keys.c.name,
    keys.c.type,
    keys.c.exportable,
    keys.c.deletion_allowed,
    keys.c.latest_version,
    keys.c.min_decryption_version,
    keys.c.created_at,
    keys.c.updated_at,
]


def _key(row: Sequence[Any]) -> KeyRow:
    return KeyRow(
        row[0],
        row[1],
        TransitKeyType(row[2]),
        bool(row[3]),
        bool(row[4]),
        row[5],
        row[6],
        row[7],
        row[8],
    )


class HotTransit:
    """A key version for use, with the owner's enablement of the module, in one statement run
    as one driver call (db/hot.py): the whole database cost of an encryption."""

    def __init__(self, db: Database) -> None:
        wanted = func.coalesce(bindparam("version", type_=Integer), keys.c.latest_version)
        joined = keys.join(
            versions, and_(versions.c.key_id == keys.c.id, versions.c.version == wanted)
        ).outerjoin(
            enablements,
            and_(
                enablements.c.user_id == keys.c.user_id,
                enablements.c.module_id == bindparam("module"),
            ),
        )
        self._for_use = db.hot(
            select(*_KEY_COLUMNS, versions.c.version, versions.c.material, enablements.c.enabled_at)
            .select_from(joined)
            .where(keys.c.user_id == bindparam("uid"), keys.c.name == bindparam("name"))
        )

    async def for_use(self, user_id: str, name: str, version: int | None) -> VersionRow | None:
        """`version` of the key (None: the latest); None if the key or the version is missing."""
        row = await self._for_use.first(uid=user_id, name=name, version=version, module=TRANSIT)
        if row is None:
            return None
        return VersionRow(_key(row), row[9], bytes(row[10]), row[11] is not None)


hot_transit = PerDatabase(HotTransit)


async def get_key(conn: AsyncConnection, user_id: str, name: str) -> KeyRow | None:
    query = select(*_KEY_COLUMNS).where(keys.c.user_id == user_id, keys.c.name == name)
    row = (await conn.execute(query)).first()
    return _key(row) if row else None


async def list_keys(
    conn: AsyncConnection, user_id: str, *, after: str | None, limit: int
) -> list[KeyRow]:
    query = select(*_KEY_COLUMNS).where(keys.c.user_id == user_id).order_by(keys.c.name)
    if after is not None:
        query = query.where(keys.c.name > after)
    return [_key(row) for row in await conn.execute(query.limit(limit))]


async def key_names(conn: AsyncConnection, user_id: str) -> list[str]:
    query = select(keys.c.name).where(keys.c.user_id == user_id)
    return [str(name) for name in (await conn.execute(query)).scalars()]


async def version_times(conn: AsyncConnection, key_id: str) -> list[tuple[int, float]]:
    query = (
        select(versions.c.version, versions.c.created_at)
        .where(versions.c.key_id == key_id)
        .order_by(versions.c.version)
    )
    return [(int(version), float(at)) for version, at in await conn.execute(query)]


async def materials(conn: AsyncConnection, key_id: str, lowest: int) -> list[tuple[int, bytes]]:
    """(version, material blob) of every version from `lowest` on."""
    query = (
        select(versions.c.version, versions.c.material)
        .where(versions.c.key_id == key_id, versions.c.version >= lowest)
        .order_by(versions.c.version)
    )
    return [(int(version), bytes(blob)) for version, blob in await conn.execute(query)]


async def insert_key(conn: AsyncConnection, row: KeyRow, user_id: str, material: bytes) -> None:
    await conn.execute(
        insert(keys).values(
            id=row.id,
            user_id=user_id,
            name=row.name,
            type=row.type.value,
            exportable=row.exportable,
            deletion_allowed=row.deletion_allowed,
            latest_version=row.latest_version,
            min_decryption_version=row.min_decryption_version,
            created_at=row.created_at,
            updated_at=row.updated_at,
        )
    )
    await add_version(conn, row.id, row.latest_version, material, row.created_at)


async def add_version(
    conn: AsyncConnection, key_id: str, version: int, material: bytes, at: float
) -> None:
    await conn.execute(
        insert(versions).values(key_id=key_id, version=version, material=material, created_at=at)
    )


async def next_version(conn: AsyncConnection, key_id: str, at: float) -> int | None:
    """Move the key to its next version (its row stays locked until the commit: concurrent
    rotations take turns); the new version number, or None if the key is gone."""
    result = await conn.execute(
        update(keys)
        .where(keys.c.id == key_id)
        .values(latest_version=keys.c.latest_version + 1, updated_at=at)
        .returning(keys.c.latest_version)
    )
    found = result.first()
    return int(found[0]) if found else None


async def update_key(conn: AsyncConnection, key_id: str, **values: Any) -> bool:
    result = await conn.execute(update(keys).where(keys.c.id == key_id).values(**values))
    return result.rowcount > 0


async def delete_key(conn: AsyncConnection, key_id: str) -> None:
    await conn.execute(delete(versions).where(versions.c.key_id == key_id))
    await conn.execute(delete(keys).where(keys.c.id == key_id))


async def purge_user(conn: AsyncConnection, user_id: str) -> int:
    """Delete every transit key of a user; the number of keys deleted."""
    owned = select(keys.c.id).where(keys.c.user_id == user_id).scalar_subquery()
    await conn.execute(delete(versions).where(versions.c.key_id.in_(owned)))
    result = await conn.execute(delete(keys).where(keys.c.user_id == user_id))
    return int(result.rowcount)
