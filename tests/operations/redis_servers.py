"""Private redis-server processes for the Sentinel and TLS tests: a primary, its replica and a
sentinel watching them, each on a free port in its own directory."""

from __future__ import annotations

import contextlib
import shutil
import subprocess
import time
from pathlib import Path

import redis

from tests.support import free_port

SERVICE = "strongroom-primary"


class RedisServer:
    """`redis-server` on a free port with `args`; `sentinel=True` runs it as a sentinel."""

    def __init__(self, directory: Path, args: list[str], *, sentinel: bool = False) -> None:
        self.directory = directory
        self.port = free_port()
        self.args = args
        self.sentinel = sentinel
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, client: redis.Redis | None = None, timeout: float = 30) -> RedisServer:
        binary = shutil.which("redis-server")
        assert binary is not None, "redis-server is not installed"
        self.directory.mkdir(parents=True, exist_ok=True)
        command = [binary]
        if self.sentinel:
            # A sentinel rewrites its configuration file: it must be one of its own.
            conf = self.directory / "sentinel.conf"
            conf.write_text("\n".join(self.args) + "\n")
            command += [str(conf), "--sentinel"]
            common = []
        else:
            common = ["--save", "", "--appendonly", "no", *self.args]
        command += ["--port", str(self.port), "--bind", "127.0.0.1", "--dir", str(self.directory)]
        with (self.directory / "redis.log").open("ab") as log:
            self.process = subprocess.Popen(
                [*command, *common], stdout=log, stderr=subprocess.STDOUT
            )
        probe = client or redis.Redis(port=self.port, socket_timeout=1, socket_connect_timeout=1)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"redis-server exited: {self.log_tail()}")
            with contextlib.suppress(redis.RedisError):
                if probe.ping():
                    probe.close()
                    return self
            time.sleep(0.05)
        probe.close()
        self.kill()
        raise RuntimeError(f"redis-server did not start: {self.log_tail()}")

    def client(self) -> redis.Redis:
        return redis.Redis(port=self.port, socket_timeout=2, socket_connect_timeout=2)

    def log_tail(self) -> str:
        path = self.directory / "redis.log"
        return path.read_text(errors="replace")[-2000:] if path.exists() else ""

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)


def wait_for(condition: object, what: str, timeout: float = 90) -> None:
    """Poll `condition()` until it is true (generous deadline: the machine may be loaded)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(redis.RedisError):
            if condition():  # type: ignore[operator]
                return
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")
