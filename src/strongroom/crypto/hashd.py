"""The Argon2id hashing process:
`python -m strongroom.crypto.hashd TIME_COST MEMORY_KIB LANES [LOCK_FILE]`.

Each worker hands its hashing to one such child over a pipe. The child puts itself at nice 19
and in Linux's SCHED_IDLE class, so a burst of logins takes the CPU only when nothing else
wants it. Hashing in a thread of the worker itself did the same, but a Python thread at that
class shares the worker's GIL: whenever it held the GIL (before and after each hash) and lost
its core to a request, the event loop waited for it, and a thread that wants the GIL back
makes the holder wait until it has taken it. A separate process shares nothing with the loop.

With a LOCK_FILE (the node's data directory has one), the hashd processes of a node's workers
hash one at a time: a flood of logins costs a node at most one core's spare time, and the
reads beside it lose less of the cache and memory bandwidth that Argon2id's 64 MiB sweeps.

Protocol: one JSON object per line each way, in order. Requests are
`{"op": "hash", "password": ...}` and `{"op": "verify", "hash": ..., "password": ...}`;
answers are `{"hash": ...}` and `{"match": true|false}`. End of input ends the process.
Nothing it receives is ever written anywhere but its answer.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import signal
import sys
import threading
from collections.abc import Iterator
from typing import Any

import argon2
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError


def lower_priority() -> None:
    """This thread (and the threads it starts) to nice 19 and SCHED_IDLE, where Linux allows."""
    with contextlib.suppress(OSError, AttributeError):  # only Linux renices a single thread
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 19)
    with contextlib.suppress(OSError, AttributeError):  # pid 0: this thread (Linux)
        os.sched_setscheduler(0, os.SCHED_IDLE, os.sched_param(0))


def make_hasher(time_cost: int, memory_kib: int, lanes: int) -> argon2.PasswordHasher:
    return argon2.PasswordHasher(
        time_cost=time_cost, memory_cost=memory_kib, parallelism=lanes, type=argon2.Type.ID
    )


def verify(hasher: argon2.PasswordHasher, stored_hash: str, password: str) -> bool:
    try:
        return hasher.verify(stored_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def answer(hasher: argon2.PasswordHasher, request: dict[str, Any]) -> dict[str, Any]:
    if request["op"] == "hash":
        return {"hash": hasher.hash(request["password"])}
    return {"match": verify(hasher, request["hash"], request["password"])}


def open_lock(path: str | None) -> int | None:
    if not path:
        return None
    try:
        return os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    except OSError:
        return None  # hashing unlocked rather than not at all


@contextlib.contextmanager
def one_at_a_time(lock: int | None) -> Iterator[None]:
    if lock is None:
        yield
        return
    fcntl.flock(lock, fcntl.LOCK_EX)
    try:
        yield
    finally:
        fcntl.flock(lock, fcntl.LOCK_UN)


def main(argv: list[str]) -> int:
    # The worker's signals decide; Ctrl-C on a terminal reaches the whole process group.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    lower_priority()
    hasher = make_hasher(*(int(arg) for arg in argv[1:4]))
    lock = open_lock(argv[4] if len(argv) > 4 else None)
    for line in sys.stdin.buffer:
        try:
            request = json.loads(line)
            with one_at_a_time(lock):
                reply = answer(hasher, request)
        except (ValueError, KeyError, TypeError):
            reply = {"error": "malformed request"}
        sys.stdout.write(json.dumps(reply) + "\n")
        sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
