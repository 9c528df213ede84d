"""The roles API: admins define, change and delete roles; built-in and in-use roles are guarded."""

from __future__ import annotations

from typing import Any

import pytest

from strongroom.policy.rules import Capability
from strongroom.policy.service import pattern_problem
from tests.secrets.conftest import assert_error, headers_for
from tests.support import Api

ROLES = "/api/v1/roles"
READERS = {
    "name": "readers",
    "description": "Team A read-only",
    "rules": [
        {"path": "team-a/*", "capabilities": ["read", "list"]},
    ],
}


@pytest.fixture
async def admin(api: Api) -> dict[str, str]:
    return await headers_for(api, "root", "admin")


async def test_create_get_list_update_delete(api: Api, admin: dict[str, str]) -> None:
    created = await api.client.post(ROLES, json=READERS, headers=admin)
    assert created.status_code == 200, created.text
    body = created.json()
    assert body["name"] == "readers"
    assert body["builtin"] is False
    assert body["rules"] == [{"path": "team-a/*", "capabilities": ["list", "read"]}]
    assert "readers" in api.services.runtime.roles, "the node reloaded its roles at once"

    fetched = await api.client.get(f"{ROLES}/readers", headers=admin)
    assert fetched.json() == body

    listed = await api.client.get(ROLES, headers=admin)
    names = [item["name"] for item in listed.json()["items"]]
    assert names == sorted(["admin", "auditor", "no_role", "readers", "user"])
    builtin = {item["name"]: item for item in listed.json()["items"]}["user"]
    assert builtin["builtin"] is True
    assert builtin["rules"][0]["path"] == "users/{username}/*"

    first = await api.client.get(ROLES, params={"limit": 2}, headers=admin)
    second = await api.client.get(
        ROLES, params={"limit": 2, "cursor": first.json()["next_cursor"]}, headers=admin
    )
    assert [i["name"] for i in first.json()["items"] + second.json()["items"]] == names[:4]

    changed = await api.client.put(
        f"{ROLES}/readers",
        json={"description": "now B", "rules": [{"path": "team-b/*", "capabilities": ["read"]}]},
        headers=admin,
    )
    assert changed.status_code == 200, changed.text
    assert changed.json()["rules"] == [{"path": "team-b/*", "capabilities": ["read"]}]
    role = api.services.runtime.role("readers")
    assert role.allows(Capability.read, "team-b/x", "anyone")
    assert not role.allows(Capability.read, "team-a/x", "anyone")

    deleted = await api.client.delete(f"{ROLES}/readers", headers=admin)
    assert deleted.status_code == 200, deleted.text
    assert_error(await api.client.get(f"{ROLES}/readers", headers=admin), 404)
    assert "readers" not in api.services.runtime.roles
    assert_error(await api.client.delete(f"{ROLES}/readers", headers=admin), 404)
    for odd in ("%00", "Readers", "a%0Ab"):
        assert_error(await api.client.get(f"{ROLES}/{odd}", headers=admin), 404)
        assert_error(await api.client.delete(f"{ROLES}/{odd}", headers=admin), 404)
    bad_cursor = await api.client.get(ROLES, params={"cursor": "\x00"}, headers=admin)
    assert_error(bad_cursor, 422)
    missing = await api.client.put(
        f"{ROLES}/readers", json={"description": "", "rules": []}, headers=admin
    )
    assert_error(missing, 404)


async def test_duplicate_name_is_409(api: Api, admin: dict[str, str]) -> None:
    await api.client.post(ROLES, json=READERS, headers=admin)
    again = await api.client.post(ROLES, json=READERS, headers=admin)
    assert_error(again, 409, "role_exists")


@pytest.mark.parametrize("name", ["admin", "user", "auditor", "no_role"])
async def test_builtin_roles_cannot_be_changed_or_deleted(
    api: Api, admin: dict[str, str], name: str
) -> None:
    created = await api.client.post(ROLES, json={**READERS, "name": name}, headers=admin)
    assert_error(created, 409, "builtin_role")
    changed = await api.client.put(
        f"{ROLES}/{name}", json={"description": "x", "rules": []}, headers=admin
    )
    assert_error(changed, 409, "builtin_role")
    assert "built-in" in changed.json()["detail"]
    assert_error(await api.client.delete(f"{ROLES}/{name}", headers=admin), 409, "builtin_role")
    assert (await api.client.get(f"{ROLES}/{name}", headers=admin)).json()["builtin"] is True


async def test_a_role_held_by_a_user_cannot_be_deleted(api: Api, admin: dict[str, str]) -> None:
    await api.client.post(ROLES, json=READERS, headers=admin)
    await headers_for(api, "carol", "readers")
    response = await api.client.delete(f"{ROLES}/readers", headers=admin)
    assert_error(response, 409, "role_in_use")
    assert "1 user" in response.json()["detail"]
    assert (await api.client.get(f"{ROLES}/readers", headers=admin)).status_code == 200


