"""SECURITY.md 21: acknowledged writes survive `kill -9`.

A real server takes concurrent creates and updates; it is killed with SIGKILL at a random
moment, restarted, and every write that got a 2xx must read back identically. 6 cycles on
SQLite (WAL, synchronous=FULL) and on PostgreSQL in `make test` (the audit suite kills 10
times more, in tests/audit/test_audit_then_commit.py); STRONGROOM_TEST_CRASH_CYCLES=50 runs
the long loop.
"""

from __future__ import annotations

import asyncio
import os
import random
import secrets
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from tests.secrets.servers import client_for, login_admin
from tests.support import ServerProcess, admin_password

CYCLES = int(os.environ.get("STRONGROOM_TEST_CRASH_CYCLES", "6"))
WRITERS = 6
BASE = "/api/v1/secrets"


@dataclass(frozen=True)
class Ack:
    secret_id: str
    version: int
    value: str


@dataclass
class Load:
    acked: list[Ack] = field(default_factory=list)
    unexpected: list[str] = field(default_factory=list)


async def _writer(client: httpx.AsyncClient, admin: dict[str, str], tag: str, load: Load) -> None:
    """Create a secret, then update it, until the server dies under it."""
    for n in range(10_000):
        first, second = secrets.token_hex(12), secrets.token_hex(12)
        try:
            created = await client.post(
                f"{BASE}/create", json={"path": f"crash/{tag}/{n}", "value": first}, headers=admin
            )
            if created.status_code != 200:
                load.unexpected.append(f"create {created.status_code}: {created.text}")
                return
            secret_id = created.json()["id"]
            load.acked.append(Ack(secret_id, 1, first))
            updated = await client.put(
                f"{BASE}/{secret_id}", json={"value": {"v": second}}, headers=admin
            )
            if updated.status_code != 200:
                load.unexpected.append(f"update {updated.status_code}: {updated.text}")
                return
            load.acked.append(Ack(secret_id, 2, f'{{"v":"{second}"}}'))
        except httpx.HTTPError:
            return  # the server was killed mid-request: that write is unknown, not acknowledged


async def _load_then_kill(
    server: ServerProcess, admin: dict[str, str], cycle: int, delay: float
) -> Load:
    load = Load()
    async with client_for(server) as client:
        writers = [
            asyncio.create_task(_writer(client, admin, f"{cycle}-{w}", load))
            for w in range(WRITERS)
        ]
        # The kill comes `delay` after the first acknowledged write, not after the start of
        # the load: a busy machine can take longer than the whole delay to answer the first
        # request of a fresh server, and a cycle with nothing acknowledged checks nothing.
        for _ in range(200):
            if load.acked or all(w.done() for w in writers):
                break
            await asyncio.sleep(0.05)
        await asyncio.sleep(delay)
        server.stop(kill=True)  # SIGKILL, no graceful shutdown
        await asyncio.gather(*writers)
    return load


async def _check(server: ServerProcess, admin: dict[str, str], acked: list[Ack]) -> list[str]:
    """Every acknowledged write, read back; the list of mismatches."""
    problems: list[str] = []
    async with client_for(server) as client:
        semaphore = asyncio.Semaphore(10)

        async def one(ack: Ack) -> None:
            async with semaphore:
                response = await client.get(
                    f"{BASE}/{ack.secret_id}", params={"version": ack.version}, headers=admin
                )
            if response.status_code != 200:
                problems.append(f"{ack}: {response.status_code} {response.text}")
                return
            value = response.json()["value"]
            shown = value if isinstance(value, str) else f'{{"v":"{value["v"]}"}}'
            if shown != ack.value:
                problems.append(f"{ack}: read back {shown!r}")

        await asyncio.gather(*(one(ack) for ack in acked))
    return problems


async def _every_listed_secret_reads(server: ServerProcess, admin: dict[str, str]) -> list[str]:
    """No torn write: every secret the server lists has a readable current version."""
    problems: list[str] = []
    async with client_for(server) as client:
        cursor = None
        while True:
            params = {"limit": 1000, **({"cursor": cursor} if cursor else {})}
            page = (await client.get(BASE, params=params, headers=admin)).json()
            for item in page["items"]:
                response = await client.get(f"{BASE}/{item['id']}", headers=admin)
                if response.status_code != 200:
                    problems.append(f"{item['path']}: {response.status_code} {response.text}")
            cursor = page["next_cursor"]
            if cursor is None:
                return problems


def _run_cycles(data_dir: Path, env: dict[str, str]) -> None:
    server = ServerProcess(data_dir, env, tls=True).start()
    rng = random.Random()
    try:
        admin = asyncio.run(_login(server))
        total = 0
        for cycle in range(CYCLES):
            delay = rng.uniform(0.05, 0.6)
            load = asyncio.run(_load_then_kill(server, admin, cycle, delay))
            assert not load.unexpected, load.unexpected
            server.start()
            problems = asyncio.run(_check(server, admin, load.acked))
            assert not problems, f"cycle {cycle} (killed after {delay:.2f} s): {problems[:5]}"
            total += len(load.acked)
        assert not asyncio.run(_every_listed_secret_reads(server, admin))
        assert total >= CYCLES, f"only {total} acknowledged writes: the load did not run"
        print(f"{total} acknowledged writes over {CYCLES} kill -9 cycles read back identically")
    except BaseException:
        print(server.log_path.read_text()[-4000:])  # shown by pytest with the failure
        raise
    finally:
        server.stop()


async def _login(server: ServerProcess) -> dict[str, str]:
    async with client_for(server) as client:
        return await login_admin(client, admin_password(server.data_dir))


@pytest.mark.slow
def test_acknowledged_writes_survive_kill_9_on_sqlite(tmp_path: Path) -> None:
    _run_cycles(tmp_path / "data", {})


@pytest.mark.slow
@pytest.mark.postgres
def test_acknowledged_writes_survive_kill_9_on_postgres(tmp_path: Path, pg_url: str) -> None:
    _run_cycles(tmp_path / "data", {"STRONGROOM_DATABASE_URL": pg_url})
