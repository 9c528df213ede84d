"""PostgreSQL and Redis over Unix sockets: the transport of a one-host deployment.

On one host a Unix socket costs less CPU per round trip than TCP over loopback (the benchmark's
PostgreSQL + Redis node uses them; bench/README.md has the figures). Every hot path is checked
here on real servers reached only that way: the session check with the watched value, the
cached read, the one-statement PostgreSQL write, and revocation.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import asyncpg
import pytest
import redis

from strongroom.config import Config
from tests.conftest import need
from tests.secrets.conftest import create, read
from tests.sessions.private_redis import PrivateRedis
from tests.support import make_user_session

PG_SOCKET_DIR = Path("/var/run/postgresql")


@pytest.fixture
def unix_redis(tmp_path: Path) -> Iterator[PrivateRedis]:
    """A redis-server of this test listening on a Unix socket only (no TCP port)."""
    need(shutil.which("redis-server") is not None, "redis-server")
    server = PrivateRedis(tmp_path / "redis", unix_socket=True)
    server.start()
    try:
        yield server
    finally:
        server.kill()


@pytest.fixture
def socket_config(
    make_config: Callable[..., Config], pg_url: str, unix_redis: PrivateRedis
) -> Config:
    need((PG_SOCKET_DIR / ".s.PGSQL.5432").exists(), f"PostgreSQL's socket in {PG_SOCKET_DIR}")
    database = pg_url.rsplit("/", 1)[1]
    return make_config(
        "postgres",
        database_url=f"postgresql://postgres@/{database}?host={PG_SOCKET_DIR}",
        redis_url=unix_redis.url,
        redis_prefix="sr:",
    )


async def _peers_of_strongroom(database: str) -> list[Any]:
    conn = await asyncpg.connect(host=str(PG_SOCKET_DIR), user="postgres", database=database)
    try:
        rows = await conn.fetch(
            "SELECT client_addr FROM pg_stat_activity"
            " WHERE datname = $1 AND application_name = 'strongroom'",
            database,
        )
        return [row["client_addr"] for row in rows]
    finally:
        await conn.close()


async def test_the_hot_paths_work_over_unix_sockets(
    socket_config: Config, unix_redis: PrivateRedis, open_api: Callable[[Config], Any]
) -> None:
    assert unix_redis.port == 0 and unix_redis.socket is not None
    async with open_api(socket_config) as api:
        access, _refresh = await make_user_session(api.services, "root", "admin")
        admin = api.auth(access)
        secret_id = (await create(api, admin, "unix/db-password", "v1"))["id"]
        first = await read(api, admin, secret_id)
        assert first.status_code == 200, first.text
        assert first.json()["value"] == "v1"
        again = await read(api, admin, secret_id)  # from the node's cache: watched value held
        assert again.json()["version"] == 1

        written = await api.client.put(
            f"/api/v1/secrets/{secret_id}", json={"value": "v2"}, headers=admin
        )
        assert written.status_code == 200, written.text
        assert written.json()["version"] == 2
        after = await read(api, admin, secret_id)
        assert (after.json()["version"], after.json()["value"]) == (2, "v2")

        # Every PostgreSQL connection of the node is on the socket (no client address), and
        # the session and the secret's watched value live in the socket-only Redis.
        database = socket_config.database_url.split("@/", 1)[1].split("?", 1)[0]
        peers = await _peers_of_strongroom(database)
        assert peers and all(peer is None for peer in peers), peers
        raw = redis.Redis.from_url(unix_redis.url)
        try:
            assert raw.exists(f"sr:w:secret:{secret_id}")
        finally:
            raw.close()

        revoked = await api.client.post("/api/v1/auth/token/revoke", json={"token": access})
        assert revoked.status_code == 200, revoked.text
        refused = await read(api, admin, secret_id)
        assert refused.status_code == 401
        assert refused.json()["code"] == "invalid_token"
