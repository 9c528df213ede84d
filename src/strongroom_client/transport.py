"""How requests reach the server: one small interface, two implementations for sync use.

`HttpxTransport` (the default of `Client`) pools connections with httpx. `StdlibTransport`
speaks HTTP/1.1 with the standard library only: the command line uses it, because importing
httpx costs more than a whole `strongroom kv get` otherwise takes. Both verify TLS against the
CA they are given (or the system's), and both raise `ConnectionFailed` when no answer came.
"""

from __future__ import annotations

import ssl
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol
from urllib.parse import urlsplit

from strongroom_client.errors import ConnectionFailed

if TYPE_CHECKING:
    import http.client

    import httpx


@dataclass(frozen=True, slots=True)
class RawResponse:
    status: int
    headers: dict[str, str]  # lower-case names
    body: bytes


class Transport(Protocol):
    """Sends one request and returns the whole answer."""

    def send(
        self, method: str, url: str, headers: Mapping[str, str], body: bytes | None
    ) -> RawResponse: ...

    def close(self) -> None: ...


class AsyncTransport(Protocol):
    async def send(
        self, method: str, url: str, headers: Mapping[str, str], body: bytes | None
    ) -> RawResponse: ...

    async def aclose(self) -> None: ...


def tls_context(cacert: str | None) -> ssl.SSLContext:
    """Verification against `cacert` (a PEM file) or the system's CAs; TLS 1.2 at least."""
    context = ssl.create_default_context(cafile=cacert)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    return context


def _unreachable(url: str, exc: BaseException) -> ConnectionFailed:
    where = urlsplit(url)
    reason = type(exc).__name__
    text = str(exc)
    if text and len(text) < 200:
        reason = f"{reason}: {text}"
    return ConnectionFailed(f"cannot reach {where.scheme}://{where.netloc} ({reason})")


class StdlibTransport:
    """HTTP/1.1 over `http.client`, one kept-alive connection (not shared between threads)."""

    def __init__(self, cacert: str | None = None, timeout: float = 30.0) -> None:
        self._cacert = cacert
        self._timeout = timeout
        self._connection: http.client.HTTPConnection | None = None
        self._origin: tuple[str, str, int | None] | None = None

    def _connect(self, url: str) -> tuple[http.client.HTTPConnection, str, bool]:
        import http.client

        parts = urlsplit(url)
        origin = (parts.scheme, parts.hostname or "", parts.port)
        reused = self._connection is not None and origin == self._origin
        if not reused:
            self.close()
            if parts.scheme == "https":
                self._connection = http.client.HTTPSConnection(
                    origin[1], origin[2], timeout=self._timeout, context=tls_context(self._cacert)
                )
            else:
                self._connection = http.client.HTTPConnection(
                    origin[1], origin[2], timeout=self._timeout
                )
            self._origin = origin
        assert self._connection is not None
        target = parts.path + (f"?{parts.query}" if parts.query else "")
        return self._connection, target, reused

    def send(
        self, method: str, url: str, headers: Mapping[str, str], body: bytes | None
    ) -> RawResponse:
        import http.client

        while True:
            connection, target, reused = self._connect(url)
            try:
                connection.request(method, target, body=body, headers=dict(headers))
                response = connection.getresponse()
                data = response.read()
            except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError) as exc:
                # A kept-alive connection the server closed meanwhile: again on a new one.
                self.close()
                if reused:
                    continue
                raise _unreachable(url, exc) from None
            except (OSError, http.client.HTTPException) as exc:
                self.close()
                raise _unreachable(url, exc) from None
            return RawResponse(
                response.status, {k.lower(): v for k, v in response.getheaders()}, data
            )

    def close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None


class HttpxTransport:
    """httpx's pooled client (thread-safe): the default of `Client`."""

    def __init__(self, cacert: str | None = None, timeout: float = 30.0) -> None:
        import httpx

        self._httpx = httpx
        self._client = httpx.Client(verify=tls_context(cacert), timeout=timeout)

    def send(
        self, method: str, url: str, headers: Mapping[str, str], body: bytes | None
    ) -> RawResponse:
        try:
            response = self._client.request(method, url, headers=headers, content=body)
        except self._httpx.TransportError as exc:
            raise _unreachable(url, exc) from None
        return RawResponse(response.status_code, _lower(response.headers), response.content)

    def close(self) -> None:
        self._client.close()


class AsyncHttpxTransport:
    """httpx's async pooled client: the transport of `AsyncClient`."""

    def __init__(self, cacert: str | None = None, timeout: float = 30.0) -> None:
        import httpx

        self._httpx = httpx
        self._client = httpx.AsyncClient(verify=tls_context(cacert), timeout=timeout)

    async def send(
        self, method: str, url: str, headers: Mapping[str, str], body: bytes | None
    ) -> RawResponse:
        try:
            response = await self._client.request(method, url, headers=headers, content=body)
        except self._httpx.TransportError as exc:
            raise _unreachable(url, exc) from None
        return RawResponse(response.status_code, _lower(response.headers), response.content)

    async def aclose(self) -> None:
        await self._client.aclose()


def _lower(headers: httpx.Headers) -> dict[str, str]:
    return {k.lower(): v for k, v in headers.items()}
