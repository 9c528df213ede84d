"""The browser login: authorize → GitHub → callback, with the state bound to the browser."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from strongroom.db import now
from strongroom.github.oauth import STATE_COOKIE, sign_state
from strongroom.users import repository as users_repo
from tests.github.conftest import World, admin_headers
from tests.support import Api

AUTHORIZE = "/api/v1/auth/github/authorize"
CALLBACK = "/api/v1/auth/github/callback"
REDIRECT = f"https://testserver{CALLBACK}"


@pytest.fixture
async def web(gh: Api, world: World) -> Api:
    """GitHub login with the OAuth app configured, through the settings API (the client
    secret is a secret setting: stored encrypted)."""
    response = await gh.client.post(
        "/api/v1/sys/auth",
        json={
            "github_client_id": world.github.client_id,
            "github_client_secret": world.github.client_secret,
            "github_redirect_url": REDIRECT,
        },
        headers=await admin_headers(gh),
    )
    assert response.status_code == 200, response.text
    world.github.browser_user = world.alice
    return gh


async def _authorize(api: Api) -> tuple[dict[str, list[str]], str]:
    """Start a login: the query sent to GitHub and the state cookie's value."""
    response = await api.client.get(AUTHORIZE)
    assert response.status_code == 302, response.text
    location = response.headers["location"]
    query = parse_qs(urlsplit(location).query)
    return query, response.cookies[STATE_COOKIE]


async def _github_redirect(world: World, query: dict[str, list[str]]) -> str:
    """What the browser does at GitHub: approve, and come back with code and state."""
    params = {key: values[0] for key, values in query.items()}
    async with httpx.AsyncClient() as browser:
        response = await browser.get(f"{world.github.web_url}/login/oauth/authorize", params=params)
    assert response.status_code == 302
    location = response.headers["location"]
    assert location.startswith(REDIRECT)
    return location.removeprefix("https://testserver")


async def _github_users(api: Api) -> list[str]:
    async with api.services.db.connect() as conn:
        rows = await users_repo.list_users(conn, after=None, limit=100)
    return [row.username for row in rows if row.github_id is not None]


def _exchanges(world: World) -> int:
    return sum(path == "/login/oauth/access_token" for path in world.github.paths())


async def test_browser_login_happy_path(web: Api, world: World) -> None:
    response = await web.client.get(AUTHORIZE)
    assert response.status_code == 302
    location = urlsplit(response.headers["location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == (
        f"{world.github.web_url}/login/oauth/authorize"
    )
    query = parse_qs(location.query)
    assert query["client_id"] == [world.github.client_id]
    assert query["redirect_uri"] == [REDIRECT]
    assert query["scope"] == ["read:org"]
    cookie = response.headers["set-cookie"]
    for attribute in ("HttpOnly", "Secure", "SameSite=lax", f"Path={CALLBACK}", "Max-Age=600"):
        assert attribute.lower() in cookie.lower()
    nonce = response.cookies[STATE_COOKIE]
    assert nonce not in query["state"][0]  # the state carries a MAC of the nonce, not the nonce
    back = await _github_redirect(world, query)
    done = await web.client.get(back)  # the client's jar sends the state cookie back
    assert done.status_code == 200, done.text
    body = done.json()
    assert body["access_token"].startswith("sra_")
    assert STATE_COOKIE in done.headers["set-cookie"]  # cleared
    assert "max-age=0" in done.headers["set-cookie"].lower()
    me = await web.client.get("/api/v1/users/me", headers=web.auth(body["access_token"]))
    assert (me.json()["username"], me.json()["role"]) == ("alice", "admin")
    assert _exchanges(world) == 1


async def _refused(api: Api, world: World, response: httpx.Response, message: str) -> None:
    assert response.status_code == 400, response.text
    assert message in response.json()["error_description"]
    assert await _github_users(api) == []
    page = await api.services.store.list_sessions(None, now(), limit=10, cursor=None)
    assert [s for s in page.items if s.auth_method == "github"] == []
    assert _exchanges(world) == 0


async def test_forged_state_is_refused(web: Api, world: World) -> None:
    query, _ = await _authorize(web)
    expiry, _, mac = query["state"][0].partition(".")
    query["state"] = [f"{expiry}.{'0' * len(mac)}"]
    response = await web.client.get(await _github_redirect(world, query))
    await _refused(web, world, response, "does not match")


async def test_state_with_a_pushed_back_expiry_is_refused(web: Api, world: World) -> None:
    query, _ = await _authorize(web)
    expiry, _, mac = query["state"][0].partition(".")
    query["state"] = [f"{int(expiry) + 3600}.{mac}"]
    response = await web.client.get(await _github_redirect(world, query))
    await _refused(web, world, response, "does not match")


async def test_missing_state_is_refused(web: Api, world: World) -> None:
    query, _ = await _authorize(web)
    back = await _github_redirect(world, query)
    response = await web.client.get(back.split("&state=")[0])
    await _refused(web, world, response, "state is missing")


async def test_callback_in_another_browser_is_refused(web: Api, world: World) -> None:
    query, _ = await _authorize(web)
    back = await _github_redirect(world, query)
    web.client.cookies.clear()  # the victim's browser: no cookie of this login
    response = await web.client.get(back)
    await _refused(web, world, response, "state cookie is missing")
    # A cookie of another login of that browser does not fit this state either.
    await _authorize(web)
    response = await web.client.get(back)
    await _refused(web, world, response, "does not match")


async def test_expired_state_is_refused(web: Api, world: World) -> None:
    query, nonce = await _authorize(web)
    # A state signed with the server's key for this very nonce, but already expired.
    query["state"] = [sign_state(web.services.barrier.keyring, nonce, int(now()) - 1)]
    response = await web.client.get(await _github_redirect(world, query))
    await _refused(web, world, response, "expired")


async def test_bad_code_is_401_and_creates_nothing(web: Api, world: World) -> None:
    query, _ = await _authorize(web)
    back = await _github_redirect(world, query)
    code = parse_qs(urlsplit(back).query)["code"][0]
    response = await web.client.get(back.replace(code, "0" * len(code)))
    assert response.status_code == 401
    assert "bad_verification_code" in response.json()["error_description"]
    assert await _github_users(web) == []


async def test_user_denying_access_at_github_is_refused(web: Api, world: World) -> None:
    query, _ = await _authorize(web)
    state: Any = query["state"][0]
    response = await web.client.get(CALLBACK, params={"error": "access_denied", "state": state})
    assert response.status_code == 400
    assert response.json()["error"] == "access_denied"
    assert _exchanges(world) == 0


async def test_browser_login_needs_the_oauth_app_configured(gh: Api, world: World) -> None:
    response = await gh.client.get(AUTHORIZE)
    assert response.status_code == 400
    assert "auth.github_client_id" in response.json()["error_description"]
    assert "set-cookie" not in response.headers
