"""The `seal_config` row: which seal made the root key, and its share counts."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from strongroom.barrier.models import seal_config
from strongroom.db import now


@dataclass(frozen=True)
class SealConfig:
    seal_type: str
    secret_shares: int
    secret_threshold: int
    wrapped_root: bytes | None

    def __repr__(self) -> str:
        return f"SealConfig({self.seal_type}, {self.secret_threshold} of {self.secret_shares})"


async def load(conn: AsyncConnection) -> SealConfig | None:
    row = (
        await conn.execute(
            select(
                seal_config.c.seal_type,
                seal_config.c.secret_shares,
                seal_config.c.secret_threshold,
                seal_config.c.wrapped_root,
            ).where(seal_config.c.id == 1)
        )
    ).first()
    return SealConfig(*row) if row else None


async def save(conn: AsyncConnection, config: SealConfig) -> None:
    """Insert the row, or replace it (a rekey, a seal migration)."""
    values = {
        "seal_type": config.seal_type,
        "secret_shares": config.secret_shares,
        "secret_threshold": config.secret_threshold,
        "wrapped_root": config.wrapped_root,
    }
    changed = await conn.execute(
        update(seal_config).where(seal_config.c.id == 1).values(rekeyed_at=now(), **values)
    )
    if changed.rowcount == 0:
        await conn.execute(insert(seal_config).values(id=1, initialised_at=now(), **values))
