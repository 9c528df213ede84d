"""Argon2id password hashing, in a child process at the lowest CPU priority.

Hashing is slow by design. Each PasswordHasher hands it to a child process
(strongroom.crypto.hashd, started on first use) that runs at nice 19 and in Linux's SCHED_IDLE
class: a burst of logins takes the CPU only when request handling does not need it, and a
request that wakes up preempts the hash at once instead of waiting for a time slice to end.
The event loop waits for the answer in a small thread pool of normal priority; hashd's
docstring says why the hashing is not in those threads themselves.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import queue
import subprocess
import sys
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, ParamSpec, TypeVar

from argon2.exceptions import InvalidHashError

from strongroom.crypto import hashd
from strongroom.crypto.tokens import random_id
from strongroom.errors import ServiceUnavailable

# OWASP / SECURITY.md floor: m=19456 KiB, t=2, p=1. The defaults below are argon2-cffi's
# (RFC 9106 low-memory profile) and stronger.
MIN_MEMORY_KIB = 19456
MIN_TIME_COST = 2

P = ParamSpec("P")
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Argon2Parameters:
    time_cost: int = 3
    memory_kib: int = 65536
    parallelism: int = 4

    def __post_init__(self) -> None:
        if (
            self.memory_kib < MIN_MEMORY_KIB
            or self.time_cost < MIN_TIME_COST
            or self.parallelism < 1
        ):
            raise ValueError("Argon2id parameters below the m=19456 KiB, t=2, p=1 floor")


class HashingUnavailable(ServiceUnavailable):
    def __init__(self) -> None:
        super().__init__("password hashing is unavailable", code="hashing_unavailable")


class _Child:
    """One hashd process, used by one pool thread at a time; started again if it died."""

    def __init__(self, parameters: Argon2Parameters, lock_file: Path | None = None) -> None:
        self._argv = [
            sys.executable,
            "-m",
            hashd.__name__,
            str(parameters.time_cost),
            str(parameters.memory_kib),
            str(parameters.parallelism),
            *([str(lock_file)] if lock_file else []),
        ]
        self._process: subprocess.Popen[bytes] | None = None
        self._closed = False

    def ask(self, request: dict[str, str]) -> dict[str, Any]:
        line = json.dumps(request).encode() + b"\n"
        for _ in range(2):  # a child that died is replaced once
            if self._closed:
                break
            if self._process is None:
                try:
                    self._process = subprocess.Popen(  # noqa: S603 (our interpreter and module)
                        self._argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE
                    )
                except OSError:  # no process to be had (limits, memory): 503, not 500
                    break
            stdin: IO[bytes] | None = self._process.stdin
            stdout: IO[bytes] | None = self._process.stdout
            assert stdin is not None
            assert stdout is not None
            try:
                stdin.write(line)
                stdin.flush()
                reply = stdout.readline()
            except (OSError, ValueError):  # broken pipe, or closed by stop()
                reply = b""
            if reply:
                answer: dict[str, Any] = json.loads(reply)
                if "error" not in answer:
                    return answer
            self.stop()
        raise HashingUnavailable()

    def stop(self, *, close: bool = False) -> None:
        self._closed = self._closed or close
        process, self._process = self._process, None
        if process is None:
            return
        with contextlib.suppress(OSError, ValueError):
            assert process.stdin is not None
            process.stdin.close()  # hashd ends at end of input
        process.terminate()
        try:
            process.wait(timeout=2)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        if process.stdout is not None:
            process.stdout.close()


class PasswordHasher:
    """Hash and verify passwords; every method that burns CPU is a coroutine run off-loop."""

    def __init__(
        self,
        parameters: Argon2Parameters | None = None,
        threads: int = 1,
        lock_file: Path | None = None,
    ) -> None:
        """`lock_file`: hashers that share it (a node's workers) hash one at a time."""
        self.parameters = parameters or Argon2Parameters()
        p = self.parameters
        self._hasher = hashd.make_hasher(p.time_cost, p.memory_kib, p.parallelism)
        self._children: list[_Child] = [_Child(p, lock_file) for _ in range(threads)]
        self._idle: queue.SimpleQueue[_Child] = queue.SimpleQueue()
        for child in self._children:
            self._idle.put(child)
        self._pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="argon2")
        # A hash of a random string: verifying against it costs the same as a real check,
        # so an unknown username takes as long as a wrong password.
        self._dummy_hash = self._hasher.hash(random_id(24))

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
        for child in self._children:
            child.stop(close=True)

    async def _run(self, fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._pool, lambda: fn(*args, **kwargs))

    def _ask(self, request: dict[str, str]) -> dict[str, Any]:
        child = self._idle.get()  # never waits: one child per pool thread
        try:
            return child.ask(request)
        finally:
            self._idle.put(child)

    def hash_sync(self, password: str) -> str:
        """In this process and thread: for command-line tools, never on a server's loop."""
        return self._hasher.hash(password)

    async def hash(self, password: str) -> str:
        answer = await self._run(self._ask, {"op": "hash", "password": password})
        return str(answer["hash"])

    async def verify(self, stored_hash: str | None, password: str) -> bool:
        """True only for a real hash that matches; `None` runs a dummy check and is False."""
        request = {"op": "verify", "hash": stored_hash or self._dummy_hash, "password": password}
        answer = await self._run(self._ask, request)
        return answer["match"] is True and stored_hash is not None

    def needs_rehash(self, stored_hash: str) -> bool:
        try:
            return self._hasher.check_needs_rehash(stored_hash)
        except InvalidHashError:
            return True
