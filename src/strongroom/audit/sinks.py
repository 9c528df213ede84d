"""Where audit records go: a hash-chained JSON-lines file, stdout, a database table.

A sink's `write` raises on any failure; `AuditLog` counts it and decides what the request may
do (see `strongroom.audit.log`).

The file sink and several writers
---------------------------------
Every worker process of a node (and any other process) may append to the same file, and the
chain must stay one chain. Each append therefore:

1. opens the path anew (`O_APPEND | O_CREAT`, mode 0600): a file that was rotated, deleted,
   replaced by a directory or pointed at a full device is noticed at this record, and a
   repaired one is used again at the next, without restart;
2. takes an exclusive `fcntl.flock` on it: appenders are serialised, so reading the chain
   head and appending the next record is one atomic step across processes;
3. `fstat`s it: if it is the same file (device, inode) and has exactly the size this sink left
   it at, nobody else wrote since and the cached head is used; otherwise the tail is read
   backwards to find the last record;
4. appends the line with ONE `write(2)`. A short write (disk full) is cut back off with
   `ftruncate` while the lock is still held, so no half record is left to break the chain;
5. closes the file, which releases the lock.

That is five cheap system calls per append, no thread hop: the lock is held for microseconds,
and blocking the event loop that long costs less than handing the work to a thread. Records
that arrive during the same turn of the event loop (concurrent requests of one worker) are
appended together, in arrival order, by one such append (a group commit): each request still
waits until its own record is in the file before its response starts. Records
are not fsync'ed one by one: a process crash (even `kill -9`) loses nothing that was
acknowledged, a kernel crash or power loss can lose the last records.

A path that is not a regular file (a FIFO, /dev/stderr) cannot be read back: its chain starts
afresh with each process. A rotated-away file keeps its chain; the new file starts at seq 1.
`flock` serialises the processes of one machine: nodes on different machines must not share
one file over a network file system; give each node its own file, or use the database sink.
"""

from __future__ import annotations

import asyncio
import errno
import fcntl
import os
import stat
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from strongroom.audit import repository
from strongroom.audit.chain import START, ChainHead, chained_line, read_tail
from strongroom.audit.record import dump
from strongroom.db import Database

_OPEN_FLAGS = os.O_RDWR | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC


@dataclass(slots=True)  # built per request: a frozen __init__ costs 8x; never mutated
class _Position:
    """Where this sink left the file: its identity, size after our append, and chain head."""

    device: int
    inode: int
    size: int  # -1 for a file that is not regular (its size says nothing)
    head: ChainHead


@dataclass(slots=True)
class _Batch:
    records: list[Mapping[str, Any]]
    done: asyncio.Future[None]


def _retrieve(future: asyncio.Future[None]) -> None:
    # A batch whose callers were all cancelled must not log "exception never retrieved".
    if not future.cancelled():
        future.exception()


class FileSink:
    """Appends hash-chained JSON lines to a file shared by any number of processes."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.name = f"file {path}"
        self._last: _Position | None = None
        self._batch: _Batch | None = None

    def __repr__(self) -> str:
        return f"FileSink({str(self.path)!r})"

    async def write(self, record: Mapping[str, Any]) -> None:
        """Wait until `record` is in the file (appended with the others of this loop turn)."""
        batch = self._batch
        if batch is None:
            loop = asyncio.get_running_loop()
            batch = self._batch = _Batch([], loop.create_future())
            batch.done.add_done_callback(_retrieve)
            loop.call_soon(self._flush)
        batch.records.append(record)
        await batch.done

    def _flush(self) -> None:
        batch, self._batch = self._batch, None
        if batch is None or batch.done.done():
            return
        try:
            self.append_many(batch.records)
        except Exception as exc:  # every record of the batch failed; each caller learns it
            batch.done.set_exception(exc)
        else:
            batch.done.set_result(None)

    def append(self, record: Mapping[str, Any]) -> ChainHead:
        """Append one record now (blocking, microseconds); returns its chain position."""
        return self.append_many([record])

    def append_many(self, records: list[Mapping[str, Any]]) -> ChainHead:
        """Append records in order with one locked write; returns the last chain position."""
        fd = os.open(self.path, _OPEN_FLAGS, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            info = os.fstat(fd)
            regular = stat.S_ISREG(info.st_mode)
            head, lead = self._head(fd, info, regular)
            lines = [b"\n"] if lead else []
            for record in records:
                line, head = chained_line(record, head)
                lines.append(line)
            data = b"".join(lines)
            _write_whole(fd, data, info.st_size if regular else None)
            size = info.st_size + len(data) if regular else -1
            self._last = _Position(info.st_dev, info.st_ino, size, head)
            return head
        finally:
            os.close(fd)  # also releases the lock

    def _head(self, fd: int, info: os.stat_result, regular: bool) -> tuple[ChainHead, bool]:
        last = self._last
        if (
            last is not None
            and last.device == info.st_dev
            and last.inode == info.st_ino
            and (not regular or last.size == info.st_size)
        ):
            return last.head, False
        if not regular:
            return START, False
        tail = read_tail(fd, info.st_size)
        return tail.head, tail.needs_newline

    def close(self) -> None:
        """Nothing is kept open between records."""


def _write_whole(fd: int, data: bytes, size_before: int | None) -> None:
    written = os.write(fd, data)
    if written == len(data):
        return
    if size_before is not None:
        os.ftruncate(fd, size_before)  # still under the lock: no half record stays behind
    raise OSError(errno.ENOSPC, f"short write ({written} of {len(data)} bytes)")


class StdoutSink:
    """One JSON line per record on a file descriptor (stdout), written with one `write(2)`.

    No hash chain: the lines of several worker processes interleave on a shared stdout, and
    the platform collecting them keeps its own order. Lines under PIPE_BUF (4 KiB) are never
    torn apart by another process's writes.
    """

    name = "stdout"

    def __init__(self, fd: int = 1) -> None:
        self.fd = fd

    async def write(self, record: Mapping[str, Any]) -> None:
        data = memoryview(dump(record) + b"\n")
        while data:
            data = data[os.write(self.fd, data) :]

    def close(self) -> None:
        """The descriptor belongs to the process."""


class DatabaseSink:
    """The `audit_records` table, one short transaction per record (slower; optional).

    It makes records searchable through `GET /api/v1/audit`. A database that does not answer
    within `timeout` seconds counts as a failed write.
    """

    name = "database"

    def __init__(self, db: Database, *, timeout: float = 5.0) -> None:
        self.db = db
        self.timeout = timeout

    async def write(self, record: Mapping[str, Any]) -> None:
        async with asyncio.timeout(self.timeout):
            await repository.insert_record(self.db, record)

    def close(self) -> None:
        """The database belongs to the node."""
