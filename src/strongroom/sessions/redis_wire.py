"""One Redis connection that every request of a worker shares, with replies matched in order.

redis-py checks a connection out of its pool, packs, sends, reads and checks it back in for
each command; on the hot path (one script per request) that bookkeeping costs more than the
script itself. Redis answers the commands of one connection in order, so a single connection
can carry all concurrent requests: each caller queues its command and waits for the reply
whose turn it is. Commands queued in one turn of the event loop leave in one write (one
system call for all the requests that reached Redis in that turn). Replies are parsed by
hiredis.

Failure handling is deliberately blunt: any connection error, a reply later than `timeout`,
or a protocol surprise closes the connection and fails every caller waiting on it with
`redis.exceptions.ConnectionError`/`TimeoutError` (the store answers 503); the next call
connects again. Callers that arrive while a connection is being made wait for that one
attempt and share its outcome.

A new connection is not handed to callers before `on_connect` has looked at what it reached
(the session store checks there that Redis is still the process whose data it trusts, see
sessions/generation.py): a restart or a failover always breaks connections, so nothing is
ever asked of a new Redis process before that check.

A Redis that accepts connections but answers nothing (frozen, SIGSTOP, a dead host behind a
live proxy) would cost every request the full timeout. After `BREAKER_TIMEOUTS` timeouts in a
row the wire fails fast instead (`CircuitOpen`, at once) and probes Redis in the background,
every `PROBE_INTERVAL` seconds, until a connection is made and checked again.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, cast

import hiredis
from redis import exceptions as redis_errors

from strongroom.sessions.redis_address import parse_redis_url

log = logging.getLogger(__name__)

BREAKER_TIMEOUTS = 3
PROBE_INTERVAL = 1.0
# The check of a new connection (`on_connect`) may take this many timeouts at most.
CHECK_TIMEOUTS = 5


class CircuitOpen(redis_errors.ConnectionError):
    """Redis timed out repeatedly: failing at once while a background probe waits for it."""


def encode_command(*parts: str | bytes) -> bytes:
    out = [b"*%d\r\n" % len(parts)]
    for part in parts:
        data = part.encode() if isinstance(part, str) else part
        out.append(b"$%d\r\n%s\r\n" % (len(data), data))
    return b"".join(out)


class _Connection(asyncio.Protocol):
    """One TCP or Unix-socket connection: its queue of callers waiting for replies, in order."""

    def __init__(self, wire: RedisWire) -> None:
        self.wire = wire
        self.reader = hiredis.Reader(encoding="utf-8")
        self.transport: asyncio.Transport | None = None
        # The loop this connection lives on; asking asyncio for it per command costs a getpid().
        self.loop = asyncio.get_running_loop()
        self.pending: deque[tuple[asyncio.Future[Any], float]] = deque()
        self.outbox: list[bytes] = []
        self.flush: asyncio.Handle | None = None
        self.watchdog: asyncio.TimerHandle | None = None
        self.dead = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports implement the interface without subclassing asyncio's.
        self.transport = cast(asyncio.Transport, transport)
        self.watchdog = self.loop.call_later(self.wire.timeout / 4, self._check_timeouts)

    def data_received(self, data: bytes) -> None:
        self.reader.feed(data)
        pending = self.pending
        while True:
            try:
                reply = self.reader.gets()
            except hiredis.ProtocolError:
                self.fail(redis_errors.ConnectionError("Redis protocol error"))
                return
            if reply is False:
                break
            if not pending:
                self.fail(redis_errors.ConnectionError("unexpected reply from Redis"))
                return
            future, _ = pending.popleft()
            if not future.done():
                future.set_result(reply)
        breaker = self.wire.breaker
        if breaker.timeouts:
            breaker.timeouts = 0

    def connection_lost(self, exc: Exception | None) -> None:
        self.fail(redis_errors.ConnectionError("connection to Redis lost"), closed=True)

    def send(self, command: bytes) -> asyncio.Future[Any]:
        future: asyncio.Future[Any] = self.loop.create_future()
        if self.dead:
            future.set_exception(redis_errors.ConnectionError("connection to Redis lost"))
            return future
        self.pending.append((future, time.monotonic()))
        self.outbox.append(command)
        if self.flush is None:
            self.flush = self.loop.call_soon(self._write_out)
        return future

    def _write_out(self) -> None:
        self.flush = None
        commands, self.outbox = self.outbox, []
        if commands and not self.dead and self.transport is not None:
            self.transport.write(b"".join(commands))

    def _check_timeouts(self) -> None:
        self.watchdog = None
        if self.dead:
            return
        if self.pending and time.monotonic() - self.pending[0][1] > self.wire.timeout:
            self.wire.breaker.timed_out()
            self.fail(redis_errors.TimeoutError("Redis did not answer in time"))
            return
        self.watchdog = self.loop.call_later(self.wire.timeout / 4, self._check_timeouts)

    def fail(self, error: Exception, *, closed: bool = False) -> None:
        """Drop the connection and fail every caller still waiting on it."""
        if self.dead:
            return
        self.dead = True
        self.wire.forget(self)
        if self.watchdog is not None:
            self.watchdog.cancel()
            self.watchdog = None
        if self.flush is not None:
            self.flush.cancel()
            self.flush = None
        self.outbox = []
        if self.transport is not None and not closed:
            self.transport.abort()
        while self.pending:
            future, _ = self.pending.popleft()
            if not future.done():
                future.set_exception(error)


class Handshake:
    """A connection just made, before any caller may use it (see `RedisWire(on_connect=)`)."""

    def __init__(self, connection: _Connection) -> None:
        self._connection = connection

    async def call(self, *parts: str | bytes) -> Any:
        """One command on this connection; an error reply is returned (a `ReplyError`)."""
        return await self._connection.send(encode_command(*parts))


OnConnect = Callable[[Handshake], Awaitable[None]]


class Breaker:
    """Counts timeouts in a row; at `threshold` it opens: callers fail at once while
    `probe()` is retried every `interval` seconds in the background, until one succeeds."""

    def __init__(
        self, probe: Callable[[], Awaitable[None]], threshold: int, interval: float
    ) -> None:
        self._probe = probe
        self._threshold = threshold
        self._interval = interval
        self.timeouts = 0
        self.open = False
        self._prober: asyncio.Task[None] | None = None

    def check(self) -> None:
        if self.open:
            raise CircuitOpen("Redis timed out repeatedly; failing fast until it answers")

    def timed_out(self) -> None:
        self.timeouts += 1
        if self.open or self.timeouts < self._threshold:
            return
        self.open = True
        log.warning(
            "Redis did not answer %d times in a row: requests that need it now fail at once "
            "(503) while a probe checks every %.1f s whether it answers again",
            self.timeouts,
            self._interval,
        )
        self._prober = asyncio.get_running_loop().create_task(self._probe_until_closed())

    async def _probe_until_closed(self) -> None:
        while self.open:
            await asyncio.sleep(self._interval)
            try:
                await self._probe()
            except Exception as exc:  # still down, frozen or refusing: keep failing fast
                log.debug("Redis probe failed: %s", type(exc).__name__)
                continue
            self.open = False
            self.timeouts = 0
            log.warning("Redis answers again: requests go through to it")

    def close(self) -> None:
        if self._prober is not None:
            self._prober.cancel()
            self._prober = None


class RedisWire:
    def __init__(
        self,
        url: str,
        *,
        timeout: float,
        on_connect: OnConnect | None = None,
        breaker_timeouts: int = BREAKER_TIMEOUTS,
        probe_interval: float = PROBE_INTERVAL,
    ) -> None:
        self._address = address = parse_redis_url(url)
        self._sentinel = address.sentinel() if address.service else None
        self._hello: list[bytes] = []
        if address.password:
            auth = ["AUTH", *([address.username] if address.username else [])]
            self._hello.append(encode_command(*auth, address.password))
        if address.db:
            self._hello.append(encode_command("SELECT", str(address.db)))
        self.timeout = timeout
        self._on_connect = on_connect
        self._connection: _Connection | None = None
        self._attempt: asyncio.Future[_Connection] | None = None
        self.breaker = Breaker(self._probe, breaker_timeouts, probe_interval)

    def __repr__(self) -> str:
        return "RedisWire(***)"  # the URL may hold a password

    async def call(self, *parts: str | bytes) -> Any:
        """Send one command and return its reply; a Redis error reply is returned, not raised
        (hiredis gives it as a `ReplyError` instance), so callers decide (e.g. NOSCRIPT)."""
        connection = self._connection or await self._connect()
        return await connection.send(encode_command(*parts))

    async def call_many(self, commands: Sequence[Sequence[str]]) -> list[Any]:
        """Several commands in one write; their replies in order (error replies returned)."""
        connection = self._connection or await self._connect()
        futures = [connection.send(encode_command(*parts)) for parts in commands]
        return [await future for future in futures]

    def drop(self) -> None:
        """Close the current connection (the next call makes and checks a new one): it reached
        a Redis that cannot serve (a replica, one loading its data)."""
        if self._connection is not None:
            self._connection.fail(redis_errors.ConnectionError("connection dropped"))

    def forget(self, connection: _Connection) -> None:
        if self._connection is connection:
            self._connection = None

    async def _connect(self) -> _Connection:
        self.breaker.check()
        attempt = self._attempt
        if attempt is None:
            attempt = self._attempt = asyncio.ensure_future(self._open())
            attempt.add_done_callback(self._attempt_done)
        return await asyncio.shield(attempt)

    def _attempt_done(self, attempt: asyncio.Future[_Connection]) -> None:
        self._attempt = None
        if attempt.cancelled():
            return
        if attempt.exception() is None:  # (also marks a failure as retrieved)
            self._use(attempt.result())

    def _use(self, connection: _Connection) -> None:
        """Hand out `connection` from now on, unless it died meanwhile or another one is."""
        if connection.dead:
            return
        if self._connection is None:
            self._connection = connection
        elif self._connection is not connection:
            connection.fail(redis_errors.ConnectionError("not needed"))

    async def _probe(self) -> None:
        """The breaker's probe: a new connection, checked like any other, then in use."""
        self._use(await self._open())

    async def _open(self) -> _Connection:
        """A new connection, set up (AUTH, SELECT) and checked (`on_connect`)."""
        loop = asyncio.get_running_loop()
        address = self._address
        try:
            async with asyncio.timeout(self.timeout):
                if address.path is not None:
                    _, connection = await loop.create_unix_connection(
                        lambda: _Connection(self), address.path
                    )
                else:
                    host, port = await self._primary()
                    _, connection = await loop.create_connection(
                        lambda: _Connection(self),
                        host,
                        port,
                        ssl=address.tls,
                        server_hostname=host if address.tls is not None else None,
                    )
        except TimeoutError:
            self.breaker.timed_out()
            raise redis_errors.TimeoutError("Redis did not accept the connection in time") from None
        except OSError as exc:
            raise redis_errors.ConnectionError(f"cannot reach Redis: {exc}") from None
        try:
            for command in self._hello:
                reply = await connection.send(command)
                if isinstance(reply, hiredis.ReplyError):
                    raise redis_errors.ConnectionError("Redis refused AUTH or SELECT")
            if self._on_connect is not None:
                await self._check(connection, self._on_connect)
        except BaseException:
            connection.fail(redis_errors.ConnectionError("connection setup failed"))
            raise
        return connection

    async def _primary(self) -> tuple[str, int]:
        """The server to connect to: the URL's, or the primary the sentinels name now (a
        failover breaks the connections; the next one asks again)."""
        if self._sentinel is None or self._address.service is None:
            return self._address.host, self._address.port
        host, port = await self._sentinel.discover_master(self._address.service)
        return str(host), int(port)

    async def _check(self, connection: _Connection, on_connect: OnConnect) -> None:
        # Bounded: the check may need the database too, and callers wait for it.
        try:
            async with asyncio.timeout(self.timeout * CHECK_TIMEOUTS):
                await on_connect(Handshake(connection))
        except TimeoutError:
            raise redis_errors.ConnectionError(
                "checking a new Redis connection took too long"
            ) from None

    async def close(self) -> None:
        self.breaker.close()
        attempt = self._attempt
        if attempt is not None:
            attempt.cancel()
            with contextlib.suppress(BaseException):
                await attempt
        with contextlib.suppress(Exception):
            self.drop()
        if self._sentinel is not None:
            for client in self._sentinel.sentinels:
                with contextlib.suppress(Exception):
                    await client.aclose()
