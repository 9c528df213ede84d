"""Every route needs authentication except an explicit allow-list (SECURITY.md 25)."""

from __future__ import annotations

import re

from tests.support import Api, all_routes

PUBLIC = {
    ("GET", "/api/v1/sys/health"),
    ("POST", "/api/v1/auth/token/create"),
    ("POST", "/api/v1/auth/token/renew"),
    ("POST", "/api/v1/auth/token/revoke"),
    # The seed's auth paths (seeds/004).
    ("POST", "/api/v1/auth/token/refresh"),
    ("POST", "/api/v1/auth/register"),
    ("POST", "/api/v1/auth/login"),
    ("POST", "/api/v1/token/create"),
    ("POST", "/api/v1/token/renew"),
    ("POST", "/api/v1/token/revoke"),
    ("POST", "/api/v1/auth/github/login"),
    ("GET", "/api/v1/auth/github/authorize"),
    ("GET", "/api/v1/auth/github/callback"),
    ("POST", "/api/v1/sys/unseal"),
    ("POST", "/api/v1/sys/init"),  # needs the node's init token, checked by the route
    ("GET", "/api/v1/sys/seal-status"),
    # The app's own documents.
    ("GET", "/api/v1/openapi.json"),
    ("GET", "/api/v1/docs"),
    ("GET", "/api/v1/docs/oauth2-redirect"),
    ("HEAD", "/api/v1/openapi.json"),
    ("HEAD", "/api/v1/docs"),
    ("HEAD", "/api/v1/docs/oauth2-redirect"),
    ("GET", "/api/v1/docs/assets/{name}"),
    ("HEAD", "/api/v1/docs/assets/{name}"),
}


async def test_every_route_outside_the_allow_list_requires_authentication(sqlite_api: Api) -> None:
    app = sqlite_api.client._transport.app  # type: ignore[attr-defined]
    # The web interface's routes (/, /ui/...) answer pages, not 401: tests/ui/test_http.py.
    routes = [(m, p) for m, p in all_routes(app) if p.startswith("/api/")]
    protected = [(method, path) for method, path in routes if (method, path) not in PUBLIC]
    assert len(protected) > 15
    for method, path in protected:
        concrete = re.sub(r"\{[^}]+\}", "x", path)
        response = await sqlite_api.client.request(method, concrete, json={})
        assert response.status_code == 401, f"{method} {path} answered {response.status_code}"
        assert response.json()["code"] == "invalid_token"


async def test_the_transport_guard_knows_exactly_the_public_routes(sqlite_api: Api) -> None:
    """The guard confirms the settings epoch itself on public routes (no session check there
    does it); its prefixes must cover the allow-list and nothing that needs a session."""
    from strongroom.http.middleware import is_public

    app = sqlite_api.client._transport.app  # type: ignore[attr-defined]
    for method, path in all_routes(app):
        concrete = re.sub(r"\{[^}]+\}", "x", path)
        assert is_public(concrete) == ((method, path) in PUBLIC), f"{method} {path}"
