"""Issue 16, finding 17: NaN/Infinity refused, hidden ids answer like unknown ones, and the
API docs page loads nothing from another origin."""

from __future__ import annotations

import re

from tests.support import Api, make_user_session

UNKNOWN = "00000000-0000-4000-8000-000000000000"
NON_FINITE = ("NaN", "Infinity", "-Infinity", "1e400", "-1e999")


async def test_finding_17_nan_and_infinity_in_json_are_422(api: Api) -> None:
    access, _ = await make_user_session(api.services, "root", "admin")
    headers = {**api.auth(access), "content-type": "application/json"}
    made = await api.client.post(
        "/api/v1/secrets/create", json={"path": "nan/a", "value": {"n": 1.5}}, headers=headers
    )
    assert made.status_code == 200, made.text
    secret = f"/api/v1/secrets/{made.json()['id']}"
    for number in NON_FINITE:
        for method, url, body in (
            ("POST", "/api/v1/secrets/create", f'{{"path": "nan/b", "value": {{"n": {number}}}}}'),
            ("PUT", secret, f'{{"value": {{"n": {number}}}}}'),  # the fast lane's route
            ("PUT", secret, f'{{"value": {{"deep": [1, {{"n": {number}}}]}}}}'),
            ("POST", "/api/v1/sys/setting", f'{{"key": "custom.x", "value": {number}}}'),
        ):
            response = await api.client.request(method, url, content=body, headers=headers)
            assert response.status_code == 422, (method, url, number, response.text)
            assert response.json()["code"] == "validation_error"
            assert "finite" in response.text, response.text
    # Nothing was stored: the one version keeps its value, no secret at nan/b.
    current = (await api.client.get(secret, headers=headers)).json()
    assert (current["version"], current["value"]) == (1, {"n": 1.5})
    missing = await api.client.get("/api/v1/secrets/by-path/nan/b", headers=headers)
    assert missing.status_code == 404


async def test_finding_17_another_users_secret_id_answers_like_an_unknown_one(api: Api) -> None:
    alice, _ = await make_user_session(api.services, "alice", "user")
    bob, _ = await make_user_session(api.services, "bob", "user")
    made = await api.client.post(
        "/api/v1/secrets/create",
        json={"path": "users/alice/db", "value": "alice-only"},
        headers=api.auth(alice),
    )
    assert made.status_code == 200, made.text
    hidden = made.json()["id"]
    for method, suffix, body in (
        ("GET", "", None),
        ("GET", "?version=1", None),
        ("PUT", "", {"value": "x"}),
        ("PUT", "", {"value": "x", "cas": 1}),
        ("DELETE", "", None),
        ("POST", "/undelete", None),
        ("POST", "/destroy", None),
        ("GET", "/versions", None),
    ):
        answers = []
        for secret_id in (hidden, UNKNOWN):
            response = await api.client.request(
                method, f"/api/v1/secrets/{secret_id}{suffix}", json=body, headers=api.auth(bob)
            )
            answers.append((response.status_code, response.json()))
        assert answers[0] == answers[1], (method, suffix, answers)
        assert answers[0][0] == 404
    # Bob changed nothing: alice still reads her one version.
    mine = await api.client.get(f"/api/v1/secrets/{hidden}", headers=api.auth(alice))
    assert (mine.json()["version"], mine.json()["value"]) == (1, "alice-only")


async def test_finding_17_the_api_docs_load_nothing_from_another_origin(sqlite_api: Api) -> None:
    page = await sqlite_api.client.get("/api/v1/docs")
    assert page.status_code == 200
    assert "default-src 'none'" in page.headers["content-security-policy"]
    html = page.text
    assert "SwaggerUIBundle" in html
    assert not re.search(r"https?://", html), "the page names another origin"
    urls = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert len(urls) == 3, urls
    kinds = {}
    for url in urls:
        assert url.startswith("/api/v1/docs/assets/"), url
        asset = await sqlite_api.client.get(url)
        assert asset.status_code == 200, url
        kinds[url.rsplit("/", 1)[1]] = (asset.headers["content-type"], len(asset.content))
    assert kinds["swagger-ui-bundle.js"][0].startswith("text/javascript")
    assert kinds["swagger-ui-bundle.js"][1] > 500_000  # the real Swagger UI 5 bundle
    assert kinds["swagger-ui.css"][0].startswith("text/css")
    # Only those files: no path into the package or anywhere else.
    for name in ("../__init__.py", "swagger-editor.js", "LICENSE", "%2e%2e%2f__init__.py"):
        refused = await sqlite_api.client.get(f"/api/v1/docs/assets/{name}")
        assert refused.status_code in (404, 422), name
    redirect = await sqlite_api.client.get("/api/v1/docs/oauth2-redirect")
    assert redirect.status_code == 200
    assert not re.search(r"<script[^>]+src=\"https?://", redirect.text)
