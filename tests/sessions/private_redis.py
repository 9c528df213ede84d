"""A redis-server of one test, on a free port, that the test may kill and restart (the shared
Redis must never be stopped)."""

from __future__ import annotations

import shutil
import signal
import subprocess
import time
from pathlib import Path
from typing import BinaryIO

import redis

from tests.support import free_port


class PrivateRedis:
    """`redis-server` in `directory`, on a free TCP port, or with `unix_socket` only on a Unix
    socket in `directory`. Persistence: an append-only file fsynced on every write (`"aof"`),
    or Redis's default, RDB snapshots (`"rdb"`: `save()` takes one, a restart loads it)."""

    def __init__(
        self, directory: Path, *, unix_socket: bool = False, persistence: str = "aof"
    ) -> None:
        self.directory = directory
        self.socket = directory / "redis.sock" if unix_socket else None
        self.port = 0 if unix_socket else free_port()
        self.persistence = persistence
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        if self.socket is not None:
            return f"unix://{self.socket}?db=0"
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self, timeout: float = 20) -> None:
        binary = shutil.which("redis-server")
        assert binary is not None, "redis-server is not installed"
        self.directory.mkdir(parents=True, exist_ok=True)
        with (self.directory / "redis.log").open("ab") as log:
            self.process = self._spawn(binary, log)
        self._wait_ready(timeout)

    def _spawn(self, binary: str, log: BinaryIO) -> subprocess.Popen[bytes]:
        listen = ["--port", str(self.port), "--bind", "127.0.0.1"]
        if self.socket is not None:
            listen += ["--unixsocket", str(self.socket), "--unixsocketperm", "700"]
        if self.persistence == "aof":
            persistence = ["--appendonly", "yes", "--appendfsync", "always", "--save", ""]
        else:  # snapshots only when asked (save()), as if the last automatic one was then
            persistence = ["--appendonly", "no", "--save", "3600 1"]
        return subprocess.Popen(
            [binary, *listen, "--dir", str(self.directory), *persistence],
            stdout=log,
            stderr=subprocess.STDOUT,
        )  # fmt: skip

    def _wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        client = redis.Redis.from_url(self.url, socket_timeout=1, socket_connect_timeout=1)
        try:
            while time.monotonic() < deadline:
                assert self.process is not None
                if self.process.poll() is not None:
                    raise RuntimeError(f"redis-server exited: {self.log_tail()}")
                try:
                    if client.ping():  # fails while the append-only file is loading
                        return
                except redis.RedisError:
                    time.sleep(0.05)
        finally:
            client.close()
        self.kill()
        raise RuntimeError(f"redis-server did not start: {self.log_tail()}")

    def client(self) -> redis.Redis:
        return redis.Redis.from_url(self.url, socket_timeout=5, decode_responses=True)

    def save(self) -> None:
        """An RDB snapshot now (what `save` points make Redis do now and then)."""
        with self.client() as client:
            client.save()

    def forget_data(self) -> None:
        """Delete the snapshot and append-only files: the next start is empty."""
        for path in self.directory.iterdir():
            if path.name.startswith(("dump", "appendonly")):
                if path.is_dir():
                    shutil.rmtree(path)
                else:
                    path.unlink()

    def freeze(self) -> None:
        """SIGSTOP: the server keeps its port (the kernel still accepts connections) and
        answers nothing, like a hung host."""
        assert self.process is not None
        self.process.send_signal(signal.SIGSTOP)

    def thaw(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGCONT)

    def kill(self) -> None:
        """SIGKILL, as in a crash: only what was fsynced survives."""
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait(timeout=10)
        self.process = None

    def log_tail(self) -> str:
        path = self.directory / "redis.log"
        return path.read_text(errors="replace")[-2000:] if path.exists() else ""
