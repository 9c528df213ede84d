"""The benchmark's own corner of the shared PostgreSQL and Redis, removed at the end.

A fresh database `strongroom_bench_<random>` and a Redis key prefix `strongroom-bench-<random>:`;
nothing else on those servers is read or touched.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import asyncpg
import redis.asyncio as aioredis

PG_HOST = "127.0.0.1:5432"
PG_ADMIN = f"postgresql://postgres@{PG_HOST}/postgres"
REDIS_URL = "redis://127.0.0.1:6379/0"


@contextmanager
def fresh_database(label: str = "bench") -> Iterator[str]:
    """A new empty database; yields its URL (postgresql://...) and drops it afterwards."""
    name = f"strongroom_{label}_{uuid.uuid4().hex[:10]}"
    asyncio.run(_admin(f'CREATE DATABASE "{name}"'))
    try:
        yield f"postgresql://postgres@{PG_HOST}/{name}"
    finally:
        asyncio.run(_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


async def _admin(statement: str) -> None:
    conn = await asyncpg.connect(PG_ADMIN)
    try:
        await conn.execute(statement)
    finally:
        await conn.close()


@contextmanager
def redis_prefix() -> Iterator[str]:
    """A unique key prefix; every key under it is deleted afterwards."""
    prefix = f"strongroom-bench-{uuid.uuid4().hex[:10]}:"
    try:
        yield prefix
    finally:
        asyncio.run(_delete_prefix(prefix))


async def _delete_prefix(prefix: str) -> None:
    client = aioredis.from_url(REDIS_URL)
    try:
        batch: list[bytes] = []
        async for key in client.scan_iter(match=f"{prefix}*", count=1000):
            batch.append(key)
            if len(batch) >= 1000:
                await client.unlink(*batch)
                batch.clear()
        if batch:
            await client.unlink(*batch)
    finally:
        await client.aclose()
