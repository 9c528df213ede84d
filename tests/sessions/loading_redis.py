"""A stand-in for a Redis that answers every command with an error (by default LOADING, as a
Redis still reading its data after a restart does), in front of a real Redis.

Until `fail_with()` it relays bytes both ways, so a node connects, logs users in and serves
as usual; from then on every connection it holds, and every new one, gets the error for
each command it sends (the requests are parsed with hiredis), and the real Redis is no
longer reached. It runs on the test's event loop."""

from __future__ import annotations

import asyncio
import contextlib

import hiredis
from redis.asyncio.connection import parse_url

from tests.support import REDIS_URL

LOADING = "LOADING Redis is loading the dataset in memory"


class FailingRedis:
    """In front of the Redis on 127.0.0.1:`upstream_port` (the shared one by default)."""

    def __init__(self, upstream_port: int | None = None) -> None:
        self.upstream_port = upstream_port or parse_url(REDIS_URL).get("port", 6379)
        self.error: str | None = None
        self.port = 0
        self._server: asyncio.Server | None = None
        self._relays: set[asyncio.Task[None]] = set()
        self._clients: set[asyncio.StreamWriter] = set()

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    async def __aenter__(self) -> FailingRedis:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *_: object) -> None:
        assert self._server is not None
        self._server.close()
        for writer in list(self._clients):
            writer.close()
        for task in list(self._relays):
            task.cancel()
        await asyncio.gather(*self._relays, return_exceptions=True)
        with contextlib.suppress(Exception):
            await self._server.wait_closed()

    def fail_with(self, error: str = LOADING) -> None:
        """From now on answer `-<error>` to every command, on every connection."""
        self.error = error

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._clients.add(writer)
        task = asyncio.current_task()
        assert task is not None
        self._relays.add(task)
        parser = hiredis.Reader()
        upstream: asyncio.StreamWriter | None = None
        backwards: asyncio.Future[None] | None = None
        try:
            while data := await reader.read(65536):
                if self.error is None:
                    if upstream is None:
                        up_reader, upstream = await asyncio.open_connection(
                            "127.0.0.1", self.upstream_port
                        )
                        backwards = asyncio.ensure_future(_pump(up_reader, writer))
                    upstream.write(data)
                    await upstream.drain()
                    continue
                parser.feed(data)
                while parser.gets() is not False:
                    writer.write(f"-{self.error}\r\n".encode())
                await writer.drain()
        except OSError:
            pass
        finally:
            if backwards is not None:
                backwards.cancel()
            if upstream is not None:
                upstream.close()
            self._clients.discard(writer)
            self._relays.discard(task)
            writer.close()


async def _pump(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    with contextlib.suppress(OSError):
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