async def test_a_role_named_by_a_setting_cannot_be_deleted(api: Api, admin: dict[str, str]) -> None:
    await api.client.post(ROLES, json=READERS, headers=admin)
    await api.set_settings(auth__default_role="readers")
    response = await api.client.delete(f"{ROLES}/readers", headers=admin)
    assert_error(response, 409, "role_in_use")
    assert "auth.default_role" in response.json()["detail"]
    await api.set_settings(auth__default_role="user", auth__github_team_roles={"ops": "readers"})
    response = await api.client.delete(f"{ROLES}/readers", headers=admin)
    assert_error(response, 409, "role_in_use")
    assert "auth.github_team_roles" in response.json()["detail"]


async def test_only_admins_manage_roles(api: Api) -> None:
    for role in ("user", "auditor", "no_role"):
        headers = await headers_for(api, f"x-{role}".replace("_", "-"), role)
        for method, url, body in (
            ("GET", ROLES, None),
            ("POST", ROLES, READERS),
            ("GET", f"{ROLES}/user", None),
            ("PUT", f"{ROLES}/readers", {"rules": []}),
            ("DELETE", f"{ROLES}/readers", None),
        ):
            response = await api.client.request(method, url, json=body, headers=headers)
            assert_error(response, 403)
    assert_error(await api.client.get(ROLES), 401)


@pytest.mark.parametrize(
    ("body", "loc"),
    [
        ({"name": "Bad Name", "rules": []}, ["body", "name"]),
        ({"name": "x", "rules": []}, ["body", "name"]),
        ({"name": "9lives", "rules": []}, ["body", "name"]),
        (
            {"name": "ok", "rules": [{"path": "a/*/b", "capabilities": ["read"]}]},
            ["body", "rules", 0, "path"],
        ),
        (
            {
                "name": "ok",
                "rules": [
                    {"path": "a", "capabilities": ["read"]},
                    {"path": "a+b/c", "capabilities": ["read"]},
                ],
            },
            ["body", "rules", 1, "path"],
        ),
        (
            {"name": "ok", "rules": [{"path": "a//b", "capabilities": ["read"]}]},
            ["body", "rules", 0, "path"],
        ),
        (
            {"name": "ok", "rules": [{"path": "a/b", "capabilities": ["fly"]}]},
            ["body", "rules", 0, "capabilities", 0],
        ),
        (
            {"name": "ok", "rules": [{"path": "a/b", "capabilities": []}]},
            ["body", "rules", 0, "capabilities"],
        ),
        ({"name": "ok", "rules": [{"path": "a/b"}]}, ["body", "rules", 0, "capabilities"]),
        ({"name": "ok", "rules": [], "extra": 1}, ["body", "extra"]),
        ({"name": "ok", "description": "nul\x00", "rules": []}, ["body", "description"]),
    ],
)
async def test_invalid_roles_are_422(sqlite_api: Api, body: dict[str, Any], loc: list[Any]) -> None:
    admin = await headers_for(sqlite_api, "root", "admin")
    response = await sqlite_api.client.post(ROLES, json=body, headers=admin)
    assert_error(response, 422)
    assert response.json()["detail"][0]["loc"] == loc
    listed = await sqlite_api.client.get(ROLES, headers=admin)
    assert len(listed.json()["items"]) == 4, "nothing was created"


@pytest.mark.parametrize(
    "pattern",
    [
        "*",
        "team-a/*",
        "team-a/app-*",
        "users/{username}/*",
        "apps/+/config",
        "+",
        "a/b.c_d-e",
        "x/{username}-notes",
        "exact/path",
    ],
)
def test_valid_patterns(pattern: str) -> None:
    assert pattern_problem(pattern) is None


@pytest.mark.parametrize(
    ("pattern", "why"),
    [
        ("", "empty"),
        ("/team/*", "empty segment"),
        ("team/", "empty segment"),
        ("a/*/b", "only allowed at the very end"),
        ("a**", "only allowed at the very end"),
        ("a+/b", "whole segment"),
        ("a/../b", "not valid"),
        ("a/./b", "not valid"),
        ("a/{user}/b", "not valid"),
        ("a/b c", "not valid"),
        ("a/\x00", "not valid"),
        ("a/é*", "characters outside"),
        ("/".join(["s"] * 17), "at most 16 segments"),
        ("s" * 513, "at most 512 characters"),
    ],
)
def test_invalid_patterns(pattern: str, why: str) -> None:
    problem = pattern_problem(pattern)
    assert problem is not None and why in problem, problem
