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
import contextlib
import contextvars
import errno
import fcntl
import logging
import os
import stat
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from strongroom.audit import repository
from strongroom.audit.chain import START, ChainHead, Mac, chained_line, read_tail
from strongroom.audit.record import dump, now
from strongroom.db import Database
from strongroom.db.intent import no_intent
from strongroom.timefmt import rfc3339

log = logging.getLogger(__name__)

_OPEN_FLAGS = os.O_RDWR | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC
# Records a sealed node holds until it has the chain's key (an unseal); past this, refused.
MAX_PENDING = 10_000


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
    """Appends hash-chained JSON lines to a file shared by any number of processes.

    `mac` gives the keyed hash of the chain (the keyring's `audit_chain` key), or None while
    the node is sealed: records that arrive then are held in memory (at most `MAX_PENDING`)
    and written, keyed, with the first record after the unseal. No `mac` at all: plain SHA-256
    links (tools and tests only). `max_bytes` > 0 rotates the file before an append would take
    it past that size: `audit.log` becomes `audit.log.1` (`.1` becomes `.2`...; past `keep`
    files the oldest is deleted) and the chain goes on in the new file. `checkpoint` is told
    the head after every append (it stores it in the database).
    """

    def __init__(
        self,
        path: Path,
        *,
        mac: Callable[[], Mac | None] | None = None,
        max_bytes: int = 0,
        keep: int = 10,
        checkpoint: Checkpointer | None = None,
    ) -> None:
        self.path = path
        self.name = f"file {path}"
        self._mac_source = mac
        self.max_bytes = max_bytes
        self.keep = max(1, keep)
        self._checkpoint = checkpoint
        self._last: _Position | None = None
        self._batch: _Batch | None = None
        self._pending: list[Mapping[str, Any]] = []

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

    def append(self, record: Mapping[str, Any]) -> ChainHead | None:
        """Append one record now (blocking, microseconds); returns its chain position."""
        return self.append_many([record])

    def append_many(self, records: list[Mapping[str, Any]]) -> ChainHead | None:
        """Append records in order with one locked write; returns the last chain position
        (None when they are held until the node is unsealed)."""
        mac: Mac | None = None
        if self._mac_source is not None:
            mac = self._mac_source()
            if mac is None:  # sealed: no key to chain with yet
                if len(self._pending) + len(records) > MAX_PENDING:
                    raise OSError(
                        errno.EAGAIN, "sealed: too many audit records waiting for the key"
                    )
                self._pending.extend(records)
                return None
        if self._pending:
            records = [*self._pending, *records]
        head = self._append_locked(records, mac)
        self._pending.clear()
        if self._checkpoint is not None:
            self._checkpoint.note(head)
        return head

    def _open_locked(self) -> int:
        """The current file at `path`, opened and locked (not one rotated away meanwhile)."""
        for _ in range(100):
            fd = os.open(self.path, _OPEN_FLAGS, 0o600)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX)
                try:
                    named = os.stat(self.path)
                except FileNotFoundError:
                    named = None
                held = os.fstat(fd)
            except BaseException:
                os.close(fd)
                raise
            if named is not None and (named.st_dev, named.st_ino) == (held.st_dev, held.st_ino):
                return fd
            os.close(fd)  # another writer rotated the file while we waited for its lock
        raise OSError(errno.EAGAIN, f"{self.path} keeps being replaced")

    def _append_locked(self, records: list[Mapping[str, Any]], mac: Mac | None) -> ChainHead:
        fd = self._open_locked()
        try:
            info = os.fstat(fd)
            regular = stat.S_ISREG(info.st_mode)
            start, lead = self._head(fd, info, regular)
            data, head = _chained(records, start, mac, lead)
            if (
                regular
                and self.max_bytes
                and info.st_size
                and info.st_size + len(data) > self.max_bytes
            ):
                fd, info = self._rotate(fd)
                # The new file opens with a rotation record: the chain goes on in it, and a
                # set of files may start with one (older files deleted), never elsewhere.
                rotation = {
                    "time": rfc3339(now()),
                    "type": "rotation",
                    "previous_file": f"{self.path.name}.1",
                }
                data, head = _chained([rotation, *records], start, mac, False)
            _write_whole(fd, data, info.st_size if regular else None)
            size = info.st_size + len(data) if regular else -1
            self._last = _Position(info.st_dev, info.st_ino, size, head)
            return head
        finally:
            os.close(fd)  # also releases the lock

    def _rotate(self, fd: int) -> tuple[int, os.stat_result]:
        """Rename the full file away (keeping `keep` of them) and open and lock a new one,
        holding the old lock until the new one is ours; returns the new descriptor."""
        base = str(self.path)
        with contextlib.suppress(FileNotFoundError):
            os.unlink(f"{base}.{self.keep}")
        for number in range(self.keep - 1, 0, -1):
            with contextlib.suppress(FileNotFoundError):
                os.rename(f"{base}.{number}", f"{base}.{number + 1}")
        os.rename(base, f"{base}.1")
        new = os.open(self.path, _OPEN_FLAGS | os.O_EXCL, 0o600)
        try:
            fcntl.flock(new, fcntl.LOCK_EX)
            info = os.fstat(new)
        except BaseException:
            os.close(new)
            raise
        os.close(fd)
        return new, info

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
        if info.st_size == 0:
            # A file just rotated (and not yet written, e.g. the disk was full): the chain
            # goes on from the last record of the file rotated away.
            return _rotated_head(self.path), False
        tail = read_tail(fd, info.st_size)
        return tail.head, tail.needs_newline

    def close(self) -> None:
        """Nothing is kept open between records."""

    async def flush(self) -> None:
        if self._checkpoint is not None:
            await self._checkpoint.flush()

    def free_bytes(self) -> int | None:
        """Free space on the file system of the audit file (None if it cannot be told)."""
        try:
            found = os.statvfs(self.path.parent)
        except OSError:
            return None
        return found.f_bavail * found.f_frsize


