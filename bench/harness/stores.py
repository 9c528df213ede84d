"""The benchmark's own corner of the shared PostgreSQL, and its Redis, removed at the end.

A fresh database `strongroom_bench_<random>` on the shared PostgreSQL; nothing else on it is
read or touched. Redis: by default a redis-server of the benchmark's own, on a Unix socket in
its work directory, keeping nothing on disk like the shared one; with the TCP transport, the
shared Redis at 127.0.0.1:6379 under a key prefix `strongroom-bench-<random>:`.

Transport: a strongroom node on the same host as its PostgreSQL and Redis reaches them over Unix
sockets by default (`unix`), which costs less CPU per round trip than TCP over loopback;
`tcp` measures the loopback path (bench/README.md has both).
"""

from __future__ import annotations

import asyncio
import shutil
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import asyncpg
import redis
import redis.asyncio as aioredis

from harness.procs import Processes

PG_HOST = "127.0.0.1:5432"
PG_ADMIN = f"postgresql://postgres@{PG_HOST}/postgres"
PG_SOCKET_DIR = Path("/var/run/postgresql")
REDIS_URL = "redis://127.0.0.1:6379/0"
TRANSPORTS = ("unix", "tcp")


@contextmanager
def fresh_database(label: str = "bench", transport: str = "tcp") -> Iterator[str]:
    """A new empty database; yields its URL (postgresql://..., over PostgreSQL's Unix socket
    with transport `unix`) and drops it afterwards."""
    name = f"strongroom_{label}_{uuid.uuid4().hex[:10]}"
    asyncio.run(_admin(f'CREATE DATABASE "{name}"'))
    try:
        if transport == "unix":
            if not (PG_SOCKET_DIR / ".s.PGSQL.5432").exists():
                raise SystemExit(f"no PostgreSQL socket in {PG_SOCKET_DIR}: use --transport tcp")
            yield f"postgresql://postgres@/{name}?host={PG_SOCKET_DIR}"
        else:
            yield f"postgresql://postgres@{PG_HOST}/{name}"
    finally:
        asyncio.run(_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@contextmanager
def session_redis(procs: Processes, directory: Path, transport: str) -> Iterator[tuple[str, str]]:
    """(Redis URL, key prefix) for a strongroom node: a redis-server of our own on a Unix
    socket in `directory` (stopped afterwards), or the shared Redis under a fresh prefix."""
    if transport == "tcp":
        with redis_prefix() as prefix:
            yield REDIS_URL, prefix
        return
    binary = shutil.which("redis-server")
    if binary is None:
        raise SystemExit("redis-server is not installed")
    directory.mkdir(parents=True, exist_ok=True)
    socket = directory / "redis.sock"
    server = procs.start(
        [
            binary,
            "--port", "0",
            "--unixsocket", str(socket),
            "--unixsocketperm", "700",
            "--dir", str(directory),
            "--save", "",
            "--appendonly", "no",
        ],
        log_path=directory / "redis.log",
    )  # fmt: skip
    url = f"unix://{socket}?db=0"
    try:
        _wait_for_redis(url, server.pid)
        yield url, "strongroom-bench:"
    finally:
        procs.stop(server)


def _wait_for_redis(url: str, pid: int, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            client = redis.Redis.from_url(url, socket_timeout=1)
            try:
                if client.ping():
                    return
            finally:
                client.close()
        except (redis.RedisError, OSError):
            time.sleep(0.05)
    raise SystemExit(f"the benchmark's redis-server (pid {pid}) did not start")


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
