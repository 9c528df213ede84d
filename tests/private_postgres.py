"""A PostgreSQL server of one test (initdb in a temp directory, a free port), that the test may
stop and start again: the shared server on 5432 must never be stopped.

PostgreSQL refuses to run as root: under root its files belong to the `postgres` user and it
runs as that user (runuser), in a directory outside pytest's (whose parents are 0700)."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

from tests.support import free_port


def postgres_bindir() -> Path | None:
    found = shutil.which("pg_config")
    if found is not None:
        out = subprocess.run([found, "--bindir"], capture_output=True, text=True, check=False)
        candidate = Path(out.stdout.strip())
        if (candidate / "initdb").exists():
            return candidate
    for candidate in sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True):
        if (candidate / "initdb").exists():
            return candidate
    return None


class PrivatePostgres:
    """`initdb` once (`start` does it), then `start`/`stop` as often as the test needs;
    `remove` stops it and deletes its files. Settings for speed, not durability."""

    def __init__(self, bindir: Path) -> None:
        self.bindir = bindir
        self.directory = Path(tempfile.mkdtemp(prefix="strongroom-test-pg-"))
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None
        self._as_user: list[str] = []
        if os.geteuid() == 0:
            shutil.chown(self.directory, "postgres", "postgres")
            self._as_user = ["runuser", "-u", "postgres", "--"]

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+asyncpg://postgres@127.0.0.1:{self.port}/{database}"

    @property
    def _data(self) -> Path:
        return self.directory / "data"

    def start(self, timeout: float = 60) -> None:
        if not self._data.exists():
            subprocess.run(
                [*self._as_user, str(self.bindir / "initdb"), "-D", str(self._data),
                 "-U", "postgres", "--auth=trust", "--encoding=UTF8", "--no-sync",
                 "--no-instructions"],
                check=True, capture_output=True,
            )  # fmt: skip
        with (self.directory / "postgres.log").open("ab") as log:
            self.process = subprocess.Popen(
                [*self._as_user, str(self.bindir / "postgres"), "-D", str(self._data),
                 "-p", str(self.port), "-c", "listen_addresses=127.0.0.1",
                 "-c", f"unix_socket_directories={self.directory}", "-c", "fsync=off",
                 "-c", "synchronous_commit=off", "-c", "full_page_writes=off"],
                stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                start_new_session=True,
            )  # fmt: skip
        self._wait_ready(timeout)

    def _client(self, program: str, *args: str) -> subprocess.CompletedProcess[bytes]:
        where = ["-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres"]
        command = [str(self.bindir / program), *where, *args]
        return subprocess.run(command, capture_output=True, check=False, timeout=30)

    def _wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.process is not None
            if self.process.poll() is not None:
                raise RuntimeError(f"postgres exited: {self.log_tail()}")
            if self._client("pg_isready", "-d", "postgres").returncode == 0:
                return
            time.sleep(0.1)
        raise RuntimeError(f"postgres did not start: {self.log_tail()}")

    def create_database(self, name: str) -> str:
        """Synchronous (usable from a test's event loop): `createdb`."""
        done = self._client("createdb", name)
        assert done.returncode == 0, done.stderr
        return self.url(name)

    def stop(self) -> None:
        """Immediate shutdown (SIGQUIT), as close to a crash as PostgreSQL allows cleanly."""
        if self.process is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGQUIT)
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)
        self.process = None

    def remove(self) -> None:
        self.stop()
        shutil.rmtree(self.directory, ignore_errors=True)

    def log_tail(self) -> str:
        path = self.directory / "postgres.log"
        return path.read_text(errors="replace")[-2000:] if path.exists() else ""
