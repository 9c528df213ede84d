"""The login lock-out: every check of a password is an attempt reserved beforehand.

Two counters guard each attempt, shared by every node through the session store: the
account's (`user:<name>`, unknown names included, so a lock-out says nothing about who
exists) and the client's (`ip:<address>`, or `ip:<prefix>/64` for IPv6: one host holds a
whole /64). An attempt first reserves a slot on both, atomically (`SessionStore.reserve_login`):
refused — 429 with Retry-After, and no password hashing at all — when either is locked or
when its failures and the attempts in flight already reach its threshold. So at most
`threshold` passwords are checked per account (and per client) within the window, whatever
the concurrency and the number of nodes, and a flood being refused never queues another
account's login behind its hashing. The attempt then settles: a failure counts (reaching the
threshold locks for `security.login_lockout`), a success frees the client's slot and clears
the account's counter, and an attempt that ended otherwise (hashing unavailable, ...) only
frees its slots.

Every password check marks the audit record (`details.password_checked`), and a refused
attempt is recorded too (`details.locked_out`).
"""

from __future__ import annotations

import ipaddress
import math
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass

from strongroom.db import now
from strongroom.http.context import RequestContext
from strongroom.metrics.instruments import LOCKOUTS, LOGINS
from strongroom.services import Services
from strongroom.sessions.store import FailureCounter
from strongroom.system.registry import SecuritySettings

LOCKED = "too many failed logins; try again later"
IPV6_PREFIX = 64

Refusal = Callable[[int], Exception]


def account_key(username: str) -> str:
    return f"user:{username}"


def client_key(ip: str | None) -> str:
    """The per-client counter of an address: itself for IPv4 (IPv4-mapped IPv6 included), its
    /64 for IPv6."""
    if ip is None:
        return "ip:unknown"
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return f"ip:{ip}"
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return f"ip:{address.ipv4_mapped}"
        return f"ip:{ipaddress.IPv6Network((address, IPV6_PREFIX), strict=False)}"
    return f"ip:{address}"


def account_counter(security: SecuritySettings, username: str) -> FailureCounter:
    return FailureCounter(
        account_key(username),
        security.login_failure_threshold,
        security.login_failure_window,
        security.login_lockout,
    )


def client_counter(security: SecuritySettings, ip: str | None) -> FailureCounter:
    return FailureCounter(
        client_key(ip),
        security.login_ip_failure_threshold,
        security.login_failure_window,
        security.login_lockout,
    )


@dataclass(slots=True)
class Attempt:
    """How a reserved attempt ended: set `failed`, or `succeeded(...)`, before it settles."""

    failed: bool = False
    clear: tuple[str, ...] = ()

    def succeeded(self, *clear: str) -> None:
        """The credentials were right: forget the failures of `clear` (the account's key)."""
        self.failed = False
        self.clear = clear


@asynccontextmanager
async def attempt(
    services: Services,
    counters: list[FailureCounter],
    ctx: RequestContext,
    refusal: Refusal,
) -> AsyncIterator[Attempt]:
    """Reserve the attempt (or raise `refusal(retry_after)` and check nothing), run the block,
    then settle it as the block said (see the module docstring)."""
    wait = await services.store.reserve_login(counters, now())
    if wait > 0:
        retry_after = max(1, math.ceil(wait))
        ctx.audit_anyway = True
        audit_details(ctx)["locked_out"] = True
        LOCKOUTS.inc()
        LOGINS.labels("locked_out").inc()
        raise refusal(retry_after)
    outcome = Attempt()
    try:
        yield outcome
    finally:
        LOGINS.labels("failure" if outcome.failed else "success").inc()
        await services.store.settle_login(
            counters, now(), failed=outcome.failed, clear=outcome.clear
        )


async def check_password(
    services: Services, ctx: RequestContext, stored_hash: str | None, password: str
) -> bool:
    """Argon2id verification (a dummy one for no hash), marked in the request's audit record:
    call it only inside an `attempt`."""
    matches = await services.passwords.verify(stored_hash, password)
    audit_details(ctx)["password_checked"] = True
    return matches


def audit_details(ctx: RequestContext) -> dict[str, object]:
    details = ctx.extra.setdefault("audit", {})
    assert isinstance(details, dict)
    return details


async def unlock_account(services: Services, username: str) -> bool:
    """Lift the account's lock-out and forget its failures; whether it was locked."""
    key = account_key(username)
    was_locked = await services.store.login_lockout([key], now()) > 0
    await services.store.clear_login_failures(key)
    return was_locked
