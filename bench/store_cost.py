"""CPU per session check of the Redis session store alone: `RedisSessionStore.authenticate`
(one EVALSHA on the pipelined connection), with a watched name as the fast lane's reads ask,
`--concurrency` calls in flight. Reports the event-loop CPU per call (time.thread_time) and
redis-server's CPU per call (from /proc, so Redis must run on this machine), the figures
that matter on the hot path; `make bench` measures whole requests.

    .venv/bin/python bench/store_cost.py --redis-url redis://127.0.0.1:6391/0

Use a Redis nobody else loads (a private `redis-server --port 6391 --save ''`): its CPU is
read for the whole process. The store records its generation in a SQLite file of a temp
directory (sessions/ledger.py).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import tempfile
import time
import uuid
from pathlib import Path

import redis
import uvloop

from strongroom.crypto import ACCESS_PREFIX, new_token, token_hash
from strongroom.db import Database
from strongroom.sessions.models import store_generations
from strongroom.sessions.redis_store import RedisSessionStore
from strongroom.sessions.store import AuthOutcome, NewSession


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--redis-url", required=True)
    parser.add_argument("--calls", type=int, default=100_000)
    parser.add_argument("--concurrency", type=int, default=32)
    return parser.parse_args()


def cpu_ticks(pid: int) -> int:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])


async def main(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        db = Database(f"sqlite+aiosqlite:///{tmp}/ledger.db")
        async with db.begin() as conn:
            await conn.run_sync(store_generations.create)
        store = RedisSessionStore(args.redis_url, prefix=f"cost-{uuid.uuid4().hex}:", db=db)
        at = time.time()
        access = new_token(ACCESS_PREFIX)
        await store.create(
            NewSession(
                id=str(uuid.uuid4()), user_id="u", username="bench", role="user",
                auth_method="password", access_hash=token_hash(access), refresh_hash=None,
                created_at=at, access_ttl=86400, access_expires_at=at + 86400,
                refresh_expires_at=None, max_expires_at=at + 86400,
            )
        )  # fmt: skip
        epoch = await store.get_epoch()

        async def worker(count: int) -> None:
            for _ in range(count):
                result = await store.authenticate(token_hash(access), None, at, epoch, "secret:x")
                assert result.outcome is AuthOutcome.ok, result

        per_worker = args.calls // args.concurrency
        await asyncio.gather(*(worker(per_worker // 10) for _ in range(args.concurrency)))
        raw = redis.Redis.from_url(args.redis_url)
        pid = int(raw.info("server")["process_id"])
        raw.close()
        ticks, loop = cpu_ticks(pid), time.thread_time()
        await asyncio.gather(*(worker(per_worker) for _ in range(args.concurrency)))
        done = per_worker * args.concurrency
        loop_us = (time.thread_time() - loop) / done * 1e6
        redis_us = (cpu_ticks(pid) - ticks) / os.sysconf("SC_CLK_TCK") / done * 1e6
        print(f"authenticate: event loop {loop_us:.1f} µs, redis-server {redis_us:.1f} µs per call")
        await store.close()
        await db.dispose()


if __name__ == "__main__":
    uvloop.install()
    asyncio.run(main(parse_args()))
