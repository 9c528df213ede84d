"""Argon2id runs off the event loop in threads of the lowest CPU class (issue 8: logins must
not stall reads): SCHED_IDLE on Linux, and nice 19."""

from __future__ import annotations

import asyncio
import os
import sys
import threading

import pytest

from strongroom.crypto.passwords import Argon2Parameters, PasswordHasher

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="thread scheduling is Linux's")


def _scheduling() -> tuple[int, int, int]:
    tid = threading.get_native_id()
    return tid, os.sched_getscheduler(0), os.getpriority(os.PRIO_PROCESS, tid)


async def test_hashing_threads_are_sched_idle_and_nice_19() -> None:
    hasher = PasswordHasher(Argon2Parameters(time_cost=2, memory_kib=19456, parallelism=2))
    try:
        loop_tid, loop_policy, _ = _scheduling()
        tid, policy, nice = await hasher._run(_scheduling)
        assert tid != loop_tid  # off the event loop's thread
        assert policy == os.SCHED_IDLE
        assert nice == 19
        assert loop_policy == os.SCHED_OTHER  # the caller keeps its own class
        # And hashing itself works from there.
        stored = await hasher.hash("a long enough passphrase")
        assert await hasher.verify(stored, "a long enough passphrase")
        assert not await hasher.verify(stored, "another passphrase!!")
    finally:
        hasher.close()


async def test_concurrent_hashes_all_finish() -> None:
    hasher = PasswordHasher(Argon2Parameters(time_cost=2, memory_kib=19456, parallelism=1))
    try:
        hashes = await asyncio.gather(*(hasher.hash(f"passphrase number {n}") for n in range(4)))
        assert len(set(hashes)) == 4
        assert all(h.startswith("$argon2id$") for h in hashes)
    finally:
        hasher.close()
