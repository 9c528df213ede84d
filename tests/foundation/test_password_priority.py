"""Argon2id runs off the event loop, in a child process of the lowest CPU class (issue 8: logins
must not stall reads): SCHED_IDLE on Linux, and nice 19. The worker's own threads keep theirs,
so none of them holds the GIL at that class."""

from __future__ import annotations

import asyncio
import fcntl
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from strongroom.crypto.passwords import (
    Argon2Parameters,
    HashingUnavailable,
    PasswordHasher,
    _Child,
)

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="process scheduling is Linux's")

FAST = Argon2Parameters(time_cost=2, memory_kib=19456, parallelism=2)


def _scheduling() -> tuple[int, int, int]:
    tid = threading.get_native_id()
    return tid, os.sched_getscheduler(0), os.getpriority(os.PRIO_PROCESS, tid)


def _process(hasher: PasswordHasher) -> subprocess.Popen[bytes]:
    process = hasher._children[0]._process
    assert process is not None
    return process


async def test_hashing_runs_in_a_sched_idle_nice_19_child() -> None:
    hasher = PasswordHasher(FAST)
    try:
        stored = await hasher.hash("a long enough passphrase")
        assert stored.startswith("$argon2id$v=19$m=19456,t=2,p=2$")
        child = _process(hasher).pid
        assert child != os.getpid()
        assert os.sched_getscheduler(child) == os.SCHED_IDLE
        assert os.getpriority(os.PRIO_PROCESS, child) == 19
        # The pool thread that waits for the child, and the loop, keep the normal class.
        loop_tid, loop_policy, _ = _scheduling()
        tid, policy, nice = await hasher._run(_scheduling)
        assert tid != loop_tid
        assert (policy, loop_policy) == (os.SCHED_OTHER, os.SCHED_OTHER)
        assert nice == os.getpriority(os.PRIO_PROCESS, loop_tid)
        assert await hasher.verify(stored, "a long enough passphrase")
        assert not await hasher.verify(stored, "another passphrase!!")
        assert not await hasher.verify(None, "a long enough passphrase")
        assert not await hasher.verify("not a hash", "a long enough passphrase")
    finally:
        hasher.close()


async def test_concurrent_hashes_all_finish() -> None:
    hasher = PasswordHasher(Argon2Parameters(time_cost=2, memory_kib=19456, parallelism=1))
    try:
        hashes = await asyncio.gather(*(hasher.hash(f"passphrase number {n}") for n in range(4)))
        assert len(set(hashes)) == 4
        assert all(h.startswith("$argon2id$") for h in hashes)
        assert all([await hasher.verify(h, f"passphrase number {n}") for n, h in enumerate(hashes)])
    finally:
        hasher.close()


async def test_a_child_that_died_is_replaced() -> None:
    hasher = PasswordHasher(FAST)
    try:
        stored = await hasher.hash("a long enough passphrase")
        first = _process(hasher)
        first.send_signal(signal.SIGKILL)
        first.wait()
        assert await hasher.verify(stored, "a long enough passphrase")
        assert _process(hasher).pid != first.pid
    finally:
        hasher.close()


async def test_close_ends_the_child_and_later_calls_answer_503() -> None:
    hasher = PasswordHasher(FAST)
    await hasher.hash("a long enough passphrase")
    process = _process(hasher)
    hasher.close()
    assert process.poll() is not None  # ended, and reaped
    child = _Child(FAST)
    child.stop(close=True)
    with pytest.raises(HashingUnavailable) as raised:
        child.ask({"op": "hash", "password": "a long enough passphrase"})
    assert raised.value.status == 503
    assert "passphrase" not in str(raised.value)


async def test_a_malformed_request_is_refused_without_echo() -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "strongroom.crypto.hashd", "2", "19456", "1"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    out, err = process.communicate(b'{"op": "verify", "password": "hunter2-secret"}\nnot json\n')
    assert out.splitlines() == [b'{"error": "malformed request"}'] * 2
    assert b"hunter2" not in out + err
    assert process.returncode == 0


async def test_hashers_sharing_a_lock_file_hash_one_at_a_time(tmp_path: Path) -> None:
    lock_file = tmp_path / "hashing.lock"
    hashers = [PasswordHasher(FAST, lock_file=lock_file) for _ in range(2)]
    holder = os.open(lock_file, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        await asyncio.gather(*(h.hash("warm the children up") for h in hashers))
        fcntl.flock(holder, fcntl.LOCK_EX)  # as a third hashd would while it hashes
        waiting = [asyncio.ensure_future(h.hash("a long enough passphrase")) for h in hashers]
        await asyncio.sleep(0.5)  # a hash of these parameters takes a few ms
        assert not any(task.done() for task in waiting)
        fcntl.flock(holder, fcntl.LOCK_UN)
        hashes = await asyncio.gather(*waiting)
        assert all(h.startswith("$argon2id$") for h in hashes)
    finally:
        os.close(holder)
        for hasher in hashers:
            hasher.close()


async def test_a_child_that_cannot_start_answers_503(tmp_path: Path) -> None:
    hasher = PasswordHasher(FAST)
    try:
        hasher._children[0]._argv[0] = str(tmp_path / "no-such-python")
        with pytest.raises(HashingUnavailable):
            await hasher.verify(None, "a long enough passphrase")
    finally:
        hasher.close()
