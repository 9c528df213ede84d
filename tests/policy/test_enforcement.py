"""Path rules decide every secret route: own space, read-only roles, deny, listing, auditors."""

from __future__ import annotations

from typing import Any

from tests.secrets.conftest import BASE, assert_error, create, headers_for, read
from tests.support import Api

ROLES = "/api/v1/roles"


async def _role(api: Api, admin: dict[str, str], name: str, rules: list[dict[str, Any]]) -> None:
    response = await api.client.post(
        ROLES, json={"name": name, "description": "test", "rules": rules}, headers=admin
    )
    assert response.status_code == 200, response.text


async def test_a_user_has_its_own_space_and_nothing_else(api: Api) -> None:
    admin = await headers_for(api, "root", "admin")
    alice = await headers_for(api, "alice", "user")
    bob = await headers_for(api, "bob", "user")
    own = await create(api, alice, "users/alice/db", "alice-secret")
    assert (await read(api, alice, own["id"])).json()["value"] == "alice-secret"
    updated = await api.client.put(f"{BASE}/{own['id']}", json={"value": "v2"}, headers=alice)
    assert updated.status_code == 200

    bobs = await create(api, bob, "users/bob/db", "bob-secret")
    teams = await create(api, admin, "team-a/db", "team-secret")
    for secret in (bobs, teams):
        # A secret outside every rule of the caller's role answers like an unknown id.
        response = await read(api, alice, secret["id"])
        assert_error(response, 404, "not_found")
        assert "bob-secret" not in response.text and "team-secret" not in response.text
        for method, suffix, body in (
            ("PUT", "", {"value": "x"}),
            ("DELETE", "", None),
            ("POST", "/undelete", None),
            ("POST", "/destroy", None),
            ("GET", "/versions", None),
        ):
            denied = await api.client.request(
                method, f"{BASE}/{secret['id']}{suffix}", json=body, headers=alice
            )
            assert_error(denied, 404, "not_found")
    by_path = await api.client.get(f"{BASE}/by-path/users/bob/db", headers=alice)
    assert_error(by_path, 403)
    # Denied before the lookup: a path that does not exist answers the same.
    nothing = await api.client.get(f"{BASE}/by-path/users/bob/nothing", headers=alice)
    assert_error(nothing, 403)
    for path in ("users/bob/mine", "team-a/new", "users/alice", "users/alicex/db"):
        response = await api.client.post(
            f"{BASE}/create", json={"path": path, "value": "x"}, headers=alice
        )
        assert_error(response, 403)
    assert (await read(api, bob, bobs["id"])).json()["value"] == "bob-secret"


async def test_read_only_role_reads_but_cannot_write(api: Api) -> None:
    admin = await headers_for(api, "root", "admin")
    await _role(
        api, admin, "team-a-reader", [{"path": "team-a/*", "capabilities": ["read", "list"]}]
    )
    reader = await headers_for(api, "carol", "team-a-reader")
    secret = await create(api, admin, "team-a/db", "team-value")
    other = await create(api, admin, "team-b/db", "other-value")
    assert (await read(api, reader, secret["id"])).json()["value"] == "team-value"
    by_path = await api.client.get(f"{BASE}/by-path/team-a/db", headers=reader)
    assert by_path.json()["value"] == "team-value"
    assert_error(await read(api, reader, other["id"]), 404, "not_found")
    create_denied = await api.client.post(
        f"{BASE}/create", json={"path": "team-a/new", "value": "x"}, headers=reader
    )
    assert_error(create_denied, 403)
    update_denied = await api.client.put(
        f"{BASE}/{secret['id']}", json={"value": "x"}, headers=reader
    )
    assert_error(update_denied, 403)
    assert_error(await api.client.delete(f"{BASE}/{secret['id']}", headers=reader), 403)
    unchanged = (await read(api, admin, secret["id"])).json()
    assert (unchanged["version"], unchanged["value"]) == (1, "team-value")


