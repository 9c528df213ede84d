"""Helpers shared by the test suite (not fixtures: those are in conftest.py)."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import os
import random
import signal
import socket
import ssl
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
import httpx

from strongroom.crypto import ACCESS_PREFIX, REFRESH_PREFIX, new_token, token_hash
from strongroom.db.base import new_id, now
from strongroom.services import Services
from strongroom.sessions.store import NewSession
from strongroom.users import repository as users_repo

PG_ADMIN_URL = os.environ.get("STRONGROOM_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")
REDIS_URL = os.environ.get("STRONGROOM_TEST_REDIS", "redis://127.0.0.1:6379/0")
# The Argon2id floor of SECURITY.md: fast enough for a test suite, still a real Argon2id.
FAST_ARGON2 = {"argon2_time_cost": 2, "argon2_memory_kib": 19456, "argon2_parallelism": 1}
TEST_PASSWORD = "correct horse battery staple"


def _port_open(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


def pg_reachable() -> bool:
    return _port_open("127.0.0.1", 5432)


def redis_reachable() -> bool:
    return _port_open("127.0.0.1", 6379)


# Each xdist worker takes its ports from its own block below the kernel's ephemeral range
# (32768-60999 by default). A port the kernel hands out (`bind(0)`) can be handed out again, to
# another worker's test or as the source port of any outgoing connection, before the server
# that was meant to listen on it binds it: CI saw "address already in use" that way.
_PORT_BLOCK = 1000
_worker = os.environ.get("PYTEST_XDIST_WORKER", "")
_block = int(_worker[2:]) % 8 if _worker.startswith("gw") and _worker[2:].isdigit() else 8
# Even ports only: `bao server -dev` also binds the next port up for its cluster listener.
_ports = list(range(20000 + _block * _PORT_BLOCK, 20000 + (_block + 1) * _PORT_BLOCK, 2))
_start = random.randrange(len(_ports))  # two runs side by side on one machine start apart
_next_port = itertools.cycle(_ports[_start:] + _ports[:_start])


def free_port() -> int:
    """A port of this worker's block that nothing holds now, never the same one twice in a row."""
    for _ in range(len(_ports)):
        port = next(_next_port)
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError("no free port in this worker's block")


async def create_pg_database(name: str) -> None:
    conn = await asyncpg.connect(PG_ADMIN_URL)
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()


async def drop_pg_database(name: str) -> None:
    conn = await asyncpg.connect(PG_ADMIN_URL)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


@contextlib.contextmanager
def pg_database(prefix: str) -> Iterator[str]:
    """An asyncpg URL of a PostgreSQL database created empty for the block, dropped after it."""
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    run(create_pg_database(name))
    try:
        yield f"postgresql+asyncpg://postgres@127.0.0.1:5432/{name}"
    finally:
        run(drop_pg_database(name))


def password_in(path: Path) -> str:
    """The password of an admin-password file the first start wrote."""
    return path.read_text().split("password: ", 1)[1].strip()


def admin_password(data_dir: Path) -> str:
    """The password the first start wrote to `<data_dir>/admin-password`."""
    return password_in(data_dir / "admin-password")


