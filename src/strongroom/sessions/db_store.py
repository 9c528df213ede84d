"""`DatabaseSessionStore`: sessions in the node's database (the embedded default).

Each check is one conditional UPDATE ... RETURNING, so use counting is atomic on SQLite (one
writer at a time) and on PostgreSQL (row lock, WHERE re-evaluated after the wait).
"""

from __future__ import annotations

import contextlib
import secrets
from collections.abc import AsyncIterator, Iterator, Sequence
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy import (
    and_,
    bindparam,
    case,
    delete,
    func,
    insert,
    literal,
    or_,
    select,
    tuple_,
    update,
)
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.exc import InterfaceError as SAInterfaceError
from sqlalchemy.ext.asyncio import AsyncConnection

from strongroom.db import Database
from strongroom.db.engine import DatabaseUnavailable
from strongroom.db.hot import HotQuery, Plan, Step
from strongroom.db.intent import no_intent
from strongroom.sessions.login_counters import LoginCounters
from strongroom.sessions.models import sessions, store_meta, used_refresh_tokens
from strongroom.sessions.records import (
    decode_cursor,
    encode_cursor,
    is_exhausted,
    is_live,
    token_expired,
)
from strongroom.sessions.store import (
    AuthOutcome,
    AuthResult,
    FailureCounter,
    NewSession,
    RotateOutcome,
    RotateRequest,
    RotateResult,
    SessionInfo,
    SessionPage,
    StoreUnavailable,
)
from strongroom.sessions.touches import Touch, TouchBuffer

_INFO = [
    sessions.c.id,
    sessions.c.user_id,
    sessions.c.username,
    sessions.c.role,
    sessions.c.auth_method,
    sessions.c.created_at,
    sessions.c.last_used_at,
    sessions.c.access_expires_at,
    sessions.c.refresh_expires_at,
    sessions.c.max_expires_at,
    sessions.c.idle_timeout,
    sessions.c.bound_ip,
    sessions.c.uses,
    sessions.c.max_uses,
    sessions.c.one_time,
    sessions.c.scope,
    sessions.c.client_id,
    sessions.c.ip,
    sessions.c.user_agent,
]
_EPOCH = "epoch"


_ONE_TIME = _INFO.index(sessions.c.one_time)
_ID = _INFO.index(sessions.c.id)
_USES = _INFO.index(sessions.c.uses)
_LAST_USED = _INFO.index(sessions.c.last_used_at)


def _values(row: Any) -> list[Any]:
    """A row's SessionInfo fields, in order."""
    values = list(row[: len(_INFO)])
    values[_ONE_TIME] = bool(values[_ONE_TIME])  # raw SQLite reads give 0/1
    return values


def _info(row: Any) -> SessionInfo:
    return SessionInfo(*_values(row))


def _not_idle(now: float) -> Any:
    return or_(
        sessions.c.idle_timeout.is_(None), sessions.c.last_used_at + sessions.c.idle_timeout > now
    )


# The columns of a new session row, filled from NewSession's fields of the same names.
_SESSION_COLUMNS = (
    "id", "user_id", "username", "role", "auth_method", "access_hash", "refresh_hash",
    "created_at", "last_used_at", "access_ttl", "access_expires_at", "refresh_expires_at",
    "max_expires_at", "idle_timeout", "bound_ip", "uses", "max_uses", "one_time", "scope",
    "client_id", "ip", "user_agent",
)  # fmt: skip


@contextlib.contextmanager
def _database_available() -> Iterator[None]:
    try:
        yield
    except DatabaseUnavailable as exc:
        raise StoreUnavailable(str(exc)) from None


def _single(step: Step) -> Plan[None]:
    yield step


def _clipped(value: float, limit: Any) -> Any:
    return _clipped_expr(literal(value), limit)


def _clipped_expr(value: Any, limit: Any) -> Any:
    return case((value < limit, value), else_=limit)


