"""`RedisSessionStore`: sessions in Redis, shared by every node (STRONGROOM_REDIS_URL).

Each operation that reads and writes is one Lua script (sessions/redis_scripts.py, which also
draws the key layout), so it is atomic and one round trip: `authenticate` checks the epoch,
the token, expiry, bound IP and uses, and counts the use, in one EVALSHA. Times are passed to
the scripts as `repr(float)` strings and stored as such, so they come back exactly.

Every command goes over one pipelined connection per worker (redis_wire.py). Each new
connection is checked before use (redis_guard.py): a Redis restarted from an old snapshot,
empty, or a promoted replica starts a new *generation*, and no session of an older one is
accepted again (sessions/generation.py). Error replies that mean "Redis cannot serve now"
(LOADING, READONLY, BUSY...) are `StoreUnavailable`, as are timeouts; after repeated timeouts
the wire fails fast until Redis answers again (its circuit breaker).

Lock-outs are also recorded in the database (`LoginCounters`, the lock-out ledger): a Redis
restarted from an older snapshot, or empty, forgets them, and a login checks the ledger
before it may check a password (issue 17, finding 1).

Supported deployments: a single Redis instance or a Sentinel-managed primary (Redis >= 7.0)
with `maxmemory-policy noeviction` (an evicted key would end a session early or forget a used
refresh token). Redis Cluster is not supported: the scripts compute key names from the prefix.
"""

from __future__ import annotations

import math
import secrets
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any, cast

import hiredis
from redis import exceptions as redis_errors

from strongroom.db import Database
from strongroom.sessions import redis_scripts as lua
from strongroom.sessions.login_counters import LoginCounters
from strongroom.sessions.records import (
    decode_cursor,
    encode_cursor,
    is_exhausted,
    is_live,
    token_expired,
)
from strongroom.sessions.redis_guard import GenerationGuard
from strongroom.sessions.redis_replies import Script, checked, error_code, evalsha, raise_error
from strongroom.sessions.redis_wire import RedisWire
from strongroom.sessions.store import (
    BUSY_RETRY_SECONDS,
    TAG_SEPARATOR,
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
    pending_token,
)

# Short, so that an unreachable Redis answers 503 quickly instead of hanging requests.
TIMEOUT = 2.0
# A watched name's stable value lives an hour (readers give it a new one when it is gone); a
# pending mark a minute (a writer that died mid-change leaves nodes uncached, not stale).
WATCH_TTL_MS = "3600000"
PENDING_TTL_MS = "60000"
_SWEEP_BATCH = 500
# Errors that mean "the store cannot serve now" rather than a bug: no connection, a timeout,
# the circuit breaker open (error replies such as LOADING are classified in redis_replies.py).
_UNAVAILABLE: tuple[type[BaseException], ...] = (
    redis_errors.ConnectionError,
    redis_errors.TimeoutError,
    OSError,
)
# A session's fields as listed (`get_session`, `list_sessions`): SessionInfo's, then its
# generation.
_LISTED = (*lua.INFO_FIELDS, "gen")


@contextmanager
def _available() -> Iterator[None]:
    try:
        yield
    except _UNAVAILABLE as exc:
        raise StoreUnavailable(type(exc).__name__) from None


def _time(value: float) -> str:
    return repr(float(value))


def _session_fields(session: NewSession) -> list[str]:
    values: dict[str, str | None] = {
        "id": session.id,
        "user_id": session.user_id,
        "username": session.username,
        "role": session.role,
        "auth_method": session.auth_method,
        "access_hash": session.access_hash,
        "refresh_hash": session.refresh_hash,
        "created_at": _time(session.created_at),
        "last_used_at": _time(session.created_at),
        "access_ttl": _time(session.access_ttl),
        "access_expires_at": _time(session.access_expires_at),
        "refresh_expires_at": _opt_time(session.refresh_expires_at),
        "max_expires_at": _time(session.max_expires_at),
        "idle_timeout": _opt_time(session.idle_timeout),
        "bound_ip": session.bound_ip,
        "uses": "0",
        "max_uses": None if session.max_uses is None else str(session.max_uses),
        "one_time": "1" if session.one_time else "0",
        "scope": session.scope,
        "client_id": session.client_id,
        "ip": session.ip,
        "user_agent": session.user_agent,
    }
    # A missing field is None: Lua sees false for it.
    return [item for name, value in values.items() if value is not None for item in (name, value)]


