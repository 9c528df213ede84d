"""Fixtures on real parts: SQLite files, a PostgreSQL database of this run, Redis with a key
prefix of this run, the app in-process (httpx ASGI transport) or as real server processes.

With STRONGROOM_TEST_REQUIRE_SERVICES=1 (CI), a missing PostgreSQL or Redis fails the tests
that need them instead of skipping them.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import sqlite3
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis

from strongroom.app import create_app
from strongroom.config import Config
from strongroom.crypto import generate_root_key
from strongroom.db.engine import Database
from tests.support import (
    FAST_ARGON2,
    REDIS_URL,
    Api,
    password_in,
    pg_database,
    pg_reachable,
    redis_reachable,
    run,
    truncate_postgres,
)

REQUIRE_SERVICES = os.environ.get("STRONGROOM_TEST_REQUIRE_SERVICES") == "1"


def need(available: bool, what: str) -> None:
    if available:
        return
    if REQUIRE_SERVICES:
        pytest.fail(f"{what} is not reachable and STRONGROOM_TEST_REQUIRE_SERVICES=1")
    pytest.skip(f"{what} is not reachable")


# --- PostgreSQL and Redis of this run -----------------------------------------------------------


@pytest.fixture(scope="session")
def pg_database_url() -> Iterator[str]:
    """An asyncpg URL of a database created for this run and dropped at its end."""
    need(pg_reachable(), "PostgreSQL at 127.0.0.1:5432")
    with pg_database("strongroom_test") as url:
        yield url


@pytest.fixture
def pg_url(pg_database_url: str) -> str:
    """The run's PostgreSQL database, emptied for this test."""
    run(truncate_postgres(pg_database_url))
    return pg_database_url


@pytest.fixture
def redis_prefix() -> Iterator[str]:
    """A Redis key prefix of this test; its keys are deleted afterwards."""
    need(redis_reachable(), "Redis at 127.0.0.1:6379")
    prefix = f"srtest:{uuid.uuid4().hex[:12]}:"
    yield prefix
    client = redis.Redis.from_url(REDIS_URL)
    try:
        keys = list(client.scan_iter(match=f"{prefix}*", count=1000))
        if keys:
            client.delete(*keys)
    finally:
        client.close()


# --- configuration and app ------------------------------------------------------------------


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite database file migrated to the newest schema once per test process.

    An in-process test on the embedded default starts from a copy of it instead of running
    every migration again: the same file a first start makes, with nothing in it yet (the
    keyring, roles and admin are still made by the test's own first start). The migrations
    themselves are tested from an empty file in tests/foundation.
    """
    path = tmp_path_factory.mktemp("sqlite-template") / "strongroom.db"

    async def migrate() -> None:
        database = Database(f"sqlite+aiosqlite:///{path.resolve()}")
        try:
            await database.migrate()
        finally:
            await database.dispose()

    # In a thread of its own: the first test to ask may be a coroutine, on a running loop.
    with ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, migrate()).result()
    with sqlite3.connect(path) as conn:  # fold the WAL into the file, which is then all of it
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return path


def _start_from_template(data_dir: Path, template: Path) -> None:
    """A new data directory (0700) holding a copy of the migrated database (0600)."""
    data_dir.mkdir(mode=0o700, parents=True)
    target = data_dir / "strongroom.db"
    shutil.copyfile(template, target)
    os.chmod(target, 0o600)


@pytest.fixture(params=["sqlite", "postgres"])
def db_backend(request: pytest.FixtureRequest) -> str:
    """Run the test on SQLite and on PostgreSQL."""
    return str(request.param)


@pytest.fixture
def make_config(tmp_path: Path, request: pytest.FixtureRequest) -> Callable[..., Config]:
    """Build a test Config: `backend` sqlite|postgres, `redis_store` True for the Redis store.

    Every config of one test shares the data directory and the root key (like the nodes of
    one cluster); pass `data_dir=` for a node of its own.
    """
    root_key = generate_root_key().encode()

    def build(backend: str = "sqlite", *, redis_store: bool = False, **overrides: Any) -> Config:
        values: dict[str, Any] = {
            "data_dir": tmp_path / "data",
            "seal": "env",
            "root_key": root_key,
            "tls_disable": True,
            "audit_file": str(tmp_path / "data" / "audit.log"),
            **FAST_ARGON2,
        }
        if backend == "postgres":
            values["database_url"] = request.getfixturevalue("pg_url")
        if redis_store:
            prefix = request.getfixturevalue("redis_prefix")
            values["redis_url"] = REDIS_URL
            values["redis_prefix"] = prefix
        values.update(overrides)
        data_dir = Path(values["data_dir"])
        if values.get("database_url") is None and not data_dir.exists():
            _start_from_template(data_dir, request.getfixturevalue("sqlite_template"))
        return Config(**values)

    return build


@pytest.fixture
def config(make_config: Callable[..., Config], db_backend: str) -> Config:
    return make_config(db_backend)


async def _open_api(config: Config, **app_options: Any) -> AsyncIterator[Api]:
    app = create_app(config, **app_options)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, client=("203.0.113.7", 50000))
        async with httpx.AsyncClient(transport=transport, base_url="https://testserver") as client:
            yield Api(client, app.state.holder.get())


@pytest.fixture
async def api(config: Config) -> AsyncIterator[Api]:
    """The app over its ASGI interface (scheme https), on SQLite and on PostgreSQL."""
    async for opened in _open_api(config):
        yield opened


@pytest.fixture
async def sqlite_api(make_config: Callable[..., Config]) -> AsyncIterator[Api]:
    """The app on SQLite only, for tests whose subject is not the database."""
    async for opened in _open_api(make_config("sqlite")):
        yield opened


@pytest.fixture
def open_api() -> Callable[[Config], Any]:
    """`async with open_api(config) as api:` for tests that build their own configuration."""
    from contextlib import asynccontextmanager

    return asynccontextmanager(_open_api)


@pytest.fixture
def admin_password(config: Config) -> Callable[[], str]:
    def read() -> str:
        return password_in(config.admin_password_file)

    return read


# --- order over xdist workers ---------------------------------------------------------------------


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Modules with a slow test first, then the others, the larger first. `make test` hands
    whole modules to its workers (`--dist loadfile --no-loadscope-reorder`, so that a
    module's server or browser starts once); a long module handed out last would leave the
    other workers idle while it runs, and small ones at the end fill the gaps."""
    slow = {item.path for item in items if item.get_closest_marker("slow") is not None}
    size = Counter(item.path for item in items)
    # Stable: the tests of a module keep their order.
    items.sort(key=lambda item: (item.path not in slow, -size[item.path]))
