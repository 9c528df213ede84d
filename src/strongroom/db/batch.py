"""Group commit for single-row writes: the writes of one process that wait together leave
together, as one statement and one commit.

A write's cost on PostgreSQL is mostly per statement and per commit, not per row: the round
trip (and the wake-up of two processes it takes), parsing and planning, the executor's start,
and the WAL flush that acknowledges the commit. So a `Batcher` keeps at most one batch in
flight: a write that arrives while one is out waits, and all that waited leave as the next
batch, in one call of `run` (one statement of data-modifying CTEs over arrays, in the case of
a secret's next version). Under no load a write leaves at once, alone; under load the batches
grow with it and each write pays a share of one commit.

Each item succeeds or fails on its own, as if it had run alone:

- `run` returns a result per key; an item whose key is missing gets None (for a version bump:
  the row was not at the version expected, and the caller reads it again).
- Two items with the same key never share a batch: the later one waits for the next. For
  reads (`shared=True`) they do: the callers of one key share its one result.
- If the batch raises, every item of it is run again alone, so that one item's error (a
  constraint, a value the database refuses) reaches only its own caller; an item whose
  caller has gone meanwhile is not run. A connection that could not be had or was lost
  (`DatabaseUnreachable`) fails the whole batch at once instead: the next item would fare no
  better, and a statement that may have committed must not run again.
- Nothing is acknowledged before the statement (and so its commit) returned.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Awaitable, Callable, Hashable, Mapping, Sequence
from typing import Generic, TypeVar

from strongroom.db.engine import DatabaseUnreachable

Item = TypeVar("Item")
Result = TypeVar("Result")

MAX_BATCH = 64

_Waiting = tuple[Item, "asyncio.Future[Result | None]"]
_Batch = list[tuple[Item, list["asyncio.Future[Result | None]"]]]


class Batcher(Generic[Item, Result]):
    def __init__(
        self,
        run: Callable[[Sequence[Item]], Awaitable[Mapping[Hashable, Result]]],
        key: Callable[[Item], Hashable],
        *,
        max_batch: int = MAX_BATCH,
        shared: bool = False,
    ) -> None:
        self._run = run
        self._key = key
        self._max_batch = max_batch
        self._shared = shared
        self._queue: deque[_Waiting[Item, Result]] = deque()
        self._in_flight: asyncio.Task[None] | None = None
        self._start_soon: asyncio.Handle | None = None
        self.batches = 0  # statements run (for tests and stats)

    async def submit(self, item: Item) -> Result | None:
        """`item`'s result once its batch has returned; None if `run` gave none for its key."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Result | None] = loop.create_future()
        self._queue.append((item, future))
        if self._in_flight is None and self._start_soon is None:
            # Not at once: the writes that reach this point in the same turn of the event loop
            # leave together.
            self._start_soon = loop.call_soon(self._start)
        return await future

    def _start(self) -> None:
        self._start_soon = None
        if self._in_flight is not None:
            return
        batch = self._take()
        if batch:
            self._in_flight = asyncio.get_running_loop().create_task(self._send(batch))

    def _take(self) -> _Batch[Item, Result]:
        """The next batch: waiting items in order, one per key (the callers of a key together
        when shared), callers still waiting."""
        batch: _Batch[Item, Result] = []
        by_key: dict[Hashable, list[asyncio.Future[Result | None]]] = {}
        later: list[_Waiting[Item, Result]] = []
        skipped = 0
        while self._queue and len(batch) < self._max_batch:
            item, future = waiting = self._queue.popleft()
            if future.done():  # its caller was cancelled
                continue
            key = self._key(item)
            futures = by_key.get(key)
            if futures is None:
                by_key[key] = futures = [future]
                batch.append((item, futures))
            elif self._shared:
                futures.append(future)
            else:
                later.append(waiting)
                skipped += 1
                if skipped >= self._max_batch:  # a run of one key: leave the rest queued
                    break
        self._queue.extendleft(reversed(later))
        return batch

    async def _send(self, batch: _Batch[Item, Result]) -> None:
        try:
            if len(batch) == 1:
                await self._run_alone(*batch[0])
            else:
                try:
                    results = await self._run([item for item, _ in batch])
                except DatabaseUnreachable as exc:
                    for _, futures in batch:
                        _settle(futures, exc)
                except Exception:
                    for item, futures in batch:
                        await self._run_alone(item, futures)
                else:
                    self.batches += 1
                    for item, futures in batch:
                        _settle(futures, results.get(self._key(item)))
        finally:
            self._in_flight = None
            if self._queue:
                self._start()

    async def _run_alone(self, item: Item, futures: list[asyncio.Future[Result | None]]) -> None:
        if all(future.done() for future in futures):  # every caller has gone
            return
        try:
            results = await self._run([item])
        except Exception as exc:
            _settle(futures, exc)
            return
        self.batches += 1
        _settle(futures, results.get(self._key(item)))


def _settle(
    futures: list[asyncio.Future[Result | None]], outcome: Result | Exception | None
) -> None:
    for future in futures:
        if future.done():
            continue
        if isinstance(outcome, Exception):
            future.set_exception(outcome)
        else:
            future.set_result(outcome)
