"""Functions run in child processes by the audit tests (importable under `spawn`)."""

from __future__ import annotations

import resource
import signal
from multiprocessing.synchronize import Barrier
from pathlib import Path

from strongroom.audit.sinks import FileSink


def append_many(path: str, worker: int, count: int, start: Barrier) -> None:
    """Append `count` records to the shared file, all workers starting together."""
    sink = FileSink(Path(path))
    start.wait(60)
    for n in range(count):
        sink.append({"type": "test", "worker": worker, "n": n})


def append_over_size_limit(path: str, room: int) -> str:
    """Append one record with the file size limit `room` bytes above the current size.

    The kernel writes only part of the record (a full disk does the same); returns what
    `append` raised.
    """
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    size = Path(path).stat().st_size
    resource.setrlimit(resource.RLIMIT_FSIZE, (size + room, resource.RLIM_INFINITY))
    try:
        FileSink(Path(path)).append({"type": "test", "filler": "x" * 500})
    except OSError as exc:
        return f"OSError: {exc}"
    return "no error"
