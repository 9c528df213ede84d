"""The session store: one interface, two implementations that pass one conformance suite.

    SessionStore (Protocol)
    ├── DatabaseSessionStore   sessions/db_store.py   the embedded default (SQLite or PostgreSQL)
    └── RedisSessionStore      sessions/redis_store.py shared by every node (STRONGROOM_REDIS_URL)

A store holds sessions keyed by the SHA-256 of their tokens (never a token), counts uses
atomically, rotates refresh tokens with reuse detection, keeps the login-failure counters
that every node shares (a login reserves its attempt on them before any password is checked,
see `reserve_login`), and the *config epoch*: an opaque value that changes whenever runtime
settings or roles change, which `authenticate` checks in the same atomic step so that a node
never serves a request on stale policy.

A store that can lose or roll back data (Redis restarted from an old snapshot, or empty)
notices it and ends every session issued before (sessions/generation.py); its `generation`
then changes, and whatever a node cached on the store's word (secrets/cache.py) is dropped.

Every method raises `StoreUnavailable` when the backend cannot be reached; callers answer 503.
"""

from __future__ import annotations

import enum
import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol


class StoreUnavailable(Exception):
    """The session store could not be reached; no request may succeed on its behalf."""


class AuthOutcome(enum.Enum):
    ok = "ok"
    invalid = "invalid"  # unknown, revoked or malformed token
    expired = "expired"  # access TTL, idle timeout or absolute lifetime passed
    ip_mismatch = "ip_mismatch"  # bound session used from another address; nothing consumed
    exhausted = "exhausted"  # max_uses reached
    stale = "stale"  # the caller's config epoch is not the store's; nothing consumed


class RotateOutcome(enum.Enum):
    ok = "ok"
    invalid = "invalid"
    reused = "reused"  # an already-rotated refresh token: the whole session was revoked
    expired = "expired"
    ip_mismatch = "ip_mismatch"


@dataclass(frozen=True, slots=True)
class NewSession:
    """Everything a store needs to open a session. Expiry times are absolute Unix seconds."""

    id: str
    user_id: str
    username: str
    role: str
    auth_method: str
    access_hash: str
    refresh_hash: str | None
    created_at: float
    access_ttl: float
    access_expires_at: float
    refresh_expires_at: float | None
    max_expires_at: float
    idle_timeout: float | None = None
    bound_ip: str | None = None
    max_uses: int | None = None
    one_time: bool = False
    scope: str = ""
    client_id: str | None = None
    ip: str | None = None
    user_agent: str | None = None


@dataclass(slots=True)  # built per request: a frozen __init__ costs 8x; never mutated
class SessionInfo:
    """A session as listed or inspected: no token and no token hash."""

    id: str
    user_id: str
    username: str
    role: str
    auth_method: str
    created_at: float
    last_used_at: float
    access_expires_at: float
    refresh_expires_at: float | None
    max_expires_at: float
    idle_timeout: float | None
    bound_ip: str | None
    uses: int
    max_uses: int | None
    one_time: bool
    scope: str
    client_id: str | None
    ip: str | None
    user_agent: str | None


@dataclass(slots=True)  # built per request: a frozen __init__ costs 8x; never mutated
class AuthResult:
    outcome: AuthOutcome
    session: SessionInfo | None = None
    # The store's epoch, returned with `stale` so the caller can reload and retry.
    epoch: str = ""
    # The value of the watched name (see `begin_change`), when one was asked for and the store
    # offers watching; None otherwise.
    watched: str | None = None


PENDING_PREFIX = "pending:"
# A stable value may end with "#<tag>": what the change that set it said of itself (for a
# secret, the version it committed). Caches compare values whole; writers read the tag as a
# hint that the database confirms.
TAG_SEPARATOR = "#"


def is_stable(watched: str | None) -> bool:
    """A watched value a cache may be keyed on: known, and no change in progress."""
    return watched is not None and watched != "" and not watched.startswith(PENDING_PREFIX)


def pending_token() -> str:
    """A fresh token for a change of a watched name (`begin_change`, `authenticate(mark=)`)."""
    return PENDING_PREFIX + secrets.token_hex(12)


def tag_of(watched: str | None) -> str | None:
    """The tag a stable watched value carries, or None (pending, unknown or untagged)."""
    if not is_stable(watched):
        return None
    assert watched is not None  # (is_stable said so; for the type checker)
    _, separator, tag = watched.rpartition(TAG_SEPARATOR)
    return tag if separator else None


@dataclass(frozen=True, slots=True)
class RotateRequest:
    old_refresh_hash: str
    new_access_hash: str
    new_refresh_hash: str
    now: float
    client_ip: str | None
    # The new access token lives the session's own access TTL (the `ttl` asked at login, or
    # the default of that time), at most `max_access_ttl` (today's security.max_token_ttl);
    # the refresh token lives `refresh_ttl`. Both are clipped by the session's absolute
    # max_expires_at inside the store.
    max_access_ttl: float
    refresh_ttl: float
    role: str | None = None  # a new role for the session (GitHub team changes), else unchanged


@dataclass(frozen=True, slots=True)
class RotateResult:
    outcome: RotateOutcome
    session: SessionInfo | None = None


@dataclass(frozen=True, slots=True)
class FailureCounter:
    """A login-failure counter: `key` locks for `lockout` seconds after `threshold` failures
    within `window` seconds. Attempts in flight (reserved, not yet settled) hold a slot each:
    failures plus attempts in flight never exceed `threshold` within the window."""

    key: str
    threshold: int
    window: float
    lockout: float


