"""SQL of TOTP keys."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from strongroom.modules.totp.models import totp_keys as keys


@dataclass(frozen=True, slots=True)
class TotpRow:
    id: str
    name: str
    generated: bool
    issuer: str
    account_name: str
    algorithm: str
    digits: int
    period: int
    skew: int
    seed: bytes  # a barrier blob
    created_at: float
    updated_at: float

    def __repr__(self) -> str:
        return f"TotpRow({self.id!r}, {self.name!r}, seed=***)"


_COLUMNS = [
    keys.c.id,
    keys.c.name,
    keys.c.generated,
    keys.c.issuer,
    keys.c.account_name,
    keys.c.algorithm,
    keys.c.digits,
    keys.c.period,
    keys.c.skew,
    keys.c.seed,
    keys.c.created_at,
    keys.c.updated_at,
]


def _row(row: Sequence[Any]) -> TotpRow:
    values = list(row)
    values[2] = bool(values[2])
    values[9] = bytes(values[9])
    return TotpRow(*values)


async def get_key(conn: AsyncConnection, user_id: str, name: str) -> TotpRow | None:
    query = select(*_COLUMNS).where(keys.c.user_id == user_id, keys.c.name == name)
    row = (await conn.execute(query)).first()
    return _row(row) if row else None


async def list_keys(
    conn: AsyncConnection, user_id: str, *, after: str | None, limit: int
) -> list[TotpRow]:
    query = select(*_COLUMNS).where(keys.c.user_id == user_id).order_by(keys.c.name)
    if after is not None:
        query = query.where(keys.c.name > after)
    return [_row(row) for row in await conn.execute(query.limit(limit))]


async def insert_key(conn: AsyncConnection, row: TotpRow, user_id: str) -> None:
    await conn.execute(
        insert(keys).values(
            id=row.id,
            user_id=user_id,
            name=row.name,
            generated=row.generated,
            issuer=row.issuer,
            account_name=row.account_name,
            algorithm=row.algorithm,
            digits=row.digits,
            period=row.period,
            skew=row.skew,
            seed=row.seed,
            last_used_step=None,
            created_at=row.created_at,
            updated_at=row.updated_at,
        )
    )


async def claim_step(conn: AsyncConnection, key_id: str, step: int) -> bool:
    """Record that a code of `step` was accepted, unless one of that step or a later one
    already was: one statement, so among concurrent validations on any number of nodes at
    most one wins."""
    result = await conn.execute(
        update(keys)
        .where(
            keys.c.id == key_id,
            or_(keys.c.last_used_step.is_(None), keys.c.last_used_step < step),
        )
        .values(last_used_step=step)
    )
    return result.rowcount == 1


async def delete_key(conn: AsyncConnection, key_id: str) -> None:
    await conn.execute(delete(keys).where(keys.c.id == key_id))


async def purge_user(conn: AsyncConnection, user_id: str) -> int:
    """Delete every TOTP key of a user; the number deleted."""
    result = await conn.execute(delete(keys).where(keys.c.user_id == user_id))
    return int(result.rowcount)
