"""Argon2id password hashing, run off the event loop at low CPU priority.

Hashing is slow by design. It runs in a small thread pool whose threads put themselves at
nice 19 and in Linux's SCHED_IDLE class: a burst of logins takes the CPU only when request
handling does not need it, and a request thread that wakes up preempts
a hashing thread at once instead of waiting for its time slice to end. argon2 releases the
GIL while it works; threads it may start for its lanes inherit the class.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import ParamSpec, TypeVar

import argon2
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from strongroom.crypto.tokens import random_id

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


def _lower_priority() -> None:
    with contextlib.suppress(OSError, AttributeError):  # only Linux renices a single thread
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 19)
    with contextlib.suppress(OSError, AttributeError):  # pid 0: this thread (Linux)
        os.sched_setscheduler(0, os.SCHED_IDLE, os.sched_param(0))


class PasswordHasher:
    """Hash and verify passwords; every method that burns CPU is a coroutine run off-loop."""

    def __init__(self, parameters: Argon2Parameters | None = None, threads: int = 1) -> None:
        self.parameters = parameters or Argon2Parameters()
        self._hasher = argon2.PasswordHasher(
            time_cost=self.parameters.time_cost,
            memory_cost=self.parameters.memory_kib,
            parallelism=self.parameters.parallelism,
            type=argon2.Type.ID,
        )
        self._pool = ThreadPoolExecutor(
            max_workers=threads, thread_name_prefix="argon2", initializer=_lower_priority
        )
        # A hash of a random string: verifying against it costs the same as a real check,
        # so an unknown username takes as long as a wrong password.
        self._dummy_hash = self._hasher.hash(random_id(24))

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)

    async def _run(self, fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._pool, lambda: fn(*args, **kwargs))

    def hash_sync(self, password: str) -> str:
        return self._hasher.hash(password)

    async def hash(self, password: str) -> str:
        return await self._run(self._hasher.hash, password)

    def _verify_sync(self, stored_hash: str | None, password: str) -> bool:
        try:
            return (
                self._hasher.verify(stored_hash or self._dummy_hash, password)
                and stored_hash is not None
            )
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False

    async def verify(self, stored_hash: str | None, password: str) -> bool:
        """True only for a real hash that matches; `None` runs a dummy check and is False."""
        return await self._run(self._verify_sync, stored_hash, password)

    def needs_rehash(self, stored_hash: str) -> bool:
        try:
            return self._hasher.check_needs_rehash(stored_hash)
        except InvalidHashError:
            return True
