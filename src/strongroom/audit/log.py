"""The audit log: fans each record out to the configured sinks and keeps their health.

A record counts as written when at least one sink took it. The middleware refuses
sensitive routes (503 `audit_unavailable`) when none did. Each sink that fails is marked
failing; the first time it writes again it first writes a gap record (since when, how many
records it missed), so each sink's own content says where it has holes.

While every sink is failing (`healthy` False), the middleware refuses sensitive requests
*before* they run, after one `probe`: a retry of the gap record on each failing sink. So only
the first request that meets a broken log may have done its work (its response is withheld);
later ones are refused untouched until a sink writes again, and the first request after the
repair goes through.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any, Protocol

from strongroom.audit.record import gap_record, now

log = logging.getLogger(__name__)


class AuditSink(Protocol):
    """A destination of audit records. `write` raises on any failure to store the record."""

    name: str

    async def write(self, record: Mapping[str, Any]) -> None: ...

    def close(self) -> None: ...


class _SinkState:
    __slots__ = ("failing_since", "missed", "sink")

    def __init__(self, sink: AuditSink) -> None:
        self.sink = sink
        self.failing_since: float | None = None
        self.missed = 0


class AuditLog:
    def __init__(self, sinks: Sequence[AuditSink], *, disabled: bool = False) -> None:
        self._states = [_SinkState(sink) for sink in sinks]
        self._failing = 0
        # Only for measuring what auditing costs (config audit_disable): records go nowhere.
        self.disabled = disabled

    @property
    def sinks(self) -> list[AuditSink]:
        return [state.sink for state in self._states]

    @property
    def healthy(self) -> bool:
        """At least one sink took its last record."""
        return self.disabled or self._failing < len(self._states)

    async def write(self, record: Mapping[str, Any]) -> bool:
        """Write `record` to every sink; True if at least one of them stored it."""
        if self.disabled:
            return True
        written = False
        for state in self._states:
            if await self._write_to(state, record):
                written = True
        return written

    async def probe(self) -> bool:
        """Retry the failing sinks (with their gap record); True if the log is healthy again."""
        for state in self._states:
            if state.failing_since is not None:
                await self._recover(state)
        return self.healthy

    def close(self) -> None:
        for state in self._states:
            state.sink.close()

    async def flush(self) -> None:
        """Wait for what sinks do after a write (the file sink's checkpoint); at shutdown."""
        for state in self._states:
            flush = getattr(state.sink, "flush", None)
            if flush is not None:
                await flush()

    def free_bytes(self) -> int | None:
        """Free space where the file sink writes (the smallest of several), or None."""
        found = [
            free
            for state in self._states
            if (measure := getattr(state.sink, "free_bytes", None)) is not None
            and (free := measure()) is not None
        ]
        return min(found) if found else None

    async def _write_to(self, state: _SinkState, record: Mapping[str, Any]) -> bool:
        if state.failing_since is not None and not await self._recover(state):
            state.missed += 1
            return False
        try:
            await state.sink.write(record)
        except Exception as exc:  # any failure of a sink is a record not stored
            self._mark_failing(state, exc)
            return False
        return True

    async def _recover(self, state: _SinkState) -> bool:
        assert state.failing_since is not None
        try:
            await state.sink.write(gap_record(state.failing_since, state.missed, now()))
        except Exception:  # still broken; reported once when it broke
            return False
        log.warning(
            "audit sink %s writes again; it missed %d records", state.sink.name, state.missed
        )
        state.failing_since = None
        state.missed = 0
        self._failing -= 1
        return True

    def _mark_failing(self, state: _SinkState, exc: Exception) -> None:
        state.missed += 1
        if state.failing_since is not None:  # a concurrent write saw it first
            return
        state.failing_since = now()
        self._failing += 1
        log.error("audit sink %s cannot write: %s: %s", state.sink.name, type(exc).__name__, exc)
        if not self.healthy:
            log.critical("no audit sink can write: sensitive routes answer 503 audit_unavailable")
