"""Issue 21 acceptance 2: while uninitialised or sealed, every route of the route table but
health, seal-status, init and unseal (and the web interface's seal page and static files)
answers 503; health answers 501 before init and 503 when sealed, with Vault's query flags."""

from __future__ import annotations

import re

from strongroom.seal.gate import open_while_sealed
from tests.seal.conftest import INIT_TOKEN, init, status, unseal
from tests.support import Api, all_routes

FOUR = {
    ("GET", "/api/v1/sys/health"),
    ("GET", "/api/v1/sys/seal-status"),
    ("POST", "/api/v1/sys/init"),
    ("POST", "/api/v1/sys/unseal"),
}


async def walk(api: Api, token: str, code: str) -> list[tuple[str, str]]:
    """Every route outside the open ones answers 503 `code`; returns the open ones."""
    app = api.client._transport.app  # type: ignore[attr-defined]
    routes = all_routes(app)
    assert len(routes) > 80
    open_routes = []
    for method, path in routes:
        concrete = re.sub(r"\{[^}]+\}", "x", path)
        if open_while_sealed(concrete):
            open_routes.append((method, path))
            continue
        response = await api.client.request(
            method, concrete, json={}, headers=api.auth(token), follow_redirects=False
        )
        assert response.status_code == 503, f"{method} {path} answered {response.status_code}"
        if method != "HEAD":
            assert response.json()["code"] == code, f"{method} {path}"
        assert response.headers["x-request-id"]
        assert response.headers["x-content-type-options"] == "nosniff"
    return open_routes


def api_routes(routes: list[tuple[str, str]]) -> set[tuple[str, str]]:
    return {(m, p) for m, p in routes if p.startswith("/api/") and m != "HEAD"}


async def test_uninitialised_then_sealed_every_route_but_the_four_answers_503(
    shamir_api: Api,
) -> None:
    api = shamir_api
    health = await api.client.get("/api/v1/sys/health")
    assert health.status_code == 501
    assert health.json()["status"] == "not_initialised"
    assert health.json()["initialized"] is False
    flagged = await api.client.get("/api/v1/sys/health", params={"uninitcode": 200})
    assert flagged.status_code == 200
    bad_flag = await api.client.get("/api/v1/sys/health", params={"uninitcode": 10**30})
    assert bad_flag.status_code == 422
    opened = await walk(api, "sra_" + "x" * 43, "not_initialised")
    assert api_routes(opened) == FOUR

    result = await init(api, 3, 2)
    admin = (await api.login("admin", result["admin_password"]))["access_token"]
    assert (await api.client.get("/api/v1/sys/health")).status_code == 200
    sealed = await api.client.post("/api/v1/sys/seal", headers=api.auth(admin))
    assert sealed.status_code == 200, sealed.text

    health = await api.client.get("/api/v1/sys/health")
    assert health.status_code == 503
    assert health.json()["status"] == "sealed" and health.json()["sealed"] is True
    assert (
        await api.client.get("/api/v1/sys/health", params={"sealedcode": 200})
    ).status_code == 200
    opened = await walk(api, admin, "sealed")
    assert api_routes(opened) == FOUR
    # The web interface's seal page and its static files stay reachable.
    page = await api.client.get("/ui/seal")
    assert page.status_code == 200
    assert "unseal" in page.text.lower()
    assert (await status(api))["sealed"] is True
    # A second init is still refused while sealed (with the right token too).
    again = await api.client.post(
        "/api/v1/sys/init",
        json={"secret_shares": 1, "secret_threshold": 1},
        headers={"Authorization": f"Bearer {INIT_TOKEN}"},
    )
    assert again.status_code == 400 and again.json()["code"] == "already_initialised"
    for key in result["keys"][:2]:
        await unseal(api, key)
    assert (await api.client.get("/api/v1/sys/health")).status_code == 200
