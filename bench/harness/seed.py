"""Store the benchmark's secrets through each system's API, 64 requests in flight."""

from __future__ import annotations

import asyncio
import time

import httpx

from harness.common import ONE_PATH, System, secret_value

IN_FLIGHT = 64


async def seed(system: System, random_count: int, write_count: int) -> float:
    """One 1 KiB secret, `random_count` for random reads, `write_count` to overwrite; seconds."""
    started = time.perf_counter()
    # httpx keeps up to 100 connections per client: the semaphore is what bounds the load.
    async with system.client() as client:
        system.seeded.one = await system.create_secret(client, ONE_PATH, secret_value())
        system.seeded.random = await _create_many(system, client, "bench/random/r", random_count)
        system.seeded.write = await _create_many(system, client, "bench/write/w", write_count)
    return time.perf_counter() - started


async def _create_many(
    system: System, client: httpx.AsyncClient, prefix: str, count: int
) -> list[str]:
    gate = asyncio.Semaphore(IN_FLIGHT)

    async def one(n: int) -> str:
        async with gate:
            return await system.create_secret(client, f"{prefix}{n:07d}", secret_value())

    return list(await asyncio.gather(*(one(n) for n in range(count))))