async def truncate_postgres(url: str) -> None:
    """Empty every table of the test database (keeps the schema).

    DELETE in one transaction with the foreign-key triggers off (the test role is a superuser):
    on tables this small it takes a few milliseconds where TRUNCATE, which makes new files for
    every table and its indexes, took a tenth of a second per test.
    """
    conn = await asyncpg.connect(url.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        tables = await conn.fetch(
            "SELECT tablename FROM pg_tables "
            "WHERE schemaname = 'public' AND tablename <> 'alembic_version'"
        )
        async with conn.transaction():
            await conn.execute("SET LOCAL session_replication_role = replica")
            for table in tables:
                await conn.execute(f'DELETE FROM "{table["tablename"]}"')
    finally:
        await conn.close()


@dataclass
class Api:
    """An httpx client bound to one app, with small conveniences for the common calls."""

    client: httpx.AsyncClient
    services: Services

    def auth(self, token: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {token}"}

    def client_from(self, ip: str) -> httpx.AsyncClient:
        """Another client of the same app whose requests come from `ip`."""
        app = self.client._transport.app  # type: ignore[attr-defined]
        transport = httpx.ASGITransport(app=app, client=(ip, 40000))
        return httpx.AsyncClient(transport=transport, base_url="https://testserver")

    async def set_settings(self, **values: Any) -> None:
        """Store runtime settings directly (keys with `__` for `.`), as the settings API does."""
        await store_settings(self.services, {k.replace("__", "."): v for k, v in values.items()})

    async def create_user(
        self, admin_token: str, username: str, role: str = "user", password: str = TEST_PASSWORD
    ) -> dict[str, Any]:
        response = await self.client.post(
            "/api/v1/users/create",
            json={
                "username": username,
                "email": f"{username}@example.test",
                "role": role,
                "password": password,
            },
            headers=self.auth(admin_token),
        )
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    async def login(
        self, username: str, password: str = TEST_PASSWORD, **extra: Any
    ) -> dict[str, Any]:
        response = await self.client.post(
            "/api/v1/auth/token/create",
            data={"grant_type": "password", "username": username, "password": password, **extra},
        )
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body


async def store_settings(services: Services, values: Mapping[str, Any]) -> None:
    """Write runtime settings rows and announce the change (what the settings API does)."""
    import json

    from strongroom.system.repository import StoredSetting, upsert_setting

    async with services.db.begin() as conn:
        for key, value in values.items():
            await upsert_setting(conn, StoredSetting(key, json.dumps(value), None, now(), "test"))
    await services.runtime.changed()


async def make_user_session(
    services: Services,
    username: str,
    role: str = "user",
    *,
    password: str | None = None,
    **session: Any,
) -> tuple[str, str]:
    """Create a user (if needed) and open a session for it directly through the store.

    Returns (access_token, refresh_token). For tests that are not about login itself.
    """
    async with services.db.begin() as conn:
        user = await users_repo.get_by_username(conn, username)
        if user is None:
            stamp = now()
            user = users_repo.UserRow(
                new_id(),
                username,
                f"{username}@example.test",
                role,
                services.passwords.hash_sync(password) if password else None,
                None,
                None,
                False,
                stamp,
                stamp,
            )
            await users_repo.insert_user(conn, user)
    access, refresh = new_token(ACCESS_PREFIX), new_token(REFRESH_PREFIX)
    stamp = now()
    settings = services.settings.security
    await services.store.create(
        NewSession(
            id=new_id(),
            user_id=user.id,
            username=user.username,
            role=user.role,
            auth_method="password",
            access_hash=token_hash(access),
            refresh_hash=token_hash(refresh),
            created_at=stamp,
            access_ttl=settings.access_token_ttl,
            access_expires_at=stamp + session.pop("access_ttl", settings.access_token_ttl),
            refresh_expires_at=stamp + settings.refresh_token_ttl,
            max_expires_at=stamp + session.pop("max_lifetime", settings.max_session_lifetime),
            **session,
        )
    )
    return access, refresh


async def make_session_in_store(db: Any, store: Any, username: str) -> str:
    """An access token for `username`, written straight into a server's session table (a
    test process next to a real server on the embedded default)."""
    async with db.connect() as conn:
        user = await users_repo.get_by_username(conn, username)
    assert user is not None, username
    access = new_token(ACCESS_PREFIX)
    stamp = now()
    await store.create(
        NewSession(
            id=new_id(),
            user_id=user.id,
            username=user.username,
            role=user.role,
            auth_method="password",
            access_hash=token_hash(access),
            refresh_hash=None,
            created_at=stamp,
            access_ttl=600,
            access_expires_at=stamp + 600,
            refresh_expires_at=None,
            max_expires_at=stamp + 600,
        )
    )
    return access


class ServerProcess:
    """A real `strongroom server` process on a free port (plain HTTP unless `tls=True`)."""

    def __init__(
        self,
        data_dir: Path,
        env: Mapping[str, str],
        *,
        tls: bool = False,
        workers: int = 1,
        preexec: Callable[[], None] | None = None,
    ):
        self.data_dir = data_dir
        self.preexec = preexec
        self.port = free_port()
        self.tls = tls
        self.env = {
            **os.environ,
            "STRONGROOM_DATA_DIR": str(data_dir),
            "STRONGROOM_PORT": str(self.port),
            "STRONGROOM_WORKERS": str(workers),
            "STRONGROOM_TLS_DISABLE": "false" if tls else "true",
            "STRONGROOM_LOG_LEVEL": "warning",
            **{f"STRONGROOM_{k.upper()}": str(v) for k, v in FAST_ARGON2.items()},
            **env,
        }
        self.process: subprocess.Popen[bytes] | None = None
        self.served = False
        self.log_path = data_dir / f"server-{self.port}.log"

    @property
    def verify(self) -> ssl.SSLContext:
        """A client TLS context trusting this server's local CA."""
        return ssl.create_default_context(cafile=str(self.data_dir / "ca.pem"))

    @property
    def url(self) -> str:
        return f"{'https' if self.tls else 'http'}://127.0.0.1:{self.port}"

    def start(self, timeout: float = 30, *, moves: int = 3) -> ServerProcess:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("ab") as log:
            # Its own process group: the node is a supervisor and its workers, and a crash
            # (`stop(kill=True)`) takes all of them, like a machine or container going down.
            self.process = subprocess.Popen(
                [sys.executable, "-m", "strongroom.cli.main", "server"],
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                preexec_fn=self.preexec,
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                log = self.log_path.read_text()
                if moves and not self.served and "address already in use" in log[-300:]:
                    # Taken between free_port() and the bind by something outside this suite:
                    # a first start may move; a restart keeps its address, as a real node's.
                    self.port = free_port()
                    self.env["STRONGROOM_PORT"] = str(self.port)
                    return self.start(timeout, moves=moves - 1)
                raise RuntimeError(f"server exited: {log[-2000:]}")
            try:
                verify: Any = self.verify if self.tls else False
                response = httpx.get(f"{self.url}/api/v1/sys/health", verify=verify, timeout=1)
                if response.status_code in (200, 403, 501, 503):
                    self.served = True
                    return self
            except (httpx.HTTPError, OSError):
                pass
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"server did not start: {self.log_path.read_text()[-2000:]}")

    def stop(self, *, kill: bool = False) -> None:
        """SIGTERM the node (a graceful stop), or SIGKILL every process of it (`kill`)."""
        if self.process is None:
            return
        group = self.process.pid
        if self.process.poll() is None and not kill:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                kill = True
        if kill or self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(group, signal.SIGKILL)
            self.process.wait(timeout=10)
        self._wait_until_gone(group)
        self.process = None

    def _wait_until_gone(self, group: int, timeout: float = 10) -> None:
        """Until no process of the group is left (workers outlive a killed supervisor briefly)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                os.killpg(group, 0)
            except ProcessLookupError:
                return
            time.sleep(0.05)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(group, signal.SIGKILL)


def run(coro: Any) -> Any:
    return asyncio.run(coro)


def all_routes(app: Any) -> list[tuple[str, str]]:
    """(method, path) of every route, through included routers (FastAPI keeps them nested)."""
    found: list[tuple[str, str]] = []

    def walk(routes: Any, prefix: str) -> None:
        for route in routes:
            nested = getattr(route, "original_router", None)
            if nested is not None:
                walk(nested.routes, prefix + route.include_context.prefix)
            elif getattr(route, "methods", None):
                found.extend((method, prefix + route.path) for method in sorted(route.methods))

    walk(app.routes, "")
    return found
