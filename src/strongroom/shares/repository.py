"""SQL of share-once links."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import delete, insert, select
from sqlalchemy.ext.asyncio import AsyncConnection

from strongroom.shares.models import shares


@dataclass(frozen=True, slots=True)
class NewShare:
    id: str
    blob: bytes
    proof_hash: str
    created_by: str
    secret_id: str
    secret_path: str
    version: int
    created_at: float
    expires_at: float

    def __repr__(self) -> str:
        return f"NewShare({self.id!r}, blob=***)"


@dataclass(frozen=True, slots=True)
class ShareInfo:
    """A share as its creator sees it: never the blob."""

    id: str
    secret_id: str
    secret_path: str
    version: int
    created_at: float
    expires_at: float


async def insert_share(conn: AsyncConnection, new: NewShare) -> None:
    await conn.execute(
        insert(shares).values(
            id=new.id,
            blob=new.blob,
            proof_hash=new.proof_hash,
            created_by=new.created_by,
            secret_id=new.secret_id,
            secret_path=new.secret_path,
            version=new.version,
            created_at=new.created_at,
            expires_at=new.expires_at,
        )
    )


async def take_share(
    conn: AsyncConnection, share_id: str, proof_hash: str, at: float
) -> bytes | None:
    """Delete the live share with this id and proof and return its blob: one statement, so
    exactly one of any number of concurrent claims gets it."""
    c = shares.c
    row = (
        await conn.execute(
            delete(shares)
            .where(c.id == share_id, shares.c.proof_hash == proof_hash, c.expires_at > at)
            .returning(c.blob)
        )
    ).first()
    return bytes(row[0]) if row else None


async def list_for_secret(
    conn: AsyncConnection, user_id: str, secret_id: str, at: float
) -> list[ShareInfo]:
    c = shares.c
    rows = await conn.execute(
        select(c.id, c.secret_id, c.secret_path, c.version, c.created_at, c.expires_at)
        .where(c.created_by == user_id, c.secret_id == secret_id, c.expires_at > at)
        .order_by(c.created_at.desc())
        .limit(100)
    )
    return [ShareInfo(*row) for row in rows]


async def delete_share(conn: AsyncConnection, user_id: str, share_id: str) -> bool:
    c = shares.c
    result = await conn.execute(delete(shares).where(c.id == share_id, c.created_by == user_id))
    return bool(result.rowcount)


async def sweep_expired(conn: AsyncConnection, at: float) -> int:
    result = await conn.execute(delete(shares).where(shares.c.expires_at <= at))
    return int(result.rowcount or 0)
