"""Every route needs authentication except an explicit allow-list (SECURITY.md 25)."""

from __future__ import annotations

import re

from tests.support import Api, all_routes

PUBLIC = {
    ("GET", "/api/v1/sys/health"),
    ("POST", "/api/v1/auth/token/create"),
    ("POST", "/api/v1/auth/token/renew"),
    ("POST", "/api/v1/auth/token/revoke"),
    ("POST", "/api/v1/token/create"),
    ("POST", "/api/v1/token/renew"),
    ("POST", "/api/v1/token/revoke"),
    ("POST", "/api/v1/auth/github/login"),
    ("GET", "/api/v1/auth/github/authorize"),
    ("GET", "/api/v1/auth/github/callback"),
    ("POST", "/api/v1/sys/unseal"),
    # The app's own documents.
    ("GET", "/api/v1/openapi.json"),
    ("GET", "/api/v1/docs"),
    ("GET", "/api/v1/docs/oauth2-redirect"),
    ("HEAD", "/api/v1/openapi.json"),
    ("HEAD", "/api/v1/docs"),
    ("HEAD", "/api/v1/docs/oauth2-redirect"),
}


async def test_every_route_outside_the_allow_list_requires_authentication(sqlite_api: Api) -> None:
    app = sqlite_api.client._transport.app  # type: ignore[attr-defined]
    routes = all_routes(app)
    protected = [(method, path) for method, path in routes if (method, path) not in PUBLIC]
    assert len(protected) > 15
    for method, path in protected:
        concrete = re.sub(r"\{[^}]+\}", "x", path)
        response = await sqlite_api.client.request(method, concrete, json={})
        assert response.status_code == 401, f"{method} {path} answered {response.status_code}"
        assert response.json()["code"] == "invalid_token"
