"""Login-failure counters and lock-outs in the database.

The database session store keeps its counters here. With Redis as the session store, the
lock-outs in force are recorded here too (`record_locks`), so that an account locked before
Redis restarted from an old snapshot, or empty, stays locked (issue 17, finding 1).

A row per key: `failures` and `pending` (attempts reserved, not yet settled) within the window
that ends at `window_ends_at`, and `locked_until`. Each operation is one hot transaction
(db/hot.py). On SQLite the writer thread runs them one at a time; on PostgreSQL each upsert
locks its counter's row and re-reads it, and a transaction takes its counters in key order,
so concurrent attempts queue on a row instead of deadlocking.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Float, Integer, and_, bindparam, case, delete, or_, select, update

from strongroom.db import Database
from strongroom.db.hot import Plan, Step
from strongroom.db.upsert import upsert
from strongroom.sessions.models import login_failures
from strongroom.sessions.store import BUSY_RETRY_SECONDS, FailureCounter

_C = login_failures.c
_NOW = bindparam("now", type_=Float())
_WINDOW_END = bindparam("window_end", type_=Float())
_THRESHOLD = bindparam("threshold", type_=Integer())
_IN_WINDOW = _C.window_ends_at > _NOW
_NOT_LOCKED = or_(_C.locked_until.is_(None), _C.locked_until <= _NOW)


class _Refused(Exception):
    """A counter had no free slot: the reservation plan rolls back."""


class LoginCounters:
    def __init__(self, db: Database) -> None:
        self._db = db
        fresh = {"key": bindparam("key"), "window_ends_at": _WINDOW_END, "locked_until": None}
        # A slot: a new window when the last one ended, else one more attempt in flight when
        # failures and attempts in flight leave room below the threshold. No row comes back
        # when the counter is locked or full.
        reserve = upsert(db, login_failures).values(failures=0, pending=1, **fresh)
        self._reserve = db.hot_statement(
            reserve.on_conflict_do_update(
                index_elements=[_C.key],
                set_={
                    "failures": case((_IN_WINDOW, _C.failures), else_=0),
                    "pending": case((_IN_WINDOW, _C.pending + 1), else_=1),
                    "window_ends_at": case((_IN_WINDOW, _C.window_ends_at), else_=_WINDOW_END),
                },
                where=and_(
                    _NOT_LOCKED,
                    or_(~_IN_WINDOW, _C.failures + _C.pending < _THRESHOLD),
                ),
            ).returning(_C.key)
        )
        # A failure (releasing its slot if it had one): the count after it comes back.
        release = bindparam("release", type_=Integer())
        failure = upsert(db, login_failures).values(failures=1, pending=0, **fresh)
        self._failure = db.hot_statement(
            failure.on_conflict_do_update(
                index_elements=[_C.key],
                set_={
                    "failures": case((_IN_WINDOW, _C.failures + 1), else_=1),
                    "pending": case(
                        (and_(_IN_WINDOW, _C.pending >= release), _C.pending - release), else_=0
                    ),
                    "window_ends_at": case((_IN_WINDOW, _C.window_ends_at), else_=_WINDOW_END),
                },
            ).returning(_C.failures)
        )
        self._release = db.hot_statement(
            update(login_failures)
            .where(_C.key == bindparam("key"), _IN_WINDOW, _C.pending > 0)
            .values(pending=_C.pending - 1)
        )
        until = bindparam("until", type_=Float())
        later = case((_C.locked_until > until, _C.locked_until), else_=until)
        # Reaching the threshold locks the key and starts the count over.
        self._lock = db.hot_statement(
            update(login_failures)
            .where(_C.key == bindparam("key"))
            .values(locked_until=later, failures=0, pending=0, window_ends_at=_NOW)
        )
        record = upsert(db, login_failures).values(
            key=bindparam("key"), failures=0, pending=0, window_ends_at=_NOW, locked_until=until
        )
        self._record = db.hot_statement(
            record.on_conflict_do_update(index_elements=[_C.key], set_={"locked_until": later})
        )
        self._forget = db.hot_statement(delete(login_failures).where(_C.key == bindparam("key")))
        self._sweep = db.hot_statement(
            delete(login_failures).where(_C.window_ends_at <= _NOW, _NOT_LOCKED)
        )
        self._locked = db.hot(
            select(_C.key, _C.locked_until).where(
                _C.key.in_([bindparam("key1"), bindparam("key2")]), _C.locked_until > _NOW
            )
        )
        self._exists = db.hot(select(_C.key).where(_C.key == bindparam("key")).limit(1))

    def __repr__(self) -> str:
        return "LoginCounters()"

    async def reserve(self, counters: Sequence[FailureCounter], now: float) -> float:
        """SessionStore.reserve_login on these rows."""
        try:
            await self._db.run_plan(self._reserve_plan(counters, now))
        except _Refused:
            locked = await self.lockout([counter.key for counter in counters], now)
            return locked if locked > 0 else BUSY_RETRY_SECONDS
        return 0.0

    def _reserve_plan(self, counters: Sequence[FailureCounter], now: float) -> Plan[None]:
        for counter in _in_key_order(counters):
            row = yield Step(
                self._reserve,
                {
                    "key": counter.key,
                    "now": now,
                    "window_end": now + counter.window,
                    "threshold": counter.threshold,
                },
                returning=True,
            )
            if row is None:
                raise _Refused()

    async def settle(
        self,
        counters: Sequence[FailureCounter],
        now: float,
        *,
        reserved: bool,
        failed: bool,
        clear: Sequence[str] = (),
    ) -> list[tuple[str, float]]:
        """SessionStore.settle_login (or, not `reserved`, record_login_failure) on these rows;
        the (key, locked_until) of every lock-out it set."""
        return await self._db.run_plan(self._settle_plan(counters, now, reserved, failed, clear))

    def _settle_plan(
        self,
        counters: Sequence[FailureCounter],
        now: float,
        reserved: bool,
        failed: bool,
        clear: Sequence[str],
    ) -> Plan[list[tuple[str, float]]]:
        locks: list[tuple[str, float]] = []
        for counter in _in_key_order(counters):
            if counter.key in clear:
                continue  # forgotten below
            params: dict[str, Any] = {"key": counter.key, "now": now}
            if failed:
                params.update(window_end=now + counter.window, release=int(reserved))
                row = yield Step(self._failure, params, returning=True)
                if row is not None and row[0] >= counter.threshold:
                    until = now + counter.lockout
                    yield Step(self._lock, {"key": counter.key, "now": now, "until": until})
                    locks.append((counter.key, until))
            elif reserved:
                yield Step(self._release, params)
        for key in sorted(clear):
            yield Step(self._forget, {"key": key})
        return locks

    async def record_locks(self, locks: Sequence[tuple[str, float]], now: float) -> None:
        """Remember lock-outs set elsewhere (by the Redis store), each until its end."""
        if locks:
            await self._db.run_plan(self._record_plan(locks, now))

    def _record_plan(self, locks: Sequence[tuple[str, float]], now: float) -> Plan[None]:
        for key, until in sorted(locks):
            yield Step(self._record, {"key": key, "now": now, "until": until})

    async def lockout(self, keys: Sequence[str], now: float) -> float:
        """Seconds until the longest lock-out among `keys` ends; 0 when none is locked."""
        return max((until - now for _, until in await self.locks(keys, now)), default=0.0)

    async def locks(self, keys: Sequence[str], now: float) -> list[tuple[str, float]]:
        """(key, locked until) of each of `keys` locked at `now`."""
        found: list[tuple[str, float]] = []
        for i in range(0, len(keys), 2):  # two keys a query: a login's account and client
            pair = keys[i : i + 2]
            rows = await self._locked.all(key1=pair[0], key2=pair[-1], now=now)
            found += [(str(key), float(until)) for key, until in rows]
        return found

    async def clear(self, key: str) -> None:
        # Most keys have nothing to clear (a login that succeeded): a read, not a write.
        if await self._exists.first(key=key) is not None:
            await self._db.run_plan(_single(Step(self._forget, {"key": key})))

    async def sweep(self, now: float) -> int:
        """Remove the counters whose window and lock-out both ended."""
        removed: int = await self._db.run_plan(_single_result(Step(self._sweep, {"now": now})))
        return removed


def _in_key_order(counters: Sequence[FailureCounter]) -> list[FailureCounter]:
    return sorted(counters, key=lambda counter: counter.key)


def _single(step: Step) -> Plan[None]:
    yield step


def _single_result(step: Step) -> Plan[Any]:
    result = yield step
    return result