# Retry-After of an attempt refused because attempts still in flight hold every free slot of
# a counter (no lock-out yet): they settle within a password check or two.
BUSY_RETRY_SECONDS = 1.0


@dataclass(frozen=True, slots=True)
class SessionPage:
    items: list[SessionInfo] = field(default_factory=list)
    next_cursor: str | None = None


class SessionStore(Protocol):
    """See the module docstring. All times are Unix seconds passed in by the caller."""

    name: str

    @property
    def generation(self) -> str:
        """An opaque value that changes when the store lost or rolled back data; constant for
        a store that cannot. Anything a node keeps on the strength of the store's values (the
        watched values of `begin_change`) must be dropped when it changes."""
        ...

    async def create(self, session: NewSession) -> None: ...

    async def authenticate(
        self,
        access_hash: str,
        client_ip: str | None,
        now: float,
        epoch: str,
        watch: str | None = None,
        mark: str | None = None,
    ) -> AuthResult:
        """Validate an access token and consume one use, atomically.

        Checks in order: epoch (`stale`, nothing consumed), token known (`invalid`), expiry,
        idle timeout and absolute lifetime (`expired`), bound IP (`ip_mismatch`, nothing
        consumed), `max_uses` (`exhausted`). On success increments `uses`, sets `last_used_at`
        and, if this was the last allowed use, ends the session after answering `ok`.

        With `watch`, an `ok` result also carries that name's current value (`watched`), read
        in the same step: the per-node secret cache is keyed on it.

        With `watch` and `mark` (a `pending_token()`), an `ok` result also begins a change of
        that name in the same step, as `begin_change` would with `mark` as its token:
        `watched` is the value before it, and the caller owes an `end_change(watch, mark)`.
        A failed check marks nothing. Stores that offer no watching ignore both.
        """
        ...

    async def peek_refresh(self, refresh_hash: str, now: float) -> SessionInfo | None:
        """The live session a refresh token belongs to, without consuming anything."""
        ...

    async def rotate(self, request: RotateRequest) -> RotateResult:
        """Exchange a refresh token for a new pair, atomically; at most one concurrent caller
        wins. A refresh token that was already rotated revokes the whole session (`reused`)."""
        ...

    async def lookup(self, access_hash: str, now: float) -> SessionInfo | None:
        """The live session of an access token, without consuming a use (introspection)."""
        ...

    async def revoke_token(self, token_hash: str) -> bool:
        """End the session the access or refresh token belongs to. True if one ended."""
        ...

    async def revoke_session(self, session_id: str) -> bool: ...

    async def revoke_user_sessions(
        self, user_id: str, *, keep_session_id: str | None = None
    ) -> int: ...

    async def get_session(self, session_id: str, now: float) -> SessionInfo | None: ...

    async def list_sessions(
        self, user_id: str | None, now: float, *, limit: int, cursor: str | None
    ) -> SessionPage:
        """Live sessions, oldest first; all users when `user_id` is None."""
        ...

    async def reserve_login(self, counters: Sequence[FailureCounter], now: float) -> float:
        """Reserve one login attempt on every counter, atomically across nodes, before any
        password is checked. 0.0: reserved, and the caller owes one `settle_login` with the
        same counters. Otherwise nothing is reserved and the answer is the seconds to wait:
        the remainder of a lock-out in force on any counter, or `BUSY_RETRY_SECONDS` when a
        counter's failures and attempts in flight fill its threshold within its window."""
        ...

    async def settle_login(
        self,
        counters: Sequence[FailureCounter],
        now: float,
        *,
        failed: bool,
        clear: Sequence[str] = (),
    ) -> None:
        """End an attempt `reserve_login` reserved: its slot is freed; a failed attempt counts
        as a failure (a counter reaching its threshold locks for its `lockout` and starts over);
        the counters and lock-outs of the keys in `clear` are forgotten (a login that
        succeeded clears its account's)."""
        ...

    async def record_login_failure(self, counters: Sequence[FailureCounter], now: float) -> None:
        """Count a failure that no reservation preceded (`settle_login` without the slot)."""
        ...

    async def login_lockout(self, keys: Sequence[str], now: float) -> float:
        """Seconds until the longest lock-out among `keys` ends; 0 when none is locked."""
        ...

    async def clear_login_failures(self, key: str) -> None:
        """Forget the key's failures, attempts in flight and lock-out (an admin's unlock)."""
        ...

    async def get_epoch(self) -> str: ...

    async def bump_epoch(self) -> str:
        """Set a new random epoch and return it."""
        ...

    async def flush(self) -> None:
        """Make every use this node counted visible to all nodes. The database store counts
        the uses of unlimited sessions in memory and writes them once a second; Redis counts
        every use in place, so for it this does nothing."""
        ...

    async def begin_change(self, name: str) -> str:
        """Before committing a change to what `name` stands for: mark it pending, so that no
        node caches it while the change is in flight. Returns the token for `end_change`.
        A store that offers no watching returns "" and does nothing."""
        ...

    async def end_change(self, name: str, token: str, tag: str = "") -> None:
        """After the commit: give `name` a new stable value (unless another change began
        meanwhile: its own end will), so every cached copy keyed on the old one is dropped.
        A non-empty `tag` (no "#") is carried by that value (see `tag_of`)."""
        ...

    async def sweep(self, now: float) -> int:
        """Remove what has expired; safe to run on every node at once. Returns rows removed."""
        ...

    async def count_sessions(self, now: float) -> int:
        """Sessions not yet ended (for the metrics; the sweeper removes expired ones, so one
        that expired since its last run may still count)."""
        ...

    async def ping(self) -> bool: ...

    async def close(self) -> None: ...
