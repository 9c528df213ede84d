"""Session stores under test: the database store on SQLite and on PostgreSQL, and the Redis store.

Each `Backend` holds two store objects on the same storage (two Database engines on one
database, or two RedisSessionStore clients on one prefix), the way two nodes share it, and a
`dump()` of every raw row or key and value the store wrote.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import redis.asyncio as aioredis
from sqlalchemy import select

from strongroom.crypto import ACCESS_PREFIX, REFRESH_PREFIX, new_token, token_hash
from strongroom.db import Database
from strongroom.db.base import new_id
from strongroom.sessions.db_store import DatabaseSessionStore
from strongroom.sessions.models import (
    login_failures,
    sessions,
    store_generations,
    store_meta,
    used_refresh_tokens,
)
from strongroom.sessions.redis_store import RedisSessionStore
from strongroom.sessions.store import NewSession, SessionStore
from tests.conftest import need
from tests.sessions.private_redis import PrivateRedis
from tests.support import REDIS_URL


@dataclass
class Backend:
    kind: str
    store: SessionStore
    other: SessionStore  # a second node on the same storage
    dump: Callable[[], Awaitable[str]]


@dataclass
class Issued:
    """A session as the store saw it, with the tokens only the client holds."""

    session: NewSession
    access: str
    refresh: str | None

    @property
    def id(self) -> str:
        return self.session.id

    @property
    def access_hash(self) -> str:
        return self.session.access_hash

    @property
    def refresh_hash(self) -> str:
        assert self.session.refresh_hash is not None
        return self.session.refresh_hash


def issue(
    at: float,
    *,
    user_id: str = "user-1",
    access_ttl: float = 60.0,
    refresh_ttl: float | None = 600.0,
    lifetime: float = 3600.0,
    **options: Any,
) -> Issued:
    """A NewSession created at `at` with fresh real tokens (no refresh token if refresh_ttl
    is None)."""
    access = new_token(ACCESS_PREFIX)
    refresh = None if refresh_ttl is None else new_token(REFRESH_PREFIX)
    session = NewSession(
        id=new_id(),
        user_id=user_id,
        username=f"name-{user_id}",
        role="user",
        auth_method="password",
        access_hash=token_hash(access),
        refresh_hash=None if refresh is None else token_hash(refresh),
        created_at=at,
        access_ttl=access_ttl,
        access_expires_at=at + access_ttl,
        refresh_expires_at=None if refresh_ttl is None else at + refresh_ttl,
        max_expires_at=at + lifetime,
        **options,
    )
    return Issued(session, access, refresh)


@pytest.fixture
def t0() -> float:
    """Now, as the stores' clock: Redis TTLs are real time, so every test starts at the
    present and moves `now` forward explicitly instead of sleeping."""
    return time.time()


async def _database_backend(kind: str, url: str) -> AsyncIterator[Backend]:
    first, second = Database(url), Database(url)
    await first.migrate()

    async def dump() -> str:
        lines: list[str] = []
        async with first.connect() as conn:
            for table in (sessions, used_refresh_tokens, login_failures, store_meta):
                for row in (await conn.execute(select(table))).all():
                    lines.append(f"{table.name}: {tuple(row)!r}")
        return "\n".join(lines)

    try:
        yield Backend(kind, DatabaseSessionStore(first), DatabaseSessionStore(second), dump)
    finally:
        await first.dispose()
        await second.dispose()


async def ledger_database(path: Path) -> Database:
    """A SQLite database with the table where a Redis store records its generation (the
    nodes of one test share it, as they share their database)."""
    db = Database(f"sqlite+aiosqlite:///{path}")
    async with db.begin() as conn:
        await conn.run_sync(store_generations.create, checkfirst=True)
    return db


async def _redis_backend(prefix: str, ledger: Path) -> AsyncIterator[Backend]:
    db = await ledger_database(ledger)
    first = RedisSessionStore(REDIS_URL, prefix=prefix, db=db)
    second = RedisSessionStore(REDIS_URL, prefix=prefix, db=db)
    raw = aioredis.Redis.from_url(REDIS_URL, decode_responses=True)

    async def dump() -> str:
        lines: list[str] = []
        async for key in raw.scan_iter(match=f"{prefix}*", count=1000):
            kind = await raw.type(key)
            if kind == "string":
                value: Any = await raw.get(key)
            elif kind == "hash":
                value = await raw.hgetall(key)
            elif kind == "zset":
                value = await raw.zrange(key, 0, -1, withscores=True)
            else:
                value = f"<{kind}>"
            lines.append(f"{key}: {value!r}")
        return "\n".join(lines)

    try:
        yield Backend("redis", first, second, dump)
    finally:
        await first.close()
        await second.close()
        await raw.aclose()
        await db.dispose()


@pytest.fixture(
    params=[
        "sqlite",
        pytest.param("postgres", marks=pytest.mark.postgres),
        pytest.param("redis", marks=pytest.mark.redis),
    ]
)
def storage(request: pytest.FixtureRequest, tmp_path: Path) -> tuple[str, str]:
    """(kind, database URL or Redis prefix). Synchronous: the shared PostgreSQL and Redis
    fixtures run their own event loop."""
    kind = str(request.param)
    if kind == "redis":
        return kind, str(request.getfixturevalue("redis_prefix"))
    if kind == "postgres":
        return kind, str(request.getfixturevalue("pg_url"))
    return kind, f"sqlite+aiosqlite:///{tmp_path / 'sessions.db'}"


@pytest.fixture
async def backend(storage: tuple[str, str], tmp_path: Path) -> AsyncIterator[Backend]:
    """Each session store on real storage."""
    kind, where = storage
    if kind == "redis":
        opened = _redis_backend(where, tmp_path / "ledger.db")
    else:
        opened = _database_backend(kind, where)
    async for value in opened:
        yield value


@pytest.fixture
def store(backend: Backend) -> SessionStore:
    return backend.store


@pytest.fixture
async def ledger(tmp_path: Path) -> AsyncIterator[Database]:
    """The database a test's Redis stores record their generation in."""
    db = await ledger_database(tmp_path / "ledger.db")
    yield db
    await db.dispose()


@pytest.fixture
def private_redis(tmp_path: Path) -> Iterator[PrivateRedis]:
    """A redis-server of this test (append-only, fsync always), killed at the end."""
    need(shutil.which("redis-server") is not None, "redis-server")
    server = PrivateRedis(tmp_path / "redis")
    server.start()
    try:
        yield server
    finally:
        server.kill()