def _opt_time(value: float | None) -> str | None:
    return None if value is None else _time(value)


def _opt_float(value: str | None) -> float | None:
    return None if value is None else float(value)


_REQUIRED = tuple(
    lua.INFO_FIELDS.index(name)
    for name in (
        "id", "user_id", "username", "role", "auth_method", "created_at", "last_used_at",
        "access_expires_at", "max_expires_at", "uses",
    )
)  # fmt: skip


def _parse_info(values: Sequence[str | None]) -> SessionInfo:
    """A script's reply (fields in lua.INFO_FIELDS order) as a SessionInfo.

    Unpacked by position: this runs on every request of the Redis store."""
    if len(values) != len(lua.INFO_FIELDS):
        raise ValueError(f"session reply has {len(values)} fields")
    for index in _REQUIRED:
        if values[index] is None:
            raise ValueError(f"session hash lacks {lua.INFO_FIELDS[index]}")
    (
        session_id, user_id, username, role, auth_method, created_at, last_used_at,
        access_expires_at, refresh_expires_at, max_expires_at, idle_timeout, bound_ip, uses,
        max_uses, one_time, scope, client_id, ip, user_agent,
    ) = cast(Sequence[str], values)  # fmt: skip
    return SessionInfo(
        session_id,
        user_id,
        username,
        role,
        auth_method,
        float(created_at),
        float(last_used_at),
        float(access_expires_at),
        _opt_float(refresh_expires_at),
        float(max_expires_at),
        _opt_float(idle_timeout),
        bound_ip,
        int(uses),
        None if max_uses is None else int(max_uses),
        one_time == "1",
        scope or "",
        client_id,
        ip,
        user_agent,
    )


# By value, without Enum.__new__'s lookup machinery: this runs on every request.
_OUTCOMES = {outcome.value: outcome for outcome in AuthOutcome}


def _text(value: str | bytes) -> str:
    # The client decodes replies (decode_responses=True); its stubs still say bytes | str.
    return value.decode() if isinstance(value, bytes) else value


def _scored(reply: Any) -> list[tuple[float, str]]:
    """A ZRANGE ... WITHSCORES reply (flat: member, score, ...) as (score, member) pairs."""
    return [(float(reply[i + 1]), _text(reply[i])) for i in range(0, len(reply) - 1, 2)]


def _usable(info: SessionInfo, expires_at: float | None, now: float) -> bool:
    """The token whose expiry is `expires_at` may be used at `now` (nothing consumed)."""
    return not token_expired(info, expires_at, now) and not is_exhausted(info)


