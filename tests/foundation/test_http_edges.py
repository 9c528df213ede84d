"""Body limits, malformed input, errors without tracebacks (issue 2, acceptance 6)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx

from tests.support import Api

TOKEN_URL = "/api/v1/auth/token/create"


async def test_declared_oversized_body_is_413_before_reading(
    make_config: Any, open_api: Any
) -> None:
    async with open_api(make_config("sqlite", max_request_bytes=2048)) as api:
        response = await api.client.post(
            TOKEN_URL, content=b"x" * 5000, headers={"content-type": "application/json"}
        )
        assert response.status_code == 413
        assert response.json()["code"] == "payload_too_large"


async def test_chunked_oversized_body_is_413_without_reading_it_all(
    make_config: Any, open_api: Any
) -> None:
    sent = 0

    async def chunks() -> AsyncIterator[bytes]:
        nonlocal sent
        for _ in range(1000):
            sent += 1024
            yield b"y" * 1024

    async with open_api(make_config("sqlite", max_request_bytes=4096)) as api:
        response = await api.client.post(
            TOKEN_URL, content=chunks(), headers={"content-type": "application/json"}
        )
        assert response.status_code == 413
    assert sent < 1000 * 1024


async def test_malformed_json_is_422_in_the_documented_shape(sqlite_api: Api) -> None:
    response = await sqlite_api.client.post(
        "/api/v1/auth/check_token",
        content=b"{not json",
        headers={"content-type": "application/json"},
    )
    assert response.status_code in (401, 422)  # auth runs first on a protected route
    response = await sqlite_api.client.post(
        TOKEN_URL,
        content=b'{"grant_type": "password",',
        headers={"content-type": "application/json"},
    )
    assert response.status_code == 422
    body = response.json()
    assert body["code"] == "validation_error"
    assert body["detail"][0]["loc"] == ["body"]
    assert {"loc", "msg", "type"} <= set(body["detail"][0])


async def test_unexpected_errors_are_500_without_a_traceback(sqlite_api: Api) -> None:
    app = sqlite_api.client._transport.app  # type: ignore[attr-defined]

    @app.get("/api/v1/_explode")
    async def explode() -> None:
        raise RuntimeError("boom with detail that must not leak")

    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="https://testserver") as client:
        response = await client.get("/api/v1/_explode")
    assert response.status_code == 500
    assert response.json() == {"detail": "internal error", "code": "internal_error"}
    assert "Traceback" not in response.text and "boom" not in response.text


async def test_wrong_media_type_is_415(sqlite_api: Api) -> None:
    response = await sqlite_api.client.post(
        TOKEN_URL, content=b"grant_type=password", headers={"content-type": "text/plain"}
    )
    assert response.status_code == 415
    assert response.json()["code"] == "unsupported_media_type"


async def test_method_not_allowed_uses_the_envelope(sqlite_api: Api) -> None:
    response = await sqlite_api.client.delete("/api/v1/sys/health")
    assert response.status_code == 405
    assert response.json()["code"] == "method_not_allowed"


async def test_require_https_toggles_without_restart(sqlite_api: Api) -> None:
    app = sqlite_api.client._transport.app  # type: ignore[attr-defined]
    transport = httpx.ASGITransport(app=app, client=("203.0.113.7", 1))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as plain:
        refused = await plain.get("/api/v1/openapi.json")
        assert refused.status_code == 403 and refused.json()["code"] == "https_required"
        await sqlite_api.set_settings(security__require_https=False)
        allowed = await plain.get("/api/v1/openapi.json")
        assert allowed.status_code == 200
        assert "strict-transport-security" not in allowed.headers
        # Behind a trusted TLS-terminating proxy, X-Forwarded-Proto decides.
        await sqlite_api.set_settings(
            security__require_https=True, security__trusted_proxies=["203.0.113.7/32"]
        )
        proxied = await plain.get("/api/v1/openapi.json", headers={"X-Forwarded-Proto": "https"})
        assert proxied.status_code == 200
        await sqlite_api.set_settings(security__trusted_proxies=[])
        untrusted = await plain.get("/api/v1/openapi.json", headers={"X-Forwarded-Proto": "https"})
        assert untrusted.status_code == 403
