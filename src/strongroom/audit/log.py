"""The audit log: fans each record out to the configured sinks (built out in the audit issue)."""

from __future__ import annotations

from typing import Any, Protocol


class AuditSink(Protocol):
    name: str

    def write(self, record: dict[str, Any]) -> bool: ...

    def close(self) -> None: ...


class AuditLog:
    def __init__(self, sinks: list[AuditSink]) -> None:
        self.sinks = sinks

    @property
    def enabled(self) -> bool:
        return bool(self.sinks)

    def write(self, record: dict[str, Any]) -> bool:
        """True if at least one sink wrote the record (or none is configured)."""
        if not self.sinks:
            return True
        written = False
        for sink in self.sinks:
            written = sink.write(record) or written
        return written

    def close(self) -> None:
        for sink in self.sinks:
            sink.close()
