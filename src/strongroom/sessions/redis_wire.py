"""One Redis connection that every request of a worker shares, with replies matched in order.

redis-py checks a connection out of its pool, packs, sends, reads and checks it back in for
each command; on the hot path (one script per request) that bookkeeping costs more than the
script itself. Redis answers the commands of one connection in order, so a single connection
can carry all concurrent requests: each caller queues its command and waits for the reply
whose turn it is. Commands queued in one turn of the event loop leave in one write (one
system call for all the requests that reached Redis in that turn). Replies are parsed by
hiredis.

Failure handling is deliberately blunt: any connection error, a reply later than `timeout`,
or a protocol surprise closes the connection and fails every waiting caller with
`redis.exceptions.ConnectionError`/`TimeoutError` (the store answers 503); the next call
connects again.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
import time
from collections import deque
from typing import Any, cast

import hiredis
from redis import exceptions as redis_errors
from redis.asyncio.connection import SSLConnection, UnixDomainSocketConnection, parse_url


def encode_command(*parts: str | bytes) -> bytes:
    out = [b"*%d\r\n" % len(parts)]
    for part in parts:
        data = part.encode() if isinstance(part, str) else part
        out.append(b"$%d\r\n%s\r\n" % (len(data), data))
    return b"".join(out)


class _Protocol(asyncio.Protocol):
    def __init__(self, wire: RedisWire) -> None:
        self.wire = wire
        self.reader = hiredis.Reader(encoding="utf-8")
        self.transport: asyncio.Transport | None = None
        # The loop this connection lives on; asking asyncio for it per command costs a getpid().
        self.loop = asyncio.get_running_loop()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports implement the interface without subclassing asyncio's.
        self.transport = cast(asyncio.Transport, transport)

    def data_received(self, data: bytes) -> None:
        self.reader.feed(data)
        pending = self.wire.pending
        while True:
            try:
                reply = self.reader.gets()
            except hiredis.ProtocolError:
                self.wire.fail(redis_errors.ConnectionError("Redis protocol error"))
                return
            if reply is False:
                return
            if not pending:
                self.wire.fail(redis_errors.ConnectionError("unexpected reply from Redis"))
                return
            future, _ = pending.popleft()
            if not future.done():
                future.set_result(reply)

    def connection_lost(self, exc: Exception | None) -> None:
        self.wire.fail(redis_errors.ConnectionError("connection to Redis lost"), closed=True)


class RedisWire:
    def __init__(self, url: str, *, timeout: float) -> None:
        options = parse_url(url)
        self._host = options.get("host", "localhost")
        self._port = options.get("port", 6379)
        self._path = options.get("path")
        self._tls = options.get("connection_class") is SSLConnection
        self._unix = options.get("connection_class") is UnixDomainSocketConnection
        self._hello: list[bytes] = []
        if options.get("password"):
            auth = ["AUTH", *([options["username"]] if options.get("username") else [])]
            self._hello.append(encode_command(*auth, options["password"]))
        if options.get("db"):
            self._hello.append(encode_command("SELECT", str(options["db"])))
        self._timeout = timeout
        self.pending: deque[tuple[asyncio.Future[Any], float]] = deque()
        self._protocol: _Protocol | None = None
        self._connecting: asyncio.Lock | None = None
        self._watchdog: asyncio.TimerHandle | None = None
        self._outbox: list[bytes] = []
        self._flush: asyncio.Handle | None = None

    def __repr__(self) -> str:
        return "RedisWire(***)"  # the URL may hold a password

    async def call(self, *parts: str | bytes) -> Any:
        """Send one command and return its reply; a Redis error reply is returned, not raised
        (hiredis gives it as a `ReplyError` instance), so callers decide (e.g. NOSCRIPT)."""
        protocol = self._protocol or await self._connect()
        return await self._send(protocol, encode_command(*parts))

    def _send(self, protocol: _Protocol, command: bytes) -> asyncio.Future[Any]:
        loop = protocol.loop
        future: asyncio.Future[Any] = loop.create_future()
        self.pending.append((future, time.monotonic()))
        self._outbox.append(command)
        if self._flush is None:
            self._flush = loop.call_soon(self._write_out, protocol)
        return future

    def _write_out(self, protocol: _Protocol) -> None:
        self._flush = None
        commands, self._outbox = self._outbox, []
        # After a failure the callers were failed already, and the outbox was emptied.
        if commands and protocol is self._protocol and protocol.transport is not None:
            protocol.transport.write(b"".join(commands))

    async def _connect(self) -> _Protocol:
        if self._connecting is None:
            self._connecting = asyncio.Lock()
        async with self._connecting:
            if self._protocol is not None:
                return self._protocol
            loop = asyncio.get_running_loop()
            try:
                async with asyncio.timeout(self._timeout):
                    if self._unix:
                        _, protocol = await loop.create_unix_connection(
                            lambda: _Protocol(self), self._path
                        )
                    else:
                        context = ssl.create_default_context() if self._tls else None
                        _, protocol = await loop.create_connection(
                            lambda: _Protocol(self), self._host, self._port, ssl=context
                        )
            except (OSError, TimeoutError) as exc:
                raise redis_errors.ConnectionError(f"cannot reach Redis: {exc}") from None
            self._protocol = protocol
            self._watchdog = loop.call_later(self._timeout / 4, self._check_timeouts)
            for command in self._hello:
                reply = await self._send(protocol, command)
                if isinstance(reply, hiredis.ReplyError):
                    self.fail(redis_errors.ConnectionError("Redis refused the connection setup"))
                    raise redis_errors.ConnectionError("Redis refused AUTH or SELECT")
            return protocol

    def _check_timeouts(self) -> None:
        self._watchdog = None
        if self._protocol is None:
            return
        if self.pending and time.monotonic() - self.pending[0][1] > self._timeout:
            self.fail(redis_errors.TimeoutError("Redis did not answer in time"))
            return
        self._watchdog = asyncio.get_running_loop().call_later(
            self._timeout / 4, self._check_timeouts
        )

    def fail(self, error: Exception, *, closed: bool = False) -> None:
        """Drop the connection and fail every caller still waiting on it."""
        protocol, self._protocol = self._protocol, None
        if self._watchdog is not None:
            self._watchdog.cancel()
            self._watchdog = None
        if self._flush is not None:
            self._flush.cancel()
            self._flush = None
        self._outbox = []
        if protocol is not None and protocol.transport is not None and not closed:
            protocol.transport.abort()
        while self.pending:
            future, _ = self.pending.popleft()
            if not future.done():
                future.set_exception(error)

    async def close(self) -> None:
        with contextlib.suppress(Exception):
            self.fail(redis_errors.ConnectionError("closed"))