def _chained(
    records: list[Mapping[str, Any]], head: ChainHead, mac: Mac | None, lead: bool
) -> tuple[bytes, ChainHead]:
    lines = [b"\n"] if lead else []
    for record in records:
        line, head = chained_line(record, head, mac)
        lines.append(line)
    return b"".join(lines), head


def _rotated_head(path: Path) -> ChainHead:
    previous = Path(f"{path}.1")
    try:
        fd = os.open(previous, os.O_RDONLY | os.O_CLOEXEC)
    except OSError:
        return START
    try:
        return read_tail(fd, os.fstat(fd).st_size).head
    finally:
        os.close(fd)


class Checkpointer:
    """Keeps the chain's last (seq, hash) in the database, one write at a time, off the
    request path: the newest head wins, intermediate ones are skipped. It trails the file by
    the one write in flight (milliseconds); `flush` waits for it (at shutdown)."""

    def __init__(self, db: Database, chain: str) -> None:
        self.db = db
        self.chain = chain
        self._latest: ChainHead | None = None
        self._stored: ChainHead | None = None
        self._task: asyncio.Task[None] | None = None
        self._failing = False

    def note(self, head: ChainHead) -> None:
        self._latest = head
        if self._task is None or self._task.done():
            try:
                loop = asyncio.get_running_loop()
            except RuntimeError:
                return  # appended outside a loop (tools): nothing to store it with
            # A context of its own: not the request's (no audit intent for this write).
            self._task = loop.create_task(self._run(), context=contextvars.Context())

    async def _run(self) -> None:
        while self._latest is not None and self._latest != self._stored:
            head = self._latest
            try:
                await repository.save_checkpoint(self.db, self.chain, head.seq, head.hash)
            except Exception as exc:  # the log itself is written; only the checkpoint lags
                if not self._failing:
                    log.warning("cannot store the audit checkpoint: %s", type(exc).__name__)
                self._failing = True
                return
            self._failing = False
            self._stored = head

    async def flush(self) -> None:
        if self._task is not None:
            with contextlib.suppress(Exception):
                await self._task
            if self._latest != self._stored:
                await self._run()


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
        with no_intent():  # this write is the audit record itself
            async with asyncio.timeout(self.timeout):
                await repository.insert_record(self.db, record)

    def close(self) -> None:
        """The database belongs to the node."""