async def test_deny_beats_a_broader_grant(api: Api) -> None:
    admin = await headers_for(api, "root", "admin")
    await _role(
        api,
        admin,
        "team-a-but-prod",
        [
            {"path": "team-a/*", "capabilities": ["create", "read", "update", "list"]},
            {"path": "team-a/prod/*", "capabilities": ["deny"]},
        ],
    )
    caller = await headers_for(api, "dave", "team-a-but-prod")
    dev = await create(api, admin, "team-a/dev/db", "dev-value")
    prod = await create(api, admin, "team-a/prod/db", "prod-value")
    assert (await read(api, caller, dev["id"])).status_code == 200
    assert_error(await read(api, caller, prod["id"]), 404, "not_found")
    denied = await api.client.post(
        f"{BASE}/create", json={"path": "team-a/prod/new", "value": "x"}, headers=caller
    )
    assert_error(denied, 403)
    listed = await api.client.get(BASE, params={"prefix": "team-a/"}, headers=caller)
    assert [item["path"] for item in listed.json()["items"]] == ["team-a/dev/db"]


async def test_listing_shows_only_permitted_paths(api: Api) -> None:
    admin = await headers_for(api, "root", "admin")
    alice = await headers_for(api, "alice", "user")
    await _role(
        api,
        admin,
        "apps-config",
        [
            {"path": "apps/+/config", "capabilities": ["list"]},
            {"path": "shared/*", "capabilities": ["read"]},
        ],
    )
    lister = await headers_for(api, "erin", "apps-config")
    for path in (
        "apps/one/config",
        "apps/two/config",
        "apps/two/secret",
        "apps/one/config/deeper",
        "shared/x",
        "users/alice/a",
        "users/alice/b",
        "users/bob/a",
    ):
        await create(api, admin, path)

    async def listed(headers: dict[str, str], **params: Any) -> list[str]:
        paths: list[str] = []
        cursor = None
        while True:
            query = {**params, "limit": 1, **({"cursor": cursor} if cursor else {})}
            response = await api.client.get(BASE, params=query, headers=headers)
            assert response.status_code == 200, response.text
            paths += [item["path"] for item in response.json()["items"]]
            cursor = response.json()["next_cursor"]
            if cursor is None:
                return paths

    assert await listed(alice) == ["users/alice/a", "users/alice/b"]
    assert await listed(alice, prefix="users/") == ["users/alice/a", "users/alice/b"]
    assert await listed(alice, prefix="users/bob/") == []
    assert await listed(lister) == ["apps/one/config", "apps/two/config"]
    no_role = await headers_for(api, "frank", "no_role")
    assert await listed(no_role) == []


async def test_an_auditor_lists_but_never_sees_a_value(api: Api) -> None:
    admin = await headers_for(api, "root", "admin")
    auditor = await headers_for(api, "audrey", "auditor")
    secret = await create(api, admin, "team-a/db", "AUDITOR-MUST-NOT-SEE")
    listed = await api.client.get(BASE, headers=auditor)
    assert listed.status_code == 200
    assert [item["path"] for item in listed.json()["items"]] == ["team-a/db"]
    assert "AUDITOR-MUST-NOT-SEE" not in listed.text
    for response in (
        await read(api, auditor, secret["id"]),
        await read(api, auditor, secret["id"], version=1),
        await api.client.get(f"{BASE}/by-path/team-a/db", headers=auditor),
    ):
        assert_error(response, 403)
        assert "AUDITOR-MUST-NOT-SEE" not in response.text
    denied = await api.client.post(
        f"{BASE}/create", json={"path": "audit/x", "value": "x"}, headers=auditor
    )
    assert_error(denied, 403)


async def test_a_role_change_applies_to_the_next_request(api: Api) -> None:
    admin = await headers_for(api, "root", "admin")
    await _role(api, admin, "flip", [{"path": "flip/*", "capabilities": ["read"]}])
    caller = await headers_for(api, "gina", "flip")
    secret = await create(api, admin, "flip/db", "v")
    assert (await read(api, caller, secret["id"])).status_code == 200
    response = await api.client.put(
        f"{ROLES}/flip",
        json={
            "description": "now nothing",
            "rules": [{"path": "other/*", "capabilities": ["read"]}],
        },
        headers=admin,
    )
    assert response.status_code == 200, response.text
    assert_error(await read(api, caller, secret["id"]), 404, "not_found")


async def test_unauthenticated_secret_routes_are_401(api: Api) -> None:
    for method, url in (
        ("GET", BASE),
        ("POST", f"{BASE}/create"),
        ("GET", f"{BASE}/by-path/a/b"),
        ("GET", f"{BASE}/00000000-0000-4000-8000-000000000000"),
    ):
        response = await api.client.request(method, url, json={"path": "a", "value": "x"})
        assert_error(response, 401)
