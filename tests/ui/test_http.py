"""The web interface over its ASGI interface (no browser): every page needs a session, every
POST passes the CSRF checks, the session cookie is a strongroom session, and share-once links
open once. The browser-level checks are in test_flows.py and test_security.py."""

from __future__ import annotations

import asyncio
import base64
import re

import httpx
import pytest

from strongroom.crypto.share import open_share, proof_from_link_key
from tests.support import TEST_PASSWORD, Api, all_routes

ORIGIN = "https://testserver"
# Pages anyone may open: the login page, the share page and its claim, the seal page, assets.
PUBLIC_UI = {
    ("GET", "/"),
    ("GET", "/ui"),
    ("GET", "/ui/"),
    ("GET", "/ui/login"),
    ("POST", "/ui/login"),
    ("GET", "/ui/login/github"),
    ("POST", "/ui/theme"),
    ("GET", "/ui/share"),
    ("POST", "/ui/share/claim"),
    ("GET", "/ui/seal"),
    ("GET", "/ui/static/{name}"),
}


def ui_routes(api: Api) -> list[tuple[str, str]]:
    app = api.client._transport.app  # type: ignore[attr-defined]
    return [(m, p) for m, p in all_routes(app) if p == "/" or p.startswith("/ui")]


async def csrf_of(client: httpx.AsyncClient) -> str:
    page = await client.get("/ui/login")
    match = re.search(r'name="csrf-token" content="([^"]+)"', page.text)
    assert match, page.text
    return match[1]


async def browser_login(api: Api, username: str) -> tuple[httpx.AsyncClient, str]:
    """A client holding a UI session (cookies) and its CSRF token."""
    app = api.client._transport.app  # type: ignore[attr-defined]
    transport = httpx.ASGITransport(app=app, client=("203.0.113.7", 50000))
    client = httpx.AsyncClient(transport=transport, base_url=ORIGIN)
    token = await csrf_of(client)
    response = await client.post(
        "/ui/login",
        data={"csrf": token, "username": username, "password": TEST_PASSWORD},
        headers={"Origin": ORIGIN},
    )
    assert response.status_code == 303, response.text
    # Logging in rotates the CSRF token.
    assert client.cookies["__Host-strongroom-csrf"] != token
    return client, client.cookies["__Host-strongroom-csrf"]


async def test_every_page_needs_a_session_and_every_post_a_csrf_token(sqlite_api: Api) -> None:
    routes = ui_routes(sqlite_api)
    assert len(routes) > 25
    client = sqlite_api.client
    for method, path in routes:
        concrete = re.sub(r"\{[^}]+\}", "x", path)
        if method == "GET" and (method, path) not in PUBLIC_UI:
            response = await client.get(concrete)
            assert response.status_code in (302, 303), f"{path} answered {response.status_code}"
            assert response.headers["location"].startswith("/ui/login?next="), path
        if method == "POST":
            # No token, a foreign Origin, and a token that is not this browser's: all refused
            # before anything runs.
            for headers, cookies in (
                ({"Origin": ORIGIN}, {}),
                (
                    {"Origin": "https://evil.example", "X-CSRF-Token": "a" * 43},
                    {"__Host-strongroom-csrf": "a" * 43},
                ),
                (
                    {"Origin": ORIGIN, "X-CSRF-Token": "b" * 43},
                    {"__Host-strongroom-csrf": "a" * 43},
                ),
                (
                    {"Sec-Fetch-Site": "cross-site", "X-CSRF-Token": "a" * 43},
                    {"__Host-strongroom-csrf": "a" * 43},
                ),
            ):
                client.cookies.clear()
                for name, value in cookies.items():
                    client.cookies.set(name, value)
                response = await client.post(concrete, data={"csrf": "x"}, headers=headers)
                assert response.status_code == 403, f"POST {path}: {response.status_code}"
                assert "csrf_refused" in response.text, path
    client.cookies.clear()


async def test_the_session_cookie_is_a_strongroom_session(sqlite_api: Api) -> None:
    admin = await sqlite_api.login("admin", _admin_password(sqlite_api))
    await sqlite_api.create_user(admin["access_token"], "carol")
    client, _ = await browser_login(sqlite_api, "carol")
    raw = client.cookies.jar
    cookies = {c.name: c for c in raw}
    session = cookies["__Host-strongroom-session"]
    assert session.secure and session.path == "/" and not session.domain_specified
    assert session.has_nonstandard_attr("HttpOnly")
    assert session.get_nonstandard_attr("SameSite") == "strict"
    access = session.value.split(".")[0]
    # The very session the API knows: its token works as a bearer, and it is listed.
    me = await sqlite_api.client.get("/api/v1/users/me", headers=sqlite_api.auth(access))
    assert me.json()["username"] == "carol"
    listed = await sqlite_api.client.get("/api/v1/auth/sessions", headers=sqlite_api.auth(access))
    (item,) = listed.json()["items"]
    # Revoked through the API: the browser is logged out at its next request.
    await sqlite_api.client.delete(
        f"/api/v1/auth/sessions/{item['id']}", headers=sqlite_api.auth(access)
    )
    page = await client.get("/ui/secrets")
    assert page.status_code == 303 and page.headers["location"].startswith("/ui/login")
    await client.aclose()


