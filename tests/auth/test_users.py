"""Users: creation rules, roles enforced, sessions ended by every change that takes rights away."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support import TEST_PASSWORD, Api, make_user_session

ME = "/api/v1/users/me"


async def test_admin_creates_a_user_without_exposing_the_hash(api: Api, admin_token: str) -> None:
    body = await api.create_user(admin_token, "Alice", role="auditor")
    assert body["username"] == "alice"
    assert body["role"] == "auditor"
    assert body["auth_method"] == "password"
    assert not any("hash" in key or "password" in key for key in body)
    listed = await api.client.get("/api/v1/users", headers=api.auth(admin_token))
    assert [u["username"] for u in listed.json()["items"]] == ["admin", "alice"]
    assert "argon2" not in listed.text


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"username": "a"}, "username"),
        ({"username": "bad name"}, "username"),
        ({"username": "x" * 65}, "username"),
        ({"email": "not-an-email"}, "email"),
        ({"password": "short"}, "password"),
        ({"password": "aaaaaaaaaaaaaaaa"}, "password"),
        ({"username": "longusername12", "password": "LongUserName12"}, "password"),
        ({"role": "emperor"}, "role"),
    ],
)
async def test_create_user_validation(sqlite_api: Api, changes: dict[str, str], field: str) -> None:
    api = sqlite_api
    admin, _ = await make_user_session(api.services, "root", "admin")
    body = {
        "username": "valid-name",
        "email": "v@example.test",
        "role": "user",
        "password": TEST_PASSWORD,
    }
    response = await api.client.post(
        "/api/v1/users/create", json={**body, **changes}, headers=api.auth(admin)
    )
    assert response.status_code == 422, response.text
    assert response.json()["detail"][0]["loc"] == ["body", field]
    assert TEST_PASSWORD not in response.text


async def test_duplicates_are_409(api: Api, admin_token: str) -> None:
    await api.create_user(admin_token, "bob")
    again = await api.client.post(
        "/api/v1/users/create",
        json={"username": "BOB", "email": "other@example.test", "password": TEST_PASSWORD},
        headers=api.auth(admin_token),
    )
    assert again.status_code == 409
    same_mail = await api.client.post(
        "/api/v1/users/create",
        json={"username": "bobby", "email": "bob@example.test", "password": TEST_PASSWORD},
        headers=api.auth(admin_token),
    )
    assert same_mail.status_code == 409


async def test_registration(sqlite_api: Api) -> None:
    api = sqlite_api
    body = {"username": "newbie", "password": TEST_PASSWORD, "role": "admin"}
    closed = await api.client.post("/api/v1/users/create", json=body)
    assert closed.status_code == 401
    user, _ = await make_user_session(api.services, "plain", "user")
    assert (
        await api.client.post("/api/v1/users/create", json=body, headers=api.auth(user))
    ).status_code == 403
    await api.set_settings(auth__registration_open=True, auth__default_role="no_role")
    opened = await api.client.post("/api/v1/users/create", json=body)
    assert opened.status_code == 200
    assert opened.json()["role"] == "no_role"  # forced to the default, not admin


async def test_roles_are_enforced(sqlite_api: Api) -> None:
    api = sqlite_api
    tokens = {role: (await make_user_session(api.services, f"u-{role}", role))[0] for role in
              ("admin", "user", "auditor", "no_role")}  # fmt: skip
    await make_user_session(api.services, "target", "user")
    admin_only = [("GET", "/api/v1/users"), ("GET", "/api/v1/users/target"),
                  ("POST", "/api/v1/users/target/enable")]  # fmt: skip
    for role, token in tokens.items():
        assert (await api.client.get(ME, headers=api.auth(token))).status_code == 200
        for method, url in admin_only:
            status = (await api.client.request(method, url, headers=api.auth(token))).status_code
            assert status == (200 if role == "admin" else 403), (role, url)
    everyone = await api.client.get(
        "/api/v1/auth/sessions?all=true", headers=api.auth(tokens["auditor"])
    )
    assert everyone.status_code == 200
    assert len(everyone.json()["items"]) >= 4
    nosy = await api.client.get(
        "/api/v1/auth/sessions?all=true", headers=api.auth(tokens["no_role"])
    )
    assert nosy.status_code == 403


async def _two_sessions(api: Api, name: str) -> tuple[dict[str, Any], dict[str, Any]]:
    await make_user_session(api.services, name, "user", password=TEST_PASSWORD)
    return await api.login(name), await api.login(name)


async def _alive(api: Api, token: str) -> bool:
    return (await api.client.get(ME, headers=api.auth(token))).status_code == 200


async def test_delete_and_disable_end_every_session_at_once(api: Api, admin_token: str) -> None:
    first, second = await _two_sessions(api, "carol")
    admin = api.auth(admin_token)
    assert (await api.client.post("/api/v1/users/carol/disable", headers=admin)).json()[
        "sessions_ended"
    ] == 3
    assert not await _alive(api, first["access_token"])
    assert not await _alive(api, second["access_token"])
    relogin = await api.client.post(
        "/api/v1/auth/token/create",
        data={"grant_type": "password", "username": "carol", "password": TEST_PASSWORD},
    )
    assert relogin.status_code == 401
    await api.client.post("/api/v1/users/carol/enable", headers=admin)
    third = await api.login("carol")
    assert (await api.client.post("/api/v1/users/carol/delete", headers=admin)).status_code == 200
    assert not await _alive(api, third["access_token"])
    gone = await api.client.post("/api/v1/users/carol/delete", headers=admin)
    assert gone.status_code == 404


async def test_password_change_ends_the_other_sessions(api: Api) -> None:
    first, second = await _two_sessions(api, "dave")
    new_password = "an entirely new passphrase"
    wrong = await api.client.post(
        "/api/v1/users/me/password",
        json={"current_password": "not my password", "new_password": new_password},
        headers=api.auth(first["access_token"]),
    )
    assert wrong.status_code == 422
    changed = await api.client.post(
        "/api/v1/users/me/password",
        json={"current_password": TEST_PASSWORD, "new_password": new_password},
        headers=api.auth(first["access_token"]),
    )
    assert changed.status_code == 200
    assert await _alive(api, first["access_token"])
    assert not await _alive(api, second["access_token"])
    assert (await api.login("dave", new_password))["access_token"]


async def test_role_change_ends_sessions(api: Api, admin_token: str) -> None:
    first, _ = await _two_sessions(api, "erin")
    updated = await api.client.post(
        "/api/v1/users/erin/update", json={"role": "auditor"}, headers=api.auth(admin_token)
    )
    assert updated.json()["role"] == "auditor"
    assert not await _alive(api, first["access_token"])
    relogin = await api.login("erin")
    me = await api.client.get(ME, headers=api.auth(relogin["access_token"]))
    assert me.json()["role"] == "auditor"


async def test_the_last_admin_stays(api: Api, admin_token: str) -> None:
    admin = api.auth(admin_token)
    for action in ("delete", "disable"):
        response = await api.client.post(f"/api/v1/users/admin/{action}", headers=admin)
        assert response.status_code == 409, action
    demote = await api.client.post(
        "/api/v1/users/admin/update", json={"role": "user"}, headers=admin
    )
    assert demote.status_code == 409
    await api.create_user(admin_token, "second-admin", role="admin")
    assert (await api.client.post("/api/v1/users/admin/delete", headers=admin)).status_code == 200
