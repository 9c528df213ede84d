"""PostgreSQL unreachable while the session store (Redis) is up: every secret route answers
503 `database_unavailable`, the fast lane's reads and writes as much as the regular routes,
and the node serves again once the database is back."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
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
            await _terminate_backends(name, conn)
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


class _HoldingProxy:
    """A TCP relay to the shared PostgreSQL that, when the server hangs up, passes on what the
    server said last but keeps the client's socket open: the window between a terminated
    backend's FATAL message and the end of its connection, which is a race on a real network,
    held open for as long as the test needs it. It runs its own event loop in a thread (the
    node's start-up blocks its loop while it migrates through the relay)."""

    def __init__(self) -> None:
        self.holding = False  # set by the test: from then on a server's hang-up is not passed on
        self.held: list[asyncio.StreamWriter] = []
        self.port = 0
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)

    @contextmanager
    def running(self) -> Iterator[_HoldingProxy]:
        self._thread.start()
        server = asyncio.run_coroutine_threadsafe(
            asyncio.start_server(self._relay, "127.0.0.1", 0), self._loop
        ).result()
        self.port = server.sockets[0].getsockname()[1]
        try:
            yield self
        finally:
            self.release()
            self._loop.call_soon_threadsafe(server.close)
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join()
            self._loop.close()

    def release(self) -> None:
        """Stop holding, and tell every held client that its server is gone."""
        self.holding = False

        async def close_all() -> None:
            for writer in self.held:
                writer.close()
            self.held.clear()

        asyncio.run_coroutine_threadsafe(close_all(), self._loop).result()

    async def _relay(self, client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter) -> None:
        server_r, server_w = await asyncio.open_connection("127.0.0.1", 5432)

        async def pump(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()

        async def from_client() -> None:
            with suppress(OSError):
                await pump(client_r, server_w)
            server_w.close()

        async def from_server() -> None:
            with suppress(OSError):
                await pump(server_r, client_w)
            if self.holding:
                self.held.append(client_w)  # the server is gone; the client is not told
            else:
                client_w.close()

        await asyncio.gather(from_client(), from_server())


async def test_a_connection_wedged_by_a_terminated_backend_answers_503_and_is_dropped(
    make_config: Callable[..., Config], own_database: str, open_api: Any
) -> None:
    """Each pooled connection (the raw pool of the hot path and SQLAlchemy's) has read its
    backend's FATAL message but not yet seen the socket close (the race that failed a CI run).
    A request that draws one gets 503, not 500, and the connection is not handed out again: the
    node serves as soon as the database answers, without a restart."""
    with _HoldingProxy().running() as proxy:
        name = own_database.rsplit("/", 1)[1]
        url = f"postgresql+asyncpg://postgres@127.0.0.1:{proxy.port}/{name}"
        # The audit goes to stdout here: the file sink's checkpoint writer draws pooled
        # connections in the background and would use up the wedged ones before the requests.
        config = make_config(
            "sqlite",
            redis_store=True,
            database_url=url,
            secret_cache_size=0,
            audit_file="off",
            audit_stdout=True,
        )
        async with open_api(config) as api:
            admin = await headers_for(api, "root", "admin")
            secret_id = (await create(api, admin, "outage/wedged", "v1"))["id"]
            put = f"/api/v1/secrets/{secret_id}"
            assert (
                await api.client.put(put, json={"value": "v2"}, headers=admin)
            ).status_code == 200
            proxy.holding = True
            await _terminate_backends(name)
            await asyncio.sleep(0.2)  # the FATAL messages reach the node's connections
            try:
                for request in (
                    lambda: read(api, admin, secret_id),  # fast lane, raw pool
                    lambda: api.client.get("/api/v1/secrets", headers=admin),  # SQLAlchemy
                ):
                    statuses = []
                    for _attempt in range(12):
                        response = await request()
                        statuses.append(response.status_code)
                        if response.status_code == 200:
                            break
                        assert_error(response, 503, "database_unavailable")
                    assert statuses[0] == 503 and statuses[-1] == 200, statuses
                    assert secret_id in response.text
            finally:
                proxy.release()


async def _terminate_backends(name: str, admin: Any = None) -> None:
    """End every backend of the database and wait until they are gone (their FATAL sent);
    on the `admin` connection given, else on one of its own."""
    conn = admin or await asyncpg.connect(ADMIN_DSN)
    try:
        await conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1", name
        )
        for _ in range(100):
            left = await conn.fetchval(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = $1", name
            )
            if left == 0:
                return
            await asyncio.sleep(0.02)
        raise AssertionError(f"backends of {name} still running")
    finally:
        if admin is None:
            await conn.close()


def test_the_helper_really_cuts_the_database_off(own_database: str) -> None:
    run(_allow_connections(own_database, False))
    try:
        dsn = own_database.replace("postgresql+asyncpg://", "postgresql://")
        with pytest.raises(asyncpg.PostgresError, match="not currently accepting connections"):
            run(asyncpg.connect(dsn))
    finally:
        run(_allow_connections(own_database, True))