async def test_an_expired_access_token_is_renewed_once_for_racing_requests(
    sqlite_api: Api,
) -> None:
    admin = await sqlite_api.login("admin", _admin_password(sqlite_api))
    await sqlite_api.create_user(admin["access_token"], "dave")
    await sqlite_api.set_settings(security__access_token_ttl=1)
    client, _ = await browser_login(sqlite_api, "dave")
    old = client.cookies["__Host-strongroom-session"]
    await asyncio.sleep(1.5)
    pages = await asyncio.gather(*(client.get("/ui/sessions") for _ in range(4)))
    assert [p.status_code for p in pages] == [200] * 4
    renewed = {p.cookies.get("__Host-strongroom-session") for p in pages} - {None}
    assert len(renewed) == 1 and old not in renewed  # one rotation shared by the four
    client.cookies.set("__Host-strongroom-session", renewed.pop())
    assert (await client.get("/ui/sessions")).status_code == 200
    await client.aclose()


def _admin_password(api: Api) -> str:
    from tests.support import password_in

    return password_in(api.services.config.admin_password_file)


async def _share(api: Api, username: str) -> tuple[str, str, str]:
    """(share id, link key, secret id) of a new share made through the UI by `username`."""
    client, token = await browser_login(api, username)
    created = await client.post(
        "/ui/secrets/new",
        data={
            "csrf": token,
            "path": f"users/{username}/shared",
            "kind": "text",
            "value": "the-shared-value",
        },
        headers={"Origin": ORIGIN},
    )
    assert created.status_code == 303, created.text
    secret_id = created.headers["location"].split("/")[3].split("?")[0]
    made = await client.post(
        f"/ui/secrets/{secret_id}/share",
        data={"csrf": token, "ttl": "3600"},
        headers={"Origin": ORIGIN},
    )
    assert made.status_code == 200, made.text
    link = re.search(r'value="(https://testserver/ui/share#[^"]+)"', made.text)
    assert link, made.text
    share_id, key = link[1].split("#")[1].split(".")
    await client.aclose()
    return share_id, key, secret_id


async def _claim(api: Api, share_id: str, proof: str) -> httpx.Response:
    client = api.client
    token = await csrf_of(client)
    return await client.post(
        "/ui/share/claim",
        json={"id": share_id, "proof": proof},
        headers={"Origin": ORIGIN, "X-CSRF-Token": token},
    )


async def test_a_share_opens_once_and_only_with_its_link(api: Api) -> None:
    admin = await api.login("admin", password_in_config(api))
    await api.create_user(admin["access_token"], "erin")
    share_id, key, _ = await _share(api, "erin")
    proof = proof_from_link_key(key)
    # The id alone (say, read from the audit log) neither opens nor uses up the share.
    wrong = await _claim(api, share_id, "0" * 64)
    assert wrong.status_code == 404 and wrong.json()["code"] == "share_gone"
    # Stored: nothing of the value, nor of the key (a dump of the table opens nothing).
    async with api.services.db.connect() as conn:
        from sqlalchemy import text

        rows = (await conn.execute(text("SELECT * FROM shares"))).all()
    assert len(rows) == 1
    dumped = repr(rows).encode()
    assert b"the-shared-value" not in dumped and key.encode() not in dumped
    assert proof.encode() not in dumped
    # Concurrent claims with the right proof: exactly one gets the sealed copy.
    answers = await asyncio.gather(*(_claim(api, share_id, proof) for _ in range(8)))
    won = [a for a in answers if a.status_code == 200]
    assert len(won) == 1, [a.status_code for a in answers]
    assert all(a.status_code == 404 for a in answers if a is not won[0])
    sealed = base64.b64decode(won[0].json()["sealed"])
    assert b"the-shared-value" not in sealed
    assert open_share(sealed, key, share_id) == b'"the-shared-value"'
    again = await _claim(api, share_id, proof)
    assert again.status_code == 404


async def test_an_expired_share_is_gone_and_swept(sqlite_api: Api) -> None:
    from strongroom.shares.service import sweep_expired_shares

    admin = await sqlite_api.login("admin", _admin_password(sqlite_api))
    await sqlite_api.create_user(admin["access_token"], "frank")
    share_id, key, _ = await _share(sqlite_api, "frank")
    async with sqlite_api.services.db.begin() as conn:
        from sqlalchemy import text

        await conn.execute(text("UPDATE shares SET expires_at = 1"))
    assert (await _claim(sqlite_api, share_id, proof_from_link_key(key))).status_code == 404
    assert await sweep_expired_shares(sqlite_api.services, 2) == 1


def password_in_config(api: Api) -> str:
    return _admin_password(api)


@pytest.mark.parametrize("ttl", ["59", str(7 * 86400 + 1), "x"])
async def test_share_ttl_is_bounded(sqlite_api: Api, ttl: str) -> None:
    admin = await sqlite_api.login("admin", _admin_password(sqlite_api))
    await sqlite_api.create_user(admin["access_token"], "gina")
    client, token = await browser_login(sqlite_api, "gina")
    created = await client.post(
        "/ui/secrets/new",
        data={"csrf": token, "path": "users/gina/s", "kind": "text", "value": "v"},
        headers={"Origin": ORIGIN},
    )
    secret_id = created.headers["location"].split("/")[3].split("?")[0]
    made = await client.post(
        f"/ui/secrets/{secret_id}/share",
        data={"csrf": token, "ttl": ttl},
        headers={"Origin": ORIGIN},
    )
    assert made.status_code == 422
    async with sqlite_api.services.db.connect() as conn:
        from sqlalchemy import text

        assert (await conn.execute(text("SELECT count(*) FROM shares"))).scalar() == 0
    await client.aclose()
