"""The module library (issue 18, acceptance 1): list, enable, disable, policies, role rules."""

from __future__ import annotations

import base64
import json
from collections.abc import Awaitable, Callable
from typing import Any

from tests.modules.conftest import TRANSIT, user_with
from tests.support import Api, make_user_session

Call = Callable[..., Awaitable[Any]]
MODULES = "/api/v1/modules"


def _by_id(listing: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {item["id"]: item for item in listing["items"]}


async def test_round_trip_list_enable_use_disable_enable_keeps_the_data(api: Api) -> None:
    """On SQLite and PostgreSQL."""
    alice = await user_with(api, "alice")
    for path in (MODULES, f"{MODULES}/"):
        response = await api.client.get(path, headers=alice)
        assert response.status_code == 200, response.text
        listed = _by_id(response.json())
        assert set(listed) == {"kv", "transit", "totp"}
    assert listed["kv"] | {"description": ""} == {
        "id": "kv", "name": "Key/value secrets", "description": "", "version": "1.0.0",
        "available": True, "enabled": True, "allowed": True, "always_enabled": True,
    }  # fmt: skip
    for module in ("transit", "totp"):  # available to `user`, enabled by nobody
        assert (listed[module]["available"], listed[module]["allowed"]) == (True, True)
        assert listed[module]["enabled"] is False
        assert listed[module]["description"]
    enabled = await api.client.post(f"{MODULES}/transit/enable", headers=alice)
    assert enabled.status_code == 200 and enabled.json()["enabled"] is True
    again = await api.client.post(f"{MODULES}/transit/enable", headers=alice)  # idempotent
    assert again.status_code == 200 and again.json()["enabled"] is True
    create = {"name": "k", "type": "aes256-gcm"}
    assert (await api.client.post(f"{TRANSIT}/keys", json=create, headers=alice)).status_code == 200
    plaintext = {"plaintext": base64.b64encode(b"kept").decode()}
    sealed = (await api.client.post(f"{TRANSIT}/encrypt/k", json=plaintext, headers=alice)).json()
    disabled = await api.client.post(f"{MODULES}/transit/disable", headers=alice)
    assert disabled.status_code == 200 and disabled.json()["enabled"] is False
    assert (await api.client.post(f"{MODULES}/transit/disable", headers=alice)).status_code == 200
    opening = {"ciphertext": sealed["ciphertext"]}
    refused = await api.client.post(f"{TRANSIT}/decrypt/k", json=opening, headers=alice)
    assert (refused.status_code, refused.json()["code"]) == (403, "module_not_enabled")
    listed = _by_id((await api.client.get(MODULES, headers=alice)).json())
    assert listed["transit"]["enabled"] is False
    await api.client.post(f"{MODULES}/transit/enable", headers=alice)
    opened = await api.client.post(f"{TRANSIT}/decrypt/k", json=opening, headers=alice)
    assert opened.status_code == 200
    assert base64.b64decode(opened.json()["plaintext"]) == b"kept"


async def test_unknown_module_kv_and_unavailable_modules(sqlite_api: Api, call: Call) -> None:
    api = sqlite_api
    alice = await user_with(api, "alice")
    for action in ("enable", "disable"):
        status, body = await call("POST", f"{MODULES}/nope/{action}", alice)
        assert (status, body["code"]) == (404, "module_not_found")
    status, body = await call("POST", f"{MODULES}/kv/disable", alice)
    assert (status, body["code"]) == (409, "module_always_enabled")
    assert (await call("POST", f"{MODULES}/kv/enable", alice))[0] == 200
    admin = await user_with(api, "root", role="admin")
    status, body = await call("POST", "/api/v1/sys/modules/kv", admin, json={"available": False})
    assert (status, body["code"]) == (409, "module_always_enabled")
    status, body = await call("POST", "/api/v1/sys/modules/nope", admin, json={"available": False})
    assert (status, body["code"]) == (404, "module_not_found")
    # Alice enables totp; then the operator withdraws it: her routes and a new enable refuse.
    assert (await call("POST", f"{MODULES}/totp/enable", alice))[0] == 200
    status, body = await call("POST", "/api/v1/sys/modules/totp", admin, json={"available": False})
    assert (status, body["available"], body["enabled_users"]) == (200, False, 1)
    status, body = await call("POST", f"{MODULES}/totp/enable", alice)
    assert (status, body["code"]) == (403, "module_unavailable")
    status, body = await call("GET", "/api/v1/modules/totp/keys", alice)
    assert (status, body["code"]) == (403, "module_unavailable")
    listed = _by_id((await call("GET", MODULES, alice))[1])
    assert (listed["totp"]["available"], listed["totp"]["enabled"]) == (False, True)
    await call("POST", "/api/v1/sys/modules/totp", admin, json={"available": True})
    assert (await call("GET", "/api/v1/modules/totp/keys", alice))[0] == 200


async def test_roles_and_role_rules_decide_who_may_use_a_module(
    sqlite_api: Api, call: Call
) -> None:
    api = sqlite_api
    admin = await user_with(api, "root", role="admin")
    # Only admins may use transit from now on; `user` keeps totp.
    status, view = await call("POST", "/api/v1/sys/modules/transit", admin, json={"roles": []})
    assert (status, view["roles"], view["available"]) == (200, [], True)
    alice = await user_with(api, "alice")
    status, body = await call("POST", f"{MODULES}/transit/enable", alice)
    assert (status, body["code"]) == (403, "module_not_allowed")
    assert _by_id((await call("GET", MODULES, alice))[1])["transit"]["allowed"] is False
    assert (await call("POST", f"{MODULES}/transit/enable", admin))[0] == 200  # admins always
    # A custom role: its rules grant transit, deny totp, and deny one transit key.
    role = {
        "name": "ops",
        "rules": [
            {"path": "module:transit", "capabilities": ["read"]},
            {"path": "module:transit/root-*", "capabilities": ["deny"]},
            {"path": "module:totp", "capabilities": ["deny"]},
        ],
    }
    assert (await call("POST", "/api/v1/roles", admin, json=role))[0] == 200
    bad = {"name": "bad", "rules": [{"path": "module:", "capabilities": ["deny"]}]}
    assert (await call("POST", "/api/v1/roles", admin, json=bad))[0] == 422
    status, _ = await call(
        "POST", "/api/v1/sys/modules/totp", admin, json={"roles": ["user", "ops"]}
    )
    assert status == 200
    ops = await user_with(api, "olga", "transit", role="ops")
    status, body = await call("POST", f"{MODULES}/totp/enable", ops)
    assert (status, body["code"]) == (403, "module_not_allowed")  # deny wins over the roles list
    assert (await call("POST", f"{TRANSIT}/keys", ops, json={"name": "app"}))[0] == 200
    status, body = await call("POST", f"{TRANSIT}/keys", ops, json={"name": "root-ca"})
    assert (status, body["code"]) == (403, "module_not_allowed")
    # A module rule never reaches secrets: olga has no secret rights at all.
    status, _ = await call(
        "POST", "/api/v1/secrets/create", ops, json={"path": "module:transit", "value": "x"}
    )
    assert status == 422
    status, _ = await call(
        "POST", "/api/v1/secrets/create", ops, json={"path": "a/b", "value": "x"}
    )
    assert status == 403
    # A role named by a module policy cannot be deleted.
    status, body = await call("DELETE", "/api/v1/roles/ops", admin)
    assert (status, body["code"]) == (409, "role_in_use")


async def test_policies_are_audited_in_the_settings_history_and_listed(
    sqlite_api: Api, call: Call
) -> None:
    api = sqlite_api
    admin = await user_with(api, "root", role="admin")
    auditor = await user_with(api, "audrey", role="auditor")
    status, _ = await call(
        "POST", "/api/v1/sys/modules/transit", admin, json={"available": False, "roles": ["admin"]}
    )
    assert status == 200
    status, history = await call("GET", "/api/v1/sys/settings/history?key=modules.transit", admin)
    assert status == 200
    [entry] = history["items"]
    assert entry["old_value"] == {"available": True, "roles": ["admin", "user"]}
    assert entry["new_value"] == {"available": False, "roles": ["admin"]}
    assert entry["changed_by"] == "root"
    status, listed = await call("GET", "/api/v1/sys/modules", auditor)  # auditors read
    assert status == 200
    policies = {item["id"]: (item["available"], item["roles"]) for item in listed["items"]}
    assert policies == {
        "kv": (True, []),
        "transit": (False, ["admin"]),
        "totp": (True, ["admin", "user"]),
    }
    transit = _by_id(listed)["transit"]
    assert (transit["updated_by"], transit["enabled_users"]) == ("root", 0)
    status, _ = await call("POST", "/api/v1/sys/modules/transit", auditor, json={"available": True})
    assert status == 403
    status, _ = await call("POST", "/api/v1/sys/modules/totp", admin, json={"roles": ["nobody"]})
    assert status == 422
    records = [
        json.loads(line)
        for line in (api.services.config.data_dir / "audit.log").read_text().splitlines()
    ]
    changes = [
        r
        for r in records
        if r.get("route") == "/api/v1/sys/modules/{module_id}" and r["type"] == "request"
    ]
    assert changes[0]["principal"]["user"] == "root" and changes[0]["status"] == 200
    assert changes[0]["details"]["settings"] == [
        {
            "key": "modules.transit",
            "old": {"available": True, "roles": ["admin", "user"]},
            "new": {"available": False, "roles": ["admin"]},
        }
    ]


async def test_an_admin_purges_a_users_module_data(sqlite_api: Api, call: Call) -> None:
    api = sqlite_api
    admin = await user_with(api, "root", role="admin")
    alice = await user_with(api, "alice", "transit", "totp")
    await call("POST", f"{TRANSIT}/keys", alice, json={"name": "k1"})
    await call("POST", f"{TRANSIT}/keys", alice, json={"name": "k2", "type": "ed25519"})
    purge = {"username": "Alice"}
    status, body = await call("POST", "/api/v1/sys/modules/transit/purge", alice, json=purge)
    assert status == 403  # admins only
    status, body = await call("POST", "/api/v1/sys/modules/transit/purge", admin, json=purge)
    assert (status, body) == (200, {"module_id": "transit", "username": "alice", "keys_deleted": 2})
    assert _by_id((await call("GET", MODULES, alice))[1])["transit"]["enabled"] is False
    await call("POST", f"{MODULES}/transit/enable", alice)
    assert (await call("GET", f"{TRANSIT}/keys", alice))[1]["items"] == []
    assert (await call("GET", "/api/v1/modules/totp/keys", alice))[0] == 200  # totp untouched
    status, body = await call("POST", "/api/v1/sys/modules/kv/purge", admin, json=purge)
    assert status == 409
    status, body = await call(
        "POST", "/api/v1/sys/modules/transit/purge", admin, json={"username": "zed"}
    )
    assert status == 404


async def test_deleting_a_user_deletes_their_module_data(sqlite_api: Api, call: Call) -> None:
    """A recreated account of the same name starts with nothing (SECURITY.md 33)."""
    api = sqlite_api
    admin = await user_with(api, "root", role="admin")
    alice = await user_with(api, "alice", "transit")
    await call("POST", f"{TRANSIT}/keys", alice, json={"name": "k"})
    assert (await call("POST", "/api/v1/users/alice/delete", admin))[0] == 200
    async with api.services.db.connect() as conn:
        from sqlalchemy import text

        for table in ("transit_keys", "transit_key_versions", "module_enablements"):
            count = (await conn.execute(text(f"SELECT count(*) FROM {table}"))).scalar_one()
            assert count == 0, table
    token, _ = await make_user_session(api.services, "alice", "user")
    again = api.auth(token)
    assert _by_id((await call("GET", MODULES, again))[1])["transit"]["enabled"] is False
