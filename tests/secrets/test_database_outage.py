"""PostgreSQL unreachable while the session store (Redis) is up: every secret route answers
503 `database_unavailable`, the fast lane's reads and writes as much as the regular routes,
and the node serves again once the database is back."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import asyncpg
import pytest

from strongroom.config import Config
from tests.secrets.conftest import assert_error, create, headers_for, read
from tests.support import pg_database, run

ADMIN_DSN = "postgresql://postgres@127.0.0.1:5432/postgres"


@pytest.fixture
def own_database(pg_database_url: str) -> Iterator[str]:
    """A database of this test alone: it is the one cut off (needs the shared server)."""
    with pg_database("strongroom_outage") as url:
        yield url


async def _allow_connections(url: str, allowed: bool) -> None:
    """Open or close the database to new connections; closing also ends the existing ones."""
    name = url.rsplit("/", 1)[1]
    conn = await asyncpg.connect(ADMIN_DSN)
    try:
        await conn.execute(f'ALTER DATABASE "{name}" WITH ALLOW_CONNECTIONS {str(allowed).lower()}')
        if not allowed:
            await conn.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1", name
            )
    finally:
        await conn.close()


async def test_secret_routes_answer_503_while_the_database_is_gone(
    make_config: Callable[..., Config], own_database: str, open_api: Any
) -> None:
    config = make_config("sqlite", redis_store=True, database_url=own_database)
    async with open_api(config) as api:
        admin = await headers_for(api, "root", "admin")
        secret_id = (await create(api, admin, "outage/db", "v1"))["id"]
        url = f"/api/v1/secrets/{secret_id}"
        assert (await api.client.put(url, json={"value": "v2"}, headers=admin)).status_code == 200
        await _allow_connections(own_database, False)
        try:
            for response in (
                await read(api, admin, secret_id),  # the fast lane (never read: not cached)
                await api.client.put(url, json={"value": "v3"}, headers=admin),  # fast lane
                # ...and its one-transaction plan, taken when the metadata changes too
                await api.client.put(
                    url, json={"value": "v3", "metadata": {"team": "a"}}, headers=admin
                ),
                await api.client.get("/api/v1/secrets/by-path/outage/db", headers=admin),
                await api.client.get("/api/v1/secrets", headers=admin),
            ):
                assert_error(response, 503, "database_unavailable")
                assert response.headers["retry-after"] == "5"
        finally:
            await _allow_connections(own_database, True)
        current = (await read(api, admin, secret_id)).json()
        assert (current["version"], current["value"]) == (2, "v2")


def test_the_helper_really_cuts_the_database_off(own_database: str) -> None:
    run(_allow_connections(own_database, False))
    try:
        dsn = own_database.replace("postgresql+asyncpg://", "postgresql://")
        with pytest.raises(asyncpg.PostgresError, match="not currently accepting connections"):
            run(asyncpg.connect(dsn))
    finally:
        run(_allow_connections(own_database, True))
