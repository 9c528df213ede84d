"""Audit, then commit (issue 17, finding 4): the hook every write of a request runs first.

The audit middleware sets, for each request it records, a hook that writes the request's
*intent record* (who, what route, which path; `"type": "intent"`) to the audit log once, and
raises `AuditUnavailable` (503) when no sink took it. `Database.begin`, `Database.run_plan`
and the other writers call `before_write()` before they start a transaction, so no change a
request makes can be committed before its record is in the audit log: a crash between the two
leaves a record of a change that may not have happened, never a change with no record.

Writes outside a request (start, sweeps) run with no hook; the database audit sink clears it
for its own insert (`no_intent`).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar, Token

Hook = Callable[[], Awaitable[None]]

_hook: ContextVar[Hook | None] = ContextVar("strongroom_audit_intent", default=None)


async def before_write() -> None:
    """Write the current request's intent record (once); raises if it cannot be stored."""
    hook = _hook.get()
    if hook is not None:
        await hook()


def set_hook(hook: Hook | None) -> Token[Hook | None]:
    return _hook.set(hook)


def reset_hook(token: Token[Hook | None]) -> None:
    _hook.reset(token)


@contextmanager
def no_intent() -> Iterator[None]:
    token = _hook.set(None)
    try:
        yield
    finally:
        _hook.reset(token)
