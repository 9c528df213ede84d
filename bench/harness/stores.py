"""The benchmark's PostgreSQL and Redis, removed at the end.

PostgreSQL: by default a server of the benchmark's own (`own_postgres`): `initdb` in a temp
directory and PostgreSQL's stock settings (autovacuum on, fsync and synchronous_commit on)
but for shared_buffers, a quarter of the memory as PostgreSQL's documentation advises for a
dedicated server. The shared PostgreSQL of this machine runs with autovacuum off, so a write
load leaves every dead row version in place and writes get slower from run to run (each
version bump leaves one behind in `secrets` and one in `secret_versions`). `--postgres
shared` uses that one instead. Either way the node gets a fresh database
`strongroom_<label>_<random>`; nothing else on the server is touched.

Redis: by default a redis-server of the benchmark's own, on a Unix socket in its work
directory, keeping nothing on disk like the shared one; with the TCP transport, the shared
Redis at 127.0.0.1:6379 under a key prefix `strongroom-bench-<random>:`.

Transport: a strongroom node on the same host as its PostgreSQL and Redis reaches them over Unix
sockets by default (`unix`), which costs less CPU per round trip than TCP over loopback;
`tcp` measures the loopback path (bench/README.md has both).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import redis
import redis.asyncio as aioredis

from harness.common import free_port
from harness.procs import Processes

PG_HOST = "127.0.0.1:5432"
PG_SOCKET_DIR = Path("/var/run/postgresql")
REDIS_URL = "redis://127.0.0.1:6379/0"
TRANSPORTS = ("unix", "tcp")
POSTGRES_SERVERS = ("own", "shared")


@dataclass(frozen=True)
class PostgresServer:
    """Where a PostgreSQL server listens: TCP on 127.0.0.1 and a Unix socket directory."""

    port: int
    socket_dir: Path

    @property
    def admin_dsn(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def url(self, database: str, transport: str) -> str:
        if transport == "unix":
            if not (self.socket_dir / f".s.PGSQL.{self.port}").exists():
                raise SystemExit(f"no PostgreSQL socket in {self.socket_dir}: use --transport tcp")
            return f"postgresql://postgres@/{database}?host={self.socket_dir}&port={self.port}"
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"


SHARED_POSTGRES = PostgresServer(5432, PG_SOCKET_DIR)


@contextmanager
def postgres_server(kind: str) -> Iterator[PostgresServer]:
    """The benchmark's own server (`own`, stopped and removed afterwards) or the shared one."""
    if kind == "shared":
        yield SHARED_POSTGRES
    else:
        with own_postgres() as server:
            yield server


@contextmanager
def own_postgres() -> Iterator[PostgresServer]:
    """`initdb` and `postgres` with their stock settings, trust auth for the `postgres` role.

    PostgreSQL refuses to run as root: under root, its files belong to the `postgres` user
    and it runs as that user (runuser). The server is not one of `Processes`: the databases
    on it are dropped after the nodes stop and before it does (ExitStack order)."""
    bindir = _postgres_bindir()
    directory = Path(tempfile.mkdtemp(prefix="strongroom-bench-pg-"))
    as_user: list[str] = []
    if os.geteuid() == 0:
        shutil.chown(directory, "postgres", "postgres")
        as_user = ["runuser", "-u", "postgres", "--"]
    data, sockets = directory / "data", directory / "sockets"
    server: subprocess.Popen[bytes] | None = None
    try:
        subprocess.run([*as_user, "mkdir", str(sockets)], check=True)
        subprocess.run(
            [*as_user, str(bindir / "initdb"), "-D", str(data), "-U", "postgres",
             "--auth=trust", "--encoding=UTF8", "--locale=C.UTF-8"],
            check=True, capture_output=True,
        )  # fmt: skip
        port = free_port()
        with (directory / "postgres.log").open("ab") as log:
            server = subprocess.Popen(
                [*as_user, str(bindir / "postgres"), "-D", str(data), "-p", str(port),
                 "-c", "listen_addresses=127.0.0.1",
                 "-c", f"unix_socket_directories={sockets}",
                 "-c", f"shared_buffers={shared_buffers_mib()}MB"],
                stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                start_new_session=True,
            )  # fmt: skip
        found = PostgresServer(port, sockets)
        _wait_for_postgres(found, server)
        yield found
    finally:
        if server is not None:
            _stop_postgres(server)
        shutil.rmtree(directory, ignore_errors=True)


def shared_buffers_mib() -> int:
    """A quarter of the machine's memory, PostgreSQL's documented starting point for a
    dedicated server (at most 8 GiB). Stock 128 MB would hold little of the 2 GB that a
    million secrets take: reads would measure the kernel's page cache, not strongroom."""
    total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    return max(128, min(8192, total // 4 // 2**20))


def _stop_postgres(server: subprocess.Popen[bytes]) -> None:
    """Fast shutdown (SIGINT: its clients are gone), SIGKILL if it lingers."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(server.pid, signal.SIGINT)
    try:
        server.wait(timeout=30)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(server.pid, signal.SIGKILL)
        server.wait(timeout=5)


def _postgres_bindir() -> Path:
    pg_config = shutil.which("pg_config")
    if pg_config is not None:
        out = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True, check=False)
        candidate = Path(out.stdout.strip())
        if (candidate / "initdb").exists():
            return candidate
    for candidate in sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True):
        if (candidate / "initdb").exists():
            return candidate
    raise SystemExit("PostgreSQL's initdb was not found (use --postgres shared)")


def _wait_for_postgres(
    server: PostgresServer, process: subprocess.Popen[bytes], timeout: float = 60
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and process.poll() is None:
        try:
            asyncio.run(_admin(server, "SELECT 1"))
            return
        except (OSError, asyncpg.PostgresError):
            time.sleep(0.1)
    raise SystemExit(f"the benchmark's PostgreSQL (pid {process.pid}) did not start")


@contextmanager
def fresh_database(
    label: str = "bench", transport: str = "tcp", server: PostgresServer = SHARED_POSTGRES
) -> Iterator[str]:
    """A new empty database on `server`; yields its URL (over the Unix socket with transport
    `unix`) and drops it afterwards."""
    name = f"strongroom_{label}_{uuid.uuid4().hex[:10]}"
    asyncio.run(_admin(server, f'CREATE DATABASE "{name}"'))
    try:
        yield server.url(name, transport)
    finally:
        asyncio.run(_admin(server, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


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


async def _admin(server: PostgresServer, statement: str) -> None:
    conn = await asyncpg.connect(server.admin_dsn)
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