class RedisSessionStore:
    name = "redis"

    def __init__(self, url: str, *, prefix: str, db: Database) -> None:
        """`db`: the database that records the store's generation (sessions/ledger.py) and
        the lock-outs in force (sessions/login_counters.py)."""
        self._prefix = prefix
        self._guard = GenerationGuard(db, prefix)
        self._ledger = LoginCounters(db)
        self._wire = RedisWire(url, timeout=TIMEOUT, on_connect=self._guard.on_connect)
        self._gen_key = self._key("gen")
        self._epoch_key = self._key("epoch")
        # Values for watched names: unique per process (random origin) and per call (counter).
        self._origin = secrets.token_hex(6) + ":"
        self._counter = 0
        register = Script
        self._end_change = register(lua.END_CHANGE)
        self._create = register(lua.CREATE)
        self._authenticate = register(lua.AUTHENTICATE)
        self._find = register(lua.FIND)
        self._rotate = register(lua.ROTATE)
        self._revoke_token = register(lua.REVOKE_TOKEN)
        self._revoke_session = register(lua.REVOKE_SESSION)
        self._revoke_user = register(lua.REVOKE_USER)
        self._sweep = register(lua.SWEEP)
        self._reserve_login = register(lua.RESERVE_LOGIN)
        self._settle_login = register(lua.SETTLE_LOGIN)
        self._restore_locks = register(lua.RESTORE_LOCKS)

    def __repr__(self) -> str:
        # The URL may hold a password: never shown.
        return f"RedisSessionStore(prefix={self._prefix!r})"

    def _key(self, kind: str, name: str = "") -> str:
        return f"{self._prefix}{kind}{name}"

    @property
    def generation(self) -> str:
        """Changes when Redis lost or rolled back data (sessions/generation.py)."""
        return self._guard.generation

    async def create(self, session: NewSession) -> None:
        with _available():
            args = (self._prefix, session.id, *_session_fields(session), self._guard.generation)
            await self._run_hot(self._create, (self._gen_key,), args)

    async def authenticate(
        self,
        access_hash: str,
        client_ip: str | None,
        now: float,
        epoch: str,
        watch: str | None = None,
        mark: str | None = None,
    ) -> AuthResult:
        keys = (
            self._epoch_key, self._key("t:", access_hash), self._key("w:", watch or ""),
            self._gen_key,
        )  # fmt: skip
        mode = "0" if not watch else "2" if mark else "1"
        args = (
            self._prefix, access_hash, client_ip or "", _time(now), epoch,
            mode, self._fresh_value(), WATCH_TTL_MS, mark or "", PENDING_TTL_MS,
            self._guard.generation,
        )  # fmt: skip
        with _available():
            reply: list[Any] = await self._run_hot(self._authenticate, keys, args)
        outcome = _OUTCOMES[reply[0]]
        if outcome is AuthOutcome.ok:
            watched = reply[2] if len(reply) > 2 else None
            return AuthResult(outcome, _parse_info(reply[1]), epoch, watched)
        if outcome is AuthOutcome.stale:
            return AuthResult(outcome, None, reply[1])
        return AuthResult(outcome)

    async def _run_hot(self, script: Script, keys: Sequence[str], args: Sequence[str]) -> Any:
        """A script on the shared pipelined connection (redis_wire.py): the per-request path."""
        reply = await self._wire.call("EVALSHA", script.sha, str(len(keys)), *keys, *args)
        if isinstance(reply, hiredis.ReplyError):
            return await self._after_error(script, keys, args, reply)
        return reply

    async def _after_error(
        self, script: Script, keys: Sequence[str], args: Sequence[str], reply: Any
    ) -> Any:
        """A script's error reply: load the script (NOSCRIPT) or settle the generation
        (GENERATION, see redis_scripts.py) and run it again, or raise what the error means."""
        for _ in range(3):
            code = error_code(reply)
            if code == "GENERATION":
                await self._guard.resettle(self._wire.call, seen=args[-1])
                args = (*args[:-1], self._guard.generation)
            elif code != "NOSCRIPT":
                raise_error(reply, self._wire.drop)
            reply = await evalsha(self._wire.call, script, keys, args)
            if not isinstance(reply, hiredis.ReplyError):
                return reply
        if error_code(reply) == "GENERATION":
            raise StoreUnavailable("the session store's generation keeps changing")
        raise_error(reply, self._wire.drop)

    async def _command(self, *parts: str) -> Any:
        """A plain command on the shared connection (redis_wire.py); an error reply raises."""
        return checked(await self._wire.call(*parts), self._wire.drop)

    def _fresh_value(self, tag: str = "") -> str:
        self._counter += 1
        if tag:
            return f"{self._origin}{self._counter:x}{TAG_SEPARATOR}{tag}"
        return f"{self._origin}{self._counter:x}"

    async def begin_change(self, name: str) -> str:
        token = pending_token()
        with _available():
            await self._command("SET", self._key("w:", name), token, "PX", PENDING_TTL_MS)
        return token

    async def end_change(self, name: str, token: str, tag: str = "") -> None:
        if TAG_SEPARATOR in tag:
            raise ValueError(f"a watch tag cannot hold {TAG_SEPARATOR!r}")
        with _available():
            await self._run_hot(
                self._end_change,
                (self._key("w:", name),),
                (token, self._fresh_value(tag), WATCH_TTL_MS),
            )

    async def _find_by(self, kind: str, token_hash: str, field: str) -> SessionInfo | None:
        with _available():
            reply = await self._run_hot(
                self._find,
                (self._key(kind, token_hash), self._gen_key),
                (self._prefix, token_hash, field, self._guard.generation),
            )
        return None if reply is None else _parse_info(reply)

    async def peek_refresh(self, refresh_hash: str, now: float) -> SessionInfo | None:
        info = await self._find_by("r:", refresh_hash, "refresh_hash")
        if info is None or not _usable(info, info.refresh_expires_at, now):
            return None
        return info

    async def lookup(self, access_hash: str, now: float) -> SessionInfo | None:
        info = await self._find_by("t:", access_hash, "access_hash")
        if info is None or not _usable(info, info.access_expires_at, now):
            return None
        return info

    async def rotate(self, request: RotateRequest) -> RotateResult:
        old = request.old_refresh_hash
        with _available():
            reply: list[Any] = await self._run_hot(
                self._rotate,
                (self._key("r:", old), self._key("ru:", old), self._gen_key),
                (
                    self._prefix,
                    old,
                    request.new_access_hash,
                    request.new_refresh_hash,
                    _time(request.now),
                    request.client_ip or "",
                    _time(request.max_access_ttl),
                    _time(request.now + request.refresh_ttl),
                    request.role or "",
                    "0" if request.role is None else "1",
                    self._guard.generation,
                ),
            )
        outcome = RotateOutcome(reply[0])
        if outcome is RotateOutcome.ok:
            return RotateResult(outcome, _parse_info(reply[1]))
        return RotateResult(outcome)

    async def revoke_token(self, token_hash: str) -> bool:
        keys = [self._key(kind, token_hash) for kind in ("t:", "r:", "ru:")]
        with _available():
            return bool(await self._run_hot(self._revoke_token, keys, (self._prefix,)))

    async def revoke_session(self, session_id: str) -> bool:
        with _available():
            return bool(await self._run_hot(self._revoke_session, (), (self._prefix, session_id)))

    async def revoke_user_sessions(
        self, user_id: str, *, keep_session_id: str | None = None
    ) -> int:
        with _available():
            ended = await self._run_hot(
                self._revoke_user, (), (self._prefix, user_id, keep_session_id or "")
            )
        return int(ended)

    async def get_session(self, session_id: str, now: float) -> SessionInfo | None:
        with _available():
            rows = await self._sessions([session_id])
        info = rows[0]
        return info if info is not None and is_live(info, now) else None

    async def _sessions(self, ids: Sequence[str]) -> list[SessionInfo | None]:
        """The sessions of `ids`, in order: None for one that is gone or of a generation that
        ended. One write: Redis's generation, then each session's fields."""
        commands = [["GET", self._gen_key]]
        commands += [["HMGET", self._key("s:", sid), *_LISTED] for sid in ids]
        replies = [
            checked(reply, self._wire.drop) for reply in await self._wire.call_many(commands)
        ]
        current = replies[0]
        if current != self._guard.generation:
            # This node is behind (or Redis lost its data): settle before trusting any row.
            await self._guard.resettle(self._wire.call, seen=self._guard.generation)
        rows: list[SessionInfo | None] = []
        for values in replies[1:]:
            generation = values[-1] or lua.LEGACY_GENERATION
            alive = values[0] is not None and generation == self._guard.generation
            rows.append(_parse_info(values[:-1]) if alive else None)
        return rows

    async def list_sessions(
        self, user_id: str | None, now: float, *, limit: int, cursor: str | None
    ) -> SessionPage:
        after = decode_cursor(cursor)
        index = self._key("a") if user_id is None else self._key("u:", user_id)
        items: list[SessionInfo] = []
        with _available():
            # Fetch one more live session than the page holds, to know whether a next page exists.
            while len(items) <= limit:
                ids = await self._index_after(index, after, limit + 1 - len(items))
                if not ids:
                    break
                after = ids[-1]
                items.extend(await self._live_sessions(index, [sid for _, sid in ids], now))
        page = items[:limit]
        more = len(items) > limit
        next_cursor = encode_cursor(page[-1].created_at, page[-1].id) if more and page else None
        return SessionPage(page, next_cursor)

    async def _index_after(
        self, index: str, after: tuple[float, str] | None, count: int
    ) -> list[tuple[float, str]]:
        """Up to `count` (created_at, id) of `index` strictly after `after`, in that order."""
        found: list[tuple[float, str]] = []
        low = "-inf"
        if after is not None:
            created, last_id = after
            # Members of equal score sort by id; those after the cursor's id come first.
            at = _time(created)
            ties = await self._command("ZRANGE", index, at, at, "BYSCORE", "WITHSCORES")
            found = [(score, sid) for score, sid in _scored(ties) if sid > last_id][:count]
            low = f"({at}"
        if len(found) < count:
            rest = await self._command(
                "ZRANGE", index, low, "+inf", "BYSCORE",
                "LIMIT", "0", str(count - len(found)), "WITHSCORES",
            )  # fmt: skip
            found.extend(_scored(rest))
        return found

    async def _live_sessions(self, index: str, ids: list[str], now: float) -> list[SessionInfo]:
        rows = await self._sessions(ids)
        gone = [sid for sid, row in zip(ids, rows, strict=True) if row is None]
        if gone:
            # Index members whose session hash expired in Redis, or whose generation ended:
            # drop them lazily.
            await self._command("ZREM", index, *gone)
        return [info for info in rows if info is not None and is_live(info, now)]

    async def reserve_login(self, counters: Sequence[FailureCounter], now: float) -> float:
        args = [self._prefix, _time(now), _time(BUSY_RETRY_SECONDS)]
        for counter in counters:
            args += [counter.key, str(counter.threshold), _time(now + counter.window)]
        with _available():
            reply: list[Any] = await self._run_hot(self._reserve_login, (), args)
        if reply[0] != "ok":
            return float(reply[1])
        # Redis may have lost a lock-out the database remembers (a restart from an older
        # snapshot, or empty): the reservation is undone and the lock-out put back.
        locks = await self._ledger.locks([counter.key for counter in counters], now)
        if not locks:
            return 0.0
        await self._settle(counters, now, reserved=True, failed=False, clear=())
        with _available():
            restore = [item for key, until in locks for item in (key, _time(until))]
            await self._run_hot(self._restore_locks, (), [self._prefix, *restore])
        return max(until for _, until in locks) - now

    async def settle_login(
        self,
        counters: Sequence[FailureCounter],
        now: float,
        *,
        failed: bool,
        clear: Sequence[str] = (),
    ) -> None:
        await self._settle(counters, now, reserved=True, failed=failed, clear=clear)

    async def record_login_failure(self, counters: Sequence[FailureCounter], now: float) -> None:
        await self._settle(counters, now, reserved=False, failed=True, clear=())

    async def _settle(
        self,
        counters: Sequence[FailureCounter],
        now: float,
        *,
        reserved: bool,
        failed: bool,
        clear: Sequence[str],
    ) -> None:
        args = [
            self._prefix,
            _time(now),
            "1" if reserved else "0",
            "1" if failed else "0",
            str(len(counters)),
        ]
        for counter in counters:
            args += [
                counter.key,
                str(counter.threshold),
                _time(now + counter.window),
                _time(now + counter.lockout),
            ]
        with _available():
            reply: list[Any] = await self._run_hot(self._settle_login, (), [*args, *clear])
        set_, unlocked = reply
        locks = [(_text(set_[i]), float(set_[i + 1])) for i in range(0, len(set_), 2)]
        await self._ledger.record_locks(locks, now)
        # A key to forget can only be locked in the database if it was in Redis too (a login
        # that succeeded found no lock-out in either when it reserved).
        for key in unlocked:
            await self._ledger.clear(_text(key))

    async def login_lockout(self, keys: Sequence[str], now: float) -> float:
        if not keys:
            return 0.0
        with _available():
            values = await self._command("MGET", *(self._key("lk:", key) for key in keys))
        until = max((float(v) for v in values if v is not None), default=-math.inf)
        return until - now if until > now else 0.0

    async def clear_login_failures(self, key: str) -> None:
        with _available():
            await self._command("DEL", self._key("lf:", key), self._key("lk:", key))
        await self._ledger.clear(key)

    async def get_epoch(self) -> str:
        with _available():
            value = await self._command("GET", self._epoch_key)
        return "" if value is None else _text(value)

    async def bump_epoch(self) -> str:
        epoch = secrets.token_hex(8)
        with _available():
            await self._command("SET", self._epoch_key, epoch)
        return epoch

    async def flush(self) -> None:
        """Nothing to write: Redis counts every use in place."""

    async def sweep(self, now: float) -> int:
        removed = await self._ledger.sweep(now)
        with _available():
            # A Redis turned replica and back keeps its connections: look now and then.
            await self._guard.check_identity(self._wire.call)
            while True:
                args = (self._prefix, _time(now), str(_SWEEP_BATCH))
                batch = int(await self._run_hot(self._sweep, (), args))
                removed += batch
                if batch < _SWEEP_BATCH:
                    return removed

    async def count_sessions(self, now: float) -> int:
        with _available():
            return int(await self._command("ZCARD", self._key("a")))

    async def ping(self) -> bool:
        try:
            return bool(await self._command("PING") == "PONG")
        except (redis_errors.RedisError, StoreUnavailable, OSError):
            return False

    async def close(self) -> None:
        await self._wire.close()
