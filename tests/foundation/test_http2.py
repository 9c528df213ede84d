"""Issue 16, finding 15: HTTP/2 gives the answers HTTP/1.1 gives (a real TLS server process,
httpx speaking HTTP/2 through ALPN)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support import ServerProcess

LIMIT = 1024 * 1024  # max_request_bytes's default
JSON = {"content-type": "application/json"}


@pytest.fixture
def tls_server(tmp_path: Path) -> Iterator[ServerProcess]:
    server = ServerProcess(tmp_path / "data", {}, tls=True).start()
    yield server
    server.stop()


def _chunks() -> Iterator[bytes]:
    for _ in range(40):  # 2.5 MiB, no Content-Length
        yield b"y" * 65536


def _requests() -> list[tuple[str, str, dict[str, Any]]]:
    return [
        ("POST", "/api/v1/auth/token/create", {"content": b"x" * (LIMIT + 1), "headers": JSON}),
        ("POST", "/api/v1/auth/token/create", {"content": b"x" * (3 * LIMIT), "headers": JSON}),
        ("POST", "/api/v1/auth/token/create", {"content": _chunks(), "headers": JSON}),
        ("HEAD", "/api/v1/sys/health", {}),  # a GET-only route: 405
        ("HEAD", "/api/v1/openapi.json", {}),  # a route that has HEAD: 200, no body
        ("GET", "/api/v1/sys/health", {}),
        ("POST", "/api/v1/auth/token/create", {"content": b"{}", "headers": JSON}),
    ]


def _answers(server: ServerProcess, http2: bool) -> list[tuple[int, str, bytes]]:
    answers = []
    with httpx.Client(http1=not http2, http2=http2, verify=server.verify, timeout=30) as client:
        for method, path, options in _requests():
            response = client.request(method, server.url + path, **options)
            assert response.http_version == ("HTTP/2" if http2 else "HTTP/1.1")
            assert response.headers["x-request-id"]
            answers.append(
                (response.status_code, response.headers["content-type"], response.content)
            )
    return answers


def test_finding_15_http2_answers_like_http11(tls_server: ServerProcess) -> None:
    over_http11 = _answers(tls_server, http2=False)
    over_http2 = _answers(tls_server, http2=True)
    assert [status for status, _, _ in over_http2] == [413, 413, 413, 405, 200, 200, 422]
    for (method, path, _), one, two in zip(_requests(), over_http11, over_http2, strict=True):
        assert one == two, (method, path, one, two)
    for status, _, body in over_http2[:3]:
        assert b'"code":"payload_too_large"' in body
    assert over_http2[3][2] == over_http2[4][2] == b""  # HEAD: no body on either protocol
