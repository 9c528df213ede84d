"""A PostgreSQL server of one test (`initdb` in a temp directory, a free port), for tests that
look at the server's own files or settings; the shared server is never reconfigured.

PostgreSQL refuses to run as root: under root its files belong to the `postgres` user and it
runs as that user (runuser), as in bench/harness/stores.py; its directory is then made under
the system's temp directory, which that user can reach (pytest's `tmp_path` is private).
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
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import pytest

from tests.support import free_port


def _bindir() -> Path | None:
    pg_config = shutil.which("pg_config")
    if pg_config is not None:
        out = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True, check=False)
        if (Path(out.stdout.strip()) / "initdb").exists():
            return Path(out.stdout.strip())
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"), reverse=True)
    return found[0].parent if found else None


@contextlib.contextmanager
def private_postgres(*settings: str) -> Iterator[tuple[str, Path]]:
    """(asyncpg URL of its `postgres` database, data directory) of a server started with the
    `name=value` `settings`; stopped and removed afterwards."""
    bindir = _bindir()
    if bindir is None:
        pytest.skip("PostgreSQL's server binaries (initdb) are not installed")
    directory = Path(tempfile.mkdtemp(prefix="strongroom-test-pg-"))
    as_user: list[str] = []
    if os.geteuid() == 0:
        shutil.chown(directory, "postgres", "postgres")
        as_user = ["runuser", "-u", "postgres", "--"]
    data, port = directory / "data", free_port()
    subprocess.run(
        [*as_user, str(bindir / "initdb"), "-D", str(data), "-U", "postgres", "--auth=trust",
         "--encoding=UTF8", "--locale=C.UTF-8"],
        check=True, capture_output=True,
    )  # fmt: skip
    options = ["listen_addresses=127.0.0.1", f"unix_socket_directories={directory}", *settings]
    with (directory / "postgres.log").open("ab") as log:
        server = subprocess.Popen(
            [*as_user, str(bindir / "postgres"), "-D", str(data), "-p", str(port),
             *(arg for option in options for arg in ("-c", option))],
            stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
    url = f"postgresql://postgres@127.0.0.1:{port}/postgres"
    try:
        _wait_ready(url, server)
        yield url.replace("postgresql://", "postgresql+asyncpg://"), data
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(server.pid, signal.SIGINT)  # fast shutdown
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait(timeout=5)
        shutil.rmtree(directory, ignore_errors=True)


def _wait_ready(url: str, server: subprocess.Popen[bytes], timeout: float = 30) -> None:
    async def ping() -> None:
        connection = await asyncpg.connect(url, timeout=2)
        await connection.close()

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and server.poll() is None:
        try:
            asyncio.run(ping())
            return
        except (OSError, asyncpg.PostgresError):
            time.sleep(0.1)
    raise RuntimeError(f"the test's PostgreSQL did not start (exit code {server.poll()})")
