"""Redis replies the session store must tell apart: scripts run by SHA, and errors that mean
"Redis cannot serve now" (503) rather than a bug (500).

Redis answers some commands with an error while it is restarting or failing over: LOADING
while it reads its data at start, BUSY while a script runs too long, READONLY or MASTERDOWN
from a replica (a failover moved the primary), TRYAGAIN and CLUSTERDOWN from a cluster,
NOREPLICAS when too few replicas acknowledge writes, MISCONF when it cannot write its
snapshot, OOM when it is full. Each becomes `StoreUnavailable`. Those that say the
connection reached the wrong server or one replacing its data also drop the connection, so
that the next call connects again and checks what it reached (sessions/redis_guard.py).
"""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import hiredis
from redis import exceptions as redis_errors

from strongroom.sessions.store import StoreUnavailable

UNAVAILABLE = frozenset(
    {
        "LOADING",
        "BUSY",
        "MASTERDOWN",
        "READONLY",
        "TRYAGAIN",
        "CLUSTERDOWN",
        "NOREPLICAS",
        "MISCONF",
        "OOM",
        "NOAUTH",
    }
)
# Of those, the ones after which this connection should not be used again.
RECONNECT = frozenset({"LOADING", "MASTERDOWN", "READONLY", "NOAUTH"})

Call = Callable[..., Awaitable[Any]]


@dataclass(frozen=True, slots=True)
class Script:
    """A Lua script, run by its SHA1 (loaded on the first NOSCRIPT)."""

    script: str
    sha: str = field(init=False)

    def __post_init__(self) -> None:
        digest = hashlib.sha1(self.script.encode(), usedforsecurity=False).hexdigest()
        object.__setattr__(self, "sha", digest)


def error_code(reply: hiredis.ReplyError) -> str:
    return str(reply).split(" ", 1)[0]


def raise_error(reply: hiredis.ReplyError, drop: Callable[[], None] | None = None) -> None:
    """Raise what an error reply means: `StoreUnavailable` (and `drop()` the connection when it
    should not serve again) or, for anything else, `ResponseError` (a bug: 500)."""
    code = error_code(reply)
    if code in UNAVAILABLE:
        if code in RECONNECT and drop is not None:
            drop()
        raise StoreUnavailable(code)
    raise redis_errors.ResponseError(str(reply))


def checked(reply: Any, drop: Callable[[], None] | None = None) -> Any:
    """The reply, or the error it is raised (see `raise_error`)."""
    if isinstance(reply, hiredis.ReplyError):
        raise_error(reply, drop)
    return reply


async def evalsha(call: Call, script: Script, keys: Sequence[str], args: Sequence[str]) -> Any:
    """Run `script` through `call`, loading it first if Redis does not know it (after a restart
    or a SCRIPT FLUSH). Error replies are returned, as `call` returns them."""
    reply = await call("EVALSHA", script.sha, str(len(keys)), *keys, *args)
    if isinstance(reply, hiredis.ReplyError) and str(reply).startswith("NOSCRIPT"):
        checked(await call("SCRIPT", "LOAD", script.script))
        reply = await call("EVALSHA", script.sha, str(len(keys)), *keys, *args)
    return reply