class DatabaseSessionStore:
    name = "database"
    generation = ""  # sessions live in the database with everything else: nothing to roll back

    def __init__(self, db: Database) -> None:
        self._db = db
        self._epoch_subquery = (
            select(store_meta.c.value).where(store_meta.c.name == _EPOCH).scalar_subquery()
        )
        self._epoch_query = select(func.coalesce(self._epoch_subquery, "").label("epoch"))
        self._auth_query = db.hot(
            select(*_INFO, func.coalesce(self._epoch_subquery, "").label("epoch")).where(
                sessions.c.access_hash == bindparam("hash")
            )
        )
        self._touches = TouchBuffer(self._write_touches)
        # The reads and the writes of every login, on the raw driver (db/hot.py): through
        # SQLAlchemy's async layer each cost the event loop about half a millisecond or more.
        self._hot_epoch = db.hot(self._epoch_query)
        self._counters = LoginCounters(db)
        self._hot_create = db.hot_statement(
            insert(sessions).values({name: bindparam(name) for name in _SESSION_COLUMNS})
        )

    def __repr__(self) -> str:
        return "DatabaseSessionStore()"

    @asynccontextmanager
    async def _read(self) -> AsyncIterator[AsyncConnection]:
        try:
            async with self._db.read() as conn:
                yield conn
        except (OperationalError, SAInterfaceError, OSError, DatabaseUnavailable) as exc:
            raise StoreUnavailable(type(exc).__name__) from None

    @asynccontextmanager
    async def _begin(self) -> AsyncIterator[AsyncConnection]:
        try:
            async with self._db.begin() as conn:
                yield conn
        except (OperationalError, SAInterfaceError, OSError, DatabaseUnavailable) as exc:
            raise StoreUnavailable(type(exc).__name__) from None

    async def create(self, session: NewSession) -> None:
        values = {name: getattr(session, name, None) for name in _SESSION_COLUMNS}
        values.update(last_used_at=session.created_at, uses=0)
        try:
            await self._db.run_plan(_single(Step(self._hot_create, values)))
        except DatabaseUnavailable as exc:
            raise StoreUnavailable(str(exc)) from None

    async def authenticate(
        self,
        access_hash: str,
        client_ip: str | None,
        now: float,
        epoch: str,
        watch: str | None = None,
        mark: str | None = None,
    ) -> AuthResult:
        # `watch` and `mark` are not offered: with no shared store there is nothing to key a
        # cache on (a SQLite read costs microseconds anyway), so `watched` stays None.
        # One read decides for an unlimited session (uses are counted in memory, see
        # touches.py); only sessions with max_uses pay for an atomic UPDATE.
        try:
            row = await self._auth_query.first(hash=access_hash)
        except DatabaseUnavailable as exc:
            raise StoreUnavailable(str(exc)) from None
        if row is None:
            async with self._read() as conn:
                return await self._why_not(conn, access_hash, client_ip, now, epoch)
        if row[-1] != epoch:
            return AuthResult(AuthOutcome.stale, None, row[-1])
        # Built positionally: this runs on every request, and dataclasses.replace is slow.
        values = _values(row)
        stored_uses = values[_USES]
        pending = self._touches.pending(values[_ID])
        if pending is not None:
            values[_USES] = stored_uses + pending.uses
            values[_LAST_USED] = max(values[_LAST_USED], pending.last_used_at)
        info = SessionInfo(*values)
        if token_expired(info, info.access_expires_at, now):
            return AuthResult(AuthOutcome.expired)
        if info.bound_ip is not None and info.bound_ip != client_ip:
            return AuthResult(AuthOutcome.ip_mismatch)
        if info.max_uses is not None:
            return await self._consume_counted(access_hash, client_ip, now, epoch)
        touch = self._touches.add(info.id, now)
        if self._touches.due(now):
            # Bookkeeping of every session that was used (last use, counts): not a change this
            # request makes, so it needs no audit intent of its own.
            with no_intent(), contextlib.suppress(StoreUnavailable):  # pending; next second
                await self.flush()
        values[_USES], values[_LAST_USED] = stored_uses + touch.uses, now
        return AuthResult(AuthOutcome.ok, SessionInfo(*values), epoch)

    async def _consume_counted(
        self, access_hash: str, client_ip: str | None, now: float, epoch: str
    ) -> AuthResult:
        epoch_value = func.coalesce(self._epoch_subquery, "")
        statement = (
            update(sessions)
            .where(
                sessions.c.access_hash == access_hash,
                sessions.c.access_expires_at > now,
                sessions.c.max_expires_at > now,
                _not_idle(now),
                or_(sessions.c.bound_ip.is_(None), sessions.c.bound_ip == client_ip),
                sessions.c.uses < sessions.c.max_uses,
                epoch_value == epoch,
            )
            .values(uses=sessions.c.uses + 1, last_used_at=now)
            .returning(*_INFO)
        )
        async with self._begin() as conn:
            row = (await conn.execute(statement)).first()
            if row is not None:
                info = _info(row)
                if info.max_uses is not None and info.uses >= info.max_uses:
                    await conn.execute(delete(sessions).where(sessions.c.id == info.id))
                return AuthResult(AuthOutcome.ok, info, epoch)
            return await self._why_not(conn, access_hash, client_ip, now, epoch)

    async def _write_touches(self, batch: dict[str, Touch]) -> None:
        statement = (
            update(sessions)
            .where(sessions.c.id == bindparam("sid"))
            .values(
                uses=sessions.c.uses + bindparam("n"),
                last_used_at=case(
                    (sessions.c.last_used_at < bindparam("t"), bindparam("t")),
                    else_=sessions.c.last_used_at,
                ),
            )
        )
        params = [{"sid": sid, "n": t.uses, "t": t.last_used_at} for sid, t in batch.items()]
        async with self._begin() as conn:
            await conn.execute(statement, params)

    async def _why_not(
        self, conn: AsyncConnection, access_hash: str, client_ip: str | None, now: float, epoch: str
    ) -> AuthResult:
        current = (await conn.execute(self._epoch_query)).scalar_one()
        if current != epoch:
            return AuthResult(AuthOutcome.stale, None, current)
        row = (
            await conn.execute(select(*_INFO).where(sessions.c.access_hash == access_hash))
        ).first()
        if row is None:
            return AuthResult(AuthOutcome.invalid)
        # The order of the SessionStore.authenticate contract: expiry before the bound IP.
        info = _info(row)
        if token_expired(info, info.access_expires_at, now):
            return AuthResult(AuthOutcome.expired)
        if info.bound_ip is not None and info.bound_ip != client_ip:
            return AuthResult(AuthOutcome.ip_mismatch)
        if is_exhausted(info):
            return AuthResult(AuthOutcome.exhausted)
        # Every check passes now: the row changed after the UPDATE (a concurrent revocation).
        return AuthResult(AuthOutcome.invalid)

    async def peek_refresh(self, refresh_hash: str, now: float) -> SessionInfo | None:
        await self.flush()  # the idle check below must see this node's uses
        async with self._begin() as conn:
            row = (
                await conn.execute(
                    select(*_INFO).where(
                        sessions.c.refresh_hash == refresh_hash,
                        sessions.c.refresh_expires_at > now,
                        sessions.c.max_expires_at > now,
                        _not_idle(now),
                    )
                )
            ).first()
        return _info(row) if row else None

    async def rotate(self, request: RotateRequest) -> RotateResult:
        now = request.now
        values: dict[str, Any] = {
            "access_hash": request.new_access_hash,
            "refresh_hash": request.new_refresh_hash,
            # The session's own access TTL, at most today's longest (RotateRequest).
            "access_expires_at": _clipped_expr(
                literal(now)
                + case(
                    (sessions.c.access_ttl < request.max_access_ttl, sessions.c.access_ttl),
                    else_=literal(request.max_access_ttl),
                ),
                sessions.c.max_expires_at,
            ),
            "refresh_expires_at": _clipped(now + request.refresh_ttl, sessions.c.max_expires_at),
            "last_used_at": now,
        }
        if request.role is not None:
            values["role"] = request.role
        statement = (
            update(sessions)
            .where(
                sessions.c.refresh_hash == request.old_refresh_hash,
                sessions.c.refresh_expires_at > now,
                sessions.c.max_expires_at > now,
                _not_idle(now),
                or_(sessions.c.bound_ip.is_(None), sessions.c.bound_ip == request.client_ip),
                or_(sessions.c.max_uses.is_(None), sessions.c.uses < sessions.c.max_uses),
            )
            .values(**values)
            .returning(*_INFO)
        )
        await self.flush()  # the idle check below must see this node's uses
        async with self._begin() as conn:
            row = (await conn.execute(statement)).first()
            if row is not None:
                info = _info(row)
                await conn.execute(
                    insert(used_refresh_tokens).values(
                        token_hash=request.old_refresh_hash,
                        session_id=info.id,
                        expires_at=info.max_expires_at,
                    )
                )
                return RotateResult(RotateOutcome.ok, info)
            return await self._why_no_rotate(conn, request)

    async def _why_no_rotate(self, conn: AsyncConnection, request: RotateRequest) -> RotateResult:
        used = (
            await conn.execute(
                select(used_refresh_tokens.c.session_id).where(
                    used_refresh_tokens.c.token_hash == request.old_refresh_hash
                )
            )
        ).scalar_one_or_none()
        if used is not None:
            await conn.execute(delete(sessions).where(sessions.c.id == used))
            return RotateResult(RotateOutcome.reused)
        row = (
            await conn.execute(
                select(*_INFO).where(sessions.c.refresh_hash == request.old_refresh_hash)
            )
        ).first()
        if row is None:
            return RotateResult(RotateOutcome.invalid)
        info = _info(row)
        if token_expired(info, info.refresh_expires_at, request.now) or is_exhausted(info):
            return RotateResult(RotateOutcome.expired)
        if info.bound_ip not in (None, request.client_ip):
            return RotateResult(RotateOutcome.ip_mismatch)
        return RotateResult(RotateOutcome.invalid)

    async def lookup(self, access_hash: str, now: float) -> SessionInfo | None:
        await self.flush()  # the idle check below must see this node's uses
        async with self._begin() as conn:
            row = (
                await conn.execute(
                    select(*_INFO).where(
                        sessions.c.access_hash == access_hash,
                        sessions.c.access_expires_at > now,
                        sessions.c.max_expires_at > now,
                        _not_idle(now),
                        or_(sessions.c.max_uses.is_(None), sessions.c.uses < sessions.c.max_uses),
                    )
                )
            ).first()
        return _info(row) if row else None

    async def revoke_token(self, token_hash: str) -> bool:
        async with self._begin() as conn:
            result = await conn.execute(
                delete(sessions).where(
                    or_(sessions.c.access_hash == token_hash, sessions.c.refresh_hash == token_hash)
                )
            )
            if result.rowcount:
                return True
            used = (
                await conn.execute(
                    select(used_refresh_tokens.c.session_id).where(
                        used_refresh_tokens.c.token_hash == token_hash
                    )
                )
            ).scalar_one_or_none()
            if used is None:
                return False
            result = await conn.execute(delete(sessions).where(sessions.c.id == used))
            return bool(result.rowcount)

    async def revoke_session(self, session_id: str) -> bool:
        async with self._begin() as conn:
            result = await conn.execute(delete(sessions).where(sessions.c.id == session_id))
        return bool(result.rowcount)

    async def revoke_user_sessions(
        self, user_id: str, *, keep_session_id: str | None = None
    ) -> int:
        statement = delete(sessions).where(sessions.c.user_id == user_id)
        if keep_session_id is not None:
            statement = statement.where(sessions.c.id != keep_session_id)
        async with self._begin() as conn:
            result = await conn.execute(statement)
        return int(result.rowcount)

    async def get_session(self, session_id: str, now: float) -> SessionInfo | None:
        await self.flush()
        async with self._begin() as conn:
            row = (await conn.execute(select(*_INFO).where(sessions.c.id == session_id))).first()
        if row is None:
            return None
        info = _info(row)
        return info if is_live(info, now) else None

    async def list_sessions(
        self, user_id: str | None, now: float, *, limit: int, cursor: str | None
    ) -> SessionPage:
        after = decode_cursor(cursor)
        query = (
            select(*_INFO)
            .where(sessions.c.max_expires_at > now)
            .order_by(sessions.c.created_at, sessions.c.id)
            .limit(limit + 1)
        )
        if user_id is not None:
            query = query.where(sessions.c.user_id == user_id)
        if after is not None:
            query = query.where(tuple_(sessions.c.created_at, sessions.c.id) > tuple_(*after))
        items: list[SessionInfo] = []
        await self.flush()
        async with self._begin() as conn:
            # Dead rows not yet swept are skipped here; fetch on until one live session more
            # than the page holds is found (there is a next page) or the rows run out.
            while True:
                rows = (await conn.execute(query)).all()
                items.extend(info for info in map(_info, rows) if is_live(info, now))
                if len(rows) <= limit or len(items) > limit:
                    break
                last = _info(rows[-1])
                query = query.where(
                    tuple_(sessions.c.created_at, sessions.c.id) > tuple_(last.created_at, last.id)
                )
        more = len(items) > limit
        page = items[:limit]
        next_cursor = encode_cursor(page[-1].created_at, page[-1].id) if more and page else None
        return SessionPage(page, next_cursor)

    async def reserve_login(self, counters: Sequence[FailureCounter], now: float) -> float:
        with _database_available():
            return await self._counters.reserve(counters, now)

    async def settle_login(
        self,
        counters: Sequence[FailureCounter],
        now: float,
        *,
        failed: bool,
        clear: Sequence[str] = (),
    ) -> None:
        with _database_available():
            await self._counters.settle(counters, now, reserved=True, failed=failed, clear=clear)

    async def record_login_failure(self, counters: Sequence[FailureCounter], now: float) -> None:
        with _database_available():
            await self._counters.settle(counters, now, reserved=False, failed=True)

    async def login_lockout(self, keys: Sequence[str], now: float) -> float:
        with _database_available():
            return await self._counters.lockout(keys, now)

    async def clear_login_failures(self, key: str) -> None:
        with _database_available():
            await self._counters.clear(key)

    async def get_epoch(self) -> str:
        row = await self._hot(self._hot_epoch)
        return str(row[0]) if row is not None else ""

    async def _hot(self, query: HotQuery, **params: Any) -> Sequence[Any] | None:
        try:
            return await query.first(**params)
        except DatabaseUnavailable as exc:
            raise StoreUnavailable(str(exc)) from None

    async def bump_epoch(self) -> str:
        epoch = secrets.token_hex(8)
        async with self._begin() as conn:
            result = await conn.execute(
                update(store_meta).where(store_meta.c.name == _EPOCH).values(value=epoch)
            )
            if result.rowcount == 0:
                try:
                    async with conn.begin_nested():
                        await conn.execute(insert(store_meta).values(name=_EPOCH, value=epoch))
                except IntegrityError:
                    await conn.execute(
                        update(store_meta).where(store_meta.c.name == _EPOCH).values(value=epoch)
                    )
        return epoch

    async def begin_change(self, name: str) -> str:
        return ""

    async def end_change(self, name: str, token: str, tag: str = "") -> None:
        return None

    async def sweep(self, now: float) -> int:
        dead = or_(
            sessions.c.max_expires_at <= now,
            and_(
                sessions.c.access_expires_at <= now,
                or_(sessions.c.refresh_expires_at.is_(None), sessions.c.refresh_expires_at <= now),
            ),
            and_(
                sessions.c.idle_timeout.is_not(None),
                sessions.c.last_used_at + sessions.c.idle_timeout <= now,
            ),
        )
        async with self._begin() as conn:
            removed = (await conn.execute(delete(sessions).where(dead))).rowcount
            removed += (
                await conn.execute(
                    delete(used_refresh_tokens).where(used_refresh_tokens.c.expires_at <= now)
                )
            ).rowcount
        with _database_available():
            removed += await self._counters.sweep(now)
        return int(removed)

    async def ping(self) -> bool:
        return await self._db.ping()

    async def flush(self) -> None:
        """Write this node's pending use counts now (listings call it to be exact here)."""
        try:
            await self._touches.flush()
        except (OperationalError, SAInterfaceError, OSError, DatabaseUnavailable) as exc:
            raise StoreUnavailable(type(exc).__name__) from None

    async def close(self) -> None:
        with contextlib.suppress(Exception):
            await self._touches.close()
        return None
