"""Scrubbing SQLite's files after a destroy: what was deleted leaves the WAL too.

Every SQLite connection of strongroom runs with `secure_delete` on, so a deleted row (or a
wiped ciphertext) is overwritten with zeros in its page, and freed pages are zeroed. But in WAL
mode the page as it was before, the row still in it, stays in `<db>-wal` until the WAL is
checkpointed and overwritten. `WalScrubber.scrub` checkpoints the WAL into the database file
and truncates it to zero bytes (`PRAGMA wal_checkpoint(TRUNCATE)`), on a connection of its own
in a worker thread; it waits (up to the busy timeout) for the writers and readers of the
moment, never for long, since every reader of strongroom holds its snapshot for one statement.

One scrub runs at a time; the callers that arrive while one runs share the next one, which
starts after all of them (what they deleted before calling is committed by then).
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3

log = logging.getLogger(__name__)

BUSY_TIMEOUT_MS = 5000


def open_sqlite_scrubber(path: str) -> sqlite3.Connection:
    connection = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    connection.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    return connection


class WalScrubber:
    def __init__(self, path: str) -> None:
        self._path = path
        self._lock = asyncio.Lock()
        self._started = 0
        self._last = False
        self._connection: sqlite3.Connection | None = None

    def __repr__(self) -> str:
        return f"WalScrubber({self._path!r})"

    async def scrub(self) -> bool:
        """Checkpoint and truncate the WAL, in a run that starts after this call; True when
        the WAL was emptied (False: a reader or writer kept it busy; the next scrub retries)."""
        seen = self._started
        async with self._lock:
            if self._started > seen:  # a run began after this call, and has ended
                return self._last
            self._started += 1
            self._last = await asyncio.to_thread(self._checkpoint)
            return self._last

    def _checkpoint(self) -> bool:
        try:
            if self._connection is None:
                self._connection = open_sqlite_scrubber(self._path)
            row = self._connection.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
        except sqlite3.Error as exc:
            log.warning("could not truncate the SQLite WAL (%s); the next sweep retries", exc)
            return False
        busy = row is None or row[0] != 0
        if busy:
            log.warning("the SQLite WAL was busy and is not truncated yet; the next sweep retries")
        return not busy

    def close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None
