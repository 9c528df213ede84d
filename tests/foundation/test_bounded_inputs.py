"""Issue 16, finding 9: every integer input is bounded (4xx, never an OverflowError 500), and
every answer, a 500 included, carries the security headers and the request id."""

from __future__ import annotations

from typing import Any

import httpx

from tests.support import Api, make_user_session

HUGE = 9223372036854775808  # 2**63: no 64-bit column holds it
BEYOND_64_BITS = 2**70
BEYOND_INT32 = 2**31  # versions and history ids are 32-bit columns on PostgreSQL
SECURITY_HEADERS = {
    "cache-control": "no-store",
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "no-referrer",
}


async def _secret(api: Api, headers: dict[str, str]) -> str:
    response = await api.client.post(
        "/api/v1/secrets/create", json={"path": "bounds/a", "value": "v"}, headers=headers
    )
    assert response.status_code == 200, response.text
    secret_id: str = response.json()["id"]
    return secret_id


def _probes(secret_id: str) -> list[tuple[str, str, dict[str, Any]]]:
    secret = f"/api/v1/secrets/{secret_id}"
    raw = {"content": None}
    return [
        ("GET", "/api/v1/sys/settings/history?cursor=99999999999999999999", raw),
        ("GET", f"/api/v1/sys/settings/history?cursor={BEYOND_INT32}", raw),
        ("GET", f"{secret}/versions?cursor={BEYOND_INT32 * 4}", raw),
        ("GET", f"{secret}?version={HUGE}", raw),
        ("POST", f"{secret}/destroy", {"content": f'{{"versions": [{HUGE}]}}'}),
        ("POST", f"{secret}/destroy", {"content": f'{{"versions": [{BEYOND_INT32}]}}'}),
        ("POST", f"{secret}/destroy", {"content": f'{{"versions": [{BEYOND_64_BITS}]}}'}),
        ("PUT", secret, {"content": f'{{"value": "x", "cas": {HUGE}}}'}),
        ("PUT", secret, {"content": f'{{"value": "x", "cas": {BEYOND_INT32}}}'}),
        ("PUT", secret, {"content": f'{{"value": {{"n": {BEYOND_64_BITS}}}}}'}),
        ("PUT", secret, {"content": f'{{"value": "x", "ttl": {BEYOND_64_BITS}}}'}),
        (
            "POST",
            "/api/v1/secrets/create",
            {"content": f'{{"path": "bounds/b", "value": "v", "max_reads": {HUGE}}}'},
        ),
        (
            "POST",
            "/api/v1/secrets/create",
            {"content": f'{{"path": "bounds/c", "value": "v", "ttl": {HUGE}}}'},
        ),
        ("GET", f"/api/v1/users?limit={HUGE}", raw),
    ]


async def test_finding_9_oversized_integers_are_4xx_never_500(api: Api) -> None:
    access, _ = await make_user_session(api.services, "root", "admin")
    headers = {**api.auth(access), "content-type": "application/json"}
    secret_id = await _secret(api, headers)
    for method, url, options in _probes(secret_id):
        response = await api.client.request(method, url, headers=headers, **options)
        assert 400 <= response.status_code < 500, (method, url, response.status_code, response.text)
        assert response.json()["code"] in {"validation_error", "bad_request"}, response.text
        assert response.headers["x-request-id"]
    # Nothing changed: the secret still has its one version and its value.
    response = await api.client.get(f"/api/v1/secrets/{secret_id}", headers=headers)
    assert response.status_code == 200
    assert (response.json()["value"], response.json()["version"]) == ("v", 1)


async def test_finding_9_a_500_carries_the_security_headers_and_the_request_id(
    sqlite_api: Api,
) -> None:
    app = sqlite_api.client._transport.app  # type: ignore[attr-defined]

    @app.get("/api/v1/_explode")
    async def explode() -> None:
        raise OverflowError("Python int too large to convert to SQLite INTEGER")

    # raise_app_exceptions=True (httpx's default): the app itself must answer the 500.
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="https://testserver") as client:
        response = await client.get("/api/v1/_explode")
    assert response.status_code == 500
    assert response.json() == {"detail": "internal error", "code": "internal_error"}
    for name, value in SECURITY_HEADERS.items():
        assert response.headers.get(name) == value, name
    assert response.headers["strict-transport-security"].startswith("max-age=")
    assert len(response.headers["x-request-id"]) == 16
