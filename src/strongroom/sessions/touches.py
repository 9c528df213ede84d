"""Use counts and last-use times of unlimited sessions, counted in memory, written in batches.

For a session without `max_uses`, a request changes nothing that decides whether the next one
is allowed except `last_used_at` (the idle timeout). Writing both on every request would make
every read of a secret a database write (an fsync on SQLite). So the database store counts
them here and writes them once a second: `uses` and `last_used_at` lag by at most about a
second across nodes, and a crash loses at most that second of counting. Sessions with
`max_uses` never pass through here: their counting stays one atomic UPDATE per request.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass


@dataclass(slots=True)
class Touch:
    uses: int
    last_used_at: float


Flush = Callable[[dict[str, Touch]], Awaitable[None]]


class TouchBuffer:
    def __init__(self, flush: Flush, interval: float = 1.0) -> None:
        self._flush = flush
        self._interval = interval
        self._pending: dict[str, Touch] = {}
        self._last_flush = 0.0

    def add(self, session_id: str, now: float) -> Touch:
        touch = self._pending.get(session_id)
        if touch is None:
            touch = self._pending[session_id] = Touch(0, now)
        touch.uses += 1
        touch.last_used_at = max(touch.last_used_at, now)
        return touch

    def due(self, now: float) -> bool:
        """True once a second: the caller then writes the batch (one request a second pays)."""
        if self._pending and now - self._last_flush >= self._interval:
            self._last_flush = now
            return True
        return False

    def pending(self, session_id: str) -> Touch | None:
        return self._pending.get(session_id)

    def forget(self, session_id: str) -> None:
        self._pending.pop(session_id, None)

    async def flush(self) -> None:
        if not self._pending:
            return
        batch, self._pending = self._pending, {}
        try:
            await self._flush(batch)
        except BaseException:
            for session_id, touch in batch.items():  # put them back for the next attempt
                current = self._pending.setdefault(session_id, Touch(0, touch.last_used_at))
                current.uses += touch.uses
                current.last_used_at = max(current.last_used_at, touch.last_used_at)
            raise

    async def close(self) -> None:
        await self.flush()
