"""The SQLite writer of one process: a thread that commits hot transactions in groups.

With `synchronous=FULL` every COMMIT waits for an fsync of the WAL, and on most disks that
wait, not the SQL, is the cost of a write. The writer thread takes every plan that queued up
while it was busy, runs them in one IMMEDIATE transaction, each inside its own SAVEPOINT, and
commits once: one fsync for the whole group. A plan that raises is rolled back to its savepoint
alone; the others commit. No caller hears of success before the COMMIT has returned, so
acknowledged writes are on disk exactly as with one transaction per write; a failed COMMIT
fails every plan of its group.

Several processes (workers, nodes on one host) serialise on a file lock beside the database
before BEGIN IMMEDIATE, so they queue on the lock instead of SQLite's sleep-and-retry.

Callers await plain asyncio futures, settled on their own loop by one `call_soon_threadsafe`
per group and loop: `concurrent.futures` wrapped by `asyncio.wrap_future` cost a lock, a
condition and two callbacks per write.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import os
import queue
import sqlite3
import threading
from collections import defaultdict
from typing import Any

from strongroom.db.hot import Plan, open_sqlite_writer, sqlite_step

# Bounds one transaction (and so the time the file lock is held, and the work a failed COMMIT
# undoes); under load groups are as large as the requests that arrived during the last fsync.
MAX_GROUP = 64

_Job = tuple[Plan[Any], "asyncio.Future[Any]"]
_Outcome = tuple["asyncio.Future[Any]", Any, BaseException | None]


class SqliteWriter:
    def __init__(self, path: str) -> None:
        self._path = path
        self._jobs: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._start_lock = threading.Lock()
        self.groups_committed = 0  # transactions that reached COMMIT (for tests and stats)

    def __repr__(self) -> str:
        return f"SqliteWriter({self._path!r})"

    def submit(self, plan: Plan[Any]) -> asyncio.Future[Any]:
        """Queue `plan`; the future (of the running loop) settles once its group committed."""
        if self._thread is None:
            with self._start_lock:
                if self._thread is None:
                    self._thread = threading.Thread(
                        target=self._run, name="sqlite-writer", daemon=True
                    )
                    self._thread.start()
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._jobs.put((plan, future))
        return future

    def close(self) -> None:
        """Finish what is queued, then stop the thread and close the connection."""
        if self._thread is not None:
            self._jobs.put(None)
            self._thread.join()
            self._thread = None

    def _run(self) -> None:
        connection: sqlite3.Connection | None = None
        lock: int | None = None
        try:
            while True:
                group, stop = self._next_group()
                if group:
                    try:
                        if connection is None:
                            connection = open_sqlite_writer(self._path)
                        if lock is None:
                            lock = os.open(
                                f"{self._path}-writer.lock", os.O_RDWR | os.O_CREAT, 0o600
                            )
                    except (sqlite3.Error, OSError) as exc:
                        _fail(group, exc)
                    else:
                        fcntl.flock(lock, fcntl.LOCK_EX)
                        try:
                            outcomes = _commit_group(connection, group)
                        finally:
                            fcntl.flock(lock, fcntl.LOCK_UN)
                        if outcomes is not None:
                            self.groups_committed += 1  # counted before anyone hears of it
                            _settle(outcomes)
                if stop:
                    return
        finally:
            if connection is not None:
                connection.close()
            if lock is not None:
                os.close(lock)

    def _next_group(self) -> tuple[list[_Job], bool]:
        """Wait for one job, then take those already queued behind it."""
        job = self._jobs.get()
        if job is None:
            return [], True
        group = [job]
        while len(group) < MAX_GROUP:
            try:
                job = self._jobs.get_nowait()
            except queue.Empty:
                break
            if job is None:
                return group, True
            group.append(job)
        return group, False


def _commit_group(connection: sqlite3.Connection, group: list[_Job]) -> list[_Outcome] | None:
    """The group in one transaction: each plan's outcome, or None when nothing committed
    (its callers were failed already)."""
    outcomes: list[_Outcome] = []
    try:
        connection.execute("BEGIN IMMEDIATE")
        try:
            for plan, future in group:
                # Read across threads: at worst a plan whose caller was cancelled just now
                # runs, which a caller cancelled mid-COMMIT must expect anyway.
                if future.cancelled():
                    plan.close()
                    continue
                connection.execute("SAVEPOINT plan")
                try:
                    result = _drive(connection, plan)
                except Exception as exc:  # the plan's own failure: undo it alone
                    connection.execute("ROLLBACK TO plan")
                    connection.execute("RELEASE plan")
                    outcomes.append((future, None, exc))
                else:
                    connection.execute("RELEASE plan")
                    outcomes.append((future, result, None))
            connection.execute("COMMIT")
        except Exception:
            if connection.in_transaction:
                connection.execute("ROLLBACK")
            raise
    except Exception as exc:  # BEGIN, a savepoint or COMMIT failed: nothing is on disk
        _fail(group, exc)
        return None
    return outcomes


def _settle(outcomes: list[_Outcome]) -> None:
    """Hand each loop its futures' outcomes, in one wake-up per loop."""
    by_loop: defaultdict[asyncio.AbstractEventLoop, list[_Outcome]] = defaultdict(list)
    for outcome in outcomes:
        by_loop[outcome[0].get_loop()].append(outcome)
    for loop, mine in by_loop.items():
        with contextlib.suppress(RuntimeError):  # a closed loop: nobody is waiting any more
            loop.call_soon_threadsafe(_resolve, mine)


def _resolve(outcomes: list[_Outcome]) -> None:
    for future, result, error in outcomes:
        if future.done():  # the caller was cancelled meanwhile
            continue
        if error is None:
            future.set_result(result)
        else:
            future.set_exception(error)


def _drive(connection: sqlite3.Connection, plan: Plan[Any]) -> Any:
    try:
        step = next(plan)
        while True:
            step = plan.send(sqlite_step(connection, step))
    except StopIteration as done:
        return done.value


def _fail(group: list[_Job], error: Exception) -> None:
    for plan, _ in group:
        plan.close()
    _settle([(future, None, error) for _, future in group])
