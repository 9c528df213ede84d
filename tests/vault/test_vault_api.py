"""The Vault-compatible API in process (ASGI): error shapes, seal, token limits and bindings,
AppRole storage. The real clients' tests are test_hvac.py and test_bao_cli.py."""

from __future__ import annotations

import sqlite3
from typing import Any

from tests.support import Api, admin_password, make_user_session


async def _admin_token(api: Api) -> str:
    password = admin_password(api.services.config.data_dir)
    response = await api.client.post("/v1/auth/userpass/login/admin", json={"password": password})
    assert response.status_code == 200, response.text
    token: str = response.json()["auth"]["client_token"]
    return token


def _vault(token: str) -> dict[str, str]:
    return {"X-Vault-Token": token}


async def test_error_shapes(sqlite_api: Api) -> None:
    client = sqlite_api.client
    token = await _admin_token(sqlite_api)
    bad_json = await client.post("/v1/secret/data/a", content=b"{not json", headers=_vault(token))
    assert bad_json.status_code == 400 and bad_json.json()["errors"]
    no_data = await client.post("/v1/secret/data/a", json={"x": 1}, headers=_vault(token))
    assert no_data.status_code == 400 and no_data.json() == {"errors": ["no data provided"]}
    wrong_method = await client.delete("/v1/sys/seal-status", headers=_vault(token))
    assert wrong_method.status_code == 405 and "errors" in wrong_method.json()
    missing = await client.get("/v1/secret/data/nothing/here", headers=_vault(token))
    assert missing.status_code == 404 and missing.json() == {"errors": []}
    created = await client.post(
        "/v1/secret/data/a", json={"data": {"k": "v"}, "options": {"cas": 0}}, headers=_vault(token)
    )
    assert created.status_code == 200 and created.json()["data"]["version"] == 1
    again = await client.post(
        "/v1/secret/data/a", json={"data": {"k": "v"}, "options": {"cas": 0}}, headers=_vault(token)
    )
    assert again.status_code == 400 and "check-and-set" in again.json()["errors"][0]


async def test_sealed_server_answers_503_in_vaults_shape(sqlite_api: Api) -> None:
    client = sqlite_api.client
    token = await _admin_token(sqlite_api)
    sqlite_api.services.barrier.seal()
    health = await client.get("/v1/sys/health")
    assert health.status_code == 503 and health.json()["sealed"] is True
    assert (await client.get("/v1/sys/health?sealedcode=200")).status_code == 200
    assert (await client.get("/v1/sys/seal-status")).json()["sealed"] is True
    read = await client.get("/v1/secret/data/a", headers=_vault(token))
    assert read.status_code == 503 and read.json() == {"errors": ["Vault is sealed"]}
    versioned = await client.get("/v1/secret/data/a?version=1", headers=_vault(token))
    assert versioned.status_code == 503 and versioned.json() == {"errors": ["Vault is sealed"]}


async def _child(api: Api, token: str, **body: Any) -> dict[str, Any]:
    response = await api.client.post("/v1/auth/token/create", json=body, headers=_vault(token))
    assert response.status_code == 200, response.text
    auth: dict[str, Any] = response.json()["auth"]
    return auth


async def test_num_uses_and_bound_cidrs(sqlite_api: Api) -> None:
    client = sqlite_api.client
    admin = await _admin_token(sqlite_api)
    limited = await _child(sqlite_api, admin, num_uses=2)
    for _ in range(2):
        ok = await client.get("/v1/auth/token/lookup-self", headers=_vault(limited["client_token"]))
        assert ok.status_code == 200
    used_up = await client.get(
        "/v1/auth/token/lookup-self", headers=_vault(limited["client_token"])
    )
    assert used_up.status_code == 403
    # The test client's address is 203.0.113.7.
    bound = await _child(sqlite_api, admin, bound_cidrs=["203.0.113.7/32"])
    here = await client.get("/v1/auth/token/lookup-self", headers=_vault(bound["client_token"]))
    assert here.status_code == 200 and here.json()["data"]["bound_cidrs"] == ["203.0.113.7"]
    async with sqlite_api.client_from("198.51.100.9") as elsewhere:
        refused = await elsewhere.get(
            "/v1/auth/token/lookup-self", headers=_vault(bound["client_token"])
        )
        assert refused.status_code == 403
    wide = await client.post(
        "/v1/auth/token/create", json={"bound_cidrs": ["10.0.0.0/8"]}, headers=_vault(admin)
    )
    assert wide.status_code == 400


async def test_approle_secret_ids_are_stored_as_hmacs_and_bound(sqlite_api: Api) -> None:
    client = sqlite_api.client
    admin = _vault(await _admin_token(sqlite_api))
    role = {"token_policies": ["user"], "secret_id_bound_cidrs": ["203.0.113.0/24"]}
    assert (
        await client.post("/v1/auth/approle/role/web", json=role, headers=admin)
    ).status_code == 204
    role_id = (await client.get("/v1/auth/approle/role/web/role-id", headers=admin)).json()["data"][
        "role_id"
    ]
    generated = await client.post("/v1/auth/approle/role/web/secret-id", headers=admin)
    secret_id = generated.json()["data"]["secret_id"]
    assert len(bytes.fromhex(secret_id)) == 32  # 256 random bits
    login = {"role_id": role_id, "secret_id": secret_id}
    ok = await client.post("/v1/auth/approle/login", json=login)
    assert ok.status_code == 200 and ok.json()["auth"]["policies"] == ["user"]
    async with sqlite_api.client_from("198.51.100.9") as elsewhere:
        refused = await elsewhere.post("/v1/auth/approle/login", json=login)
        assert refused.status_code == 400
        assert refused.json() == {"errors": ["invalid role or secret ID"]}
    # A user (not an admin) cannot manage AppRoles.
    user = await _child(sqlite_api, admin["X-Vault-Token"], policies=["user"])
    denied = await client.post(
        "/v1/auth/approle/role/web/secret-id", headers=_vault(user["client_token"])
    )
    assert denied.status_code == 403
    database = sqlite_api.services.config.data_dir / "strongroom.db"
    dump = "\n".join(sqlite3.connect(database).iterdump())
    assert secret_id not in dump
    for path in database.parent.glob("strongroom.db*"):
        assert secret_id.encode() not in path.read_bytes()


async def test_wrapping_token_and_renewal_are_not_stored_in_clear(sqlite_api: Api) -> None:
    client = sqlite_api.client
    admin = _vault(await _admin_token(sqlite_api))
    await client.post("/v1/secret/data/w", json={"data": {"k": "wrapped-value-42"}}, headers=admin)
    wrapped = await client.get("/v1/secret/data/w", headers={**admin, "X-Vault-Wrap-TTL": "1m"})
    info = wrapped.json()["wrap_info"]
    assert wrapped.status_code == 200 and info["ttl"] == 60 and wrapped.json()["data"] is None
    renewed = await client.post("/v1/auth/token/renew-self", headers=admin)
    assert renewed.status_code == 200
    assert renewed.json()["auth"]["client_token"] == admin["X-Vault-Token"]
    database = sqlite_api.services.config.data_dir / "strongroom.db"
    for path in database.parent.glob("strongroom.db*"):
        raw = path.read_bytes()
        assert info["token"].encode() not in raw and b"wrapped-value-42" not in raw
    looked = await client.post("/v1/sys/wrapping/lookup", json={"token": info["token"]})
    assert looked.status_code == 200 and looked.json()["data"]["creation_ttl"] == 60
    first = await client.post("/v1/sys/wrapping/unwrap", headers=_vault(info["token"]))
    assert first.status_code == 200 and first.json()["data"]["data"] == {"k": "wrapped-value-42"}
    second = await client.post("/v1/sys/wrapping/unwrap", headers=_vault(info["token"]))
    assert second.status_code == 400


POLICY = """
# a team's read-only access, as Vault writes it
path "secret/data/team-a/*" {
  capabilities = ["read", "list"]
}
path "secret/metadata/team-a/*" {
  capabilities = ["list"]
}
path "auth/token/lookup-self" {
  capabilities = ["read"]
}
"""


async def test_vault_policies_map_onto_roles(sqlite_api: Api) -> None:
    client = sqlite_api.client
    admin_token = await _admin_token(sqlite_api)
    admin = _vault(admin_token)
    written = await client.put(
        "/v1/sys/policies/acl/team-a-read", json={"policy": POLICY}, headers=admin
    )
    assert written.status_code == 204, written.text
    role = await client.get("/api/v1/roles/team-a-read", headers=sqlite_api.auth(admin_token))
    assert role.json()["rules"] == [{"path": "team-a/*", "capabilities": ["list", "read"]}]
    read_back = await client.get("/v1/sys/policies/acl/team-a-read", headers=admin)
    assert 'path "secret/data/team-a/*"' in read_back.json()["data"]["policy"]
    await client.post("/v1/secret/data/team-a/db", json={"data": {"p": "1"}}, headers=admin)
    await sqlite_api.create_user(admin_token, "teamreader", role="team-a-read")
    login = await client.post(
        "/v1/auth/userpass/login/teamreader", json={"password": "correct horse battery staple"}
    )
    reader = _vault(login.json()["auth"]["client_token"])
    assert (await client.get("/v1/secret/data/team-a/db", headers=reader)).status_code == 200
    refused = await client.post(
        "/v1/secret/data/team-a/db", json={"data": {"p": "2"}}, headers=reader
    )
    assert refused.status_code == 403
    assert (await client.get("/v1/secret/data/team-b/db", headers=reader)).status_code == 403
    # What does not map is refused, and nothing is changed.
    for policy in (
        'path "sys/mounts/*" { capabilities = ["create"] }',
        'path "secret/data/x/*" { capabilities = ["sudo"] }',
        'path "secret/data/x/*" { capabilities = ["read"]\n allowed_parameters = {} }',
    ):
        bad = await client.put(
            "/v1/sys/policies/acl/team-a-read", json={"policy": policy}, headers=admin
        )
        assert bad.status_code == 400 and bad.json()["errors"], policy
    role = await client.get("/api/v1/roles/team-a-read", headers=sqlite_api.auth(admin_token))
    assert role.json()["rules"] == [{"path": "team-a/*", "capabilities": ["list", "read"]}]
    keys = (await client.request("LIST", "/v1/sys/policies/acl", headers=admin)).json()
    assert "team-a-read" in keys["data"]["keys"]


async def test_renew_self_keeps_the_token_and_native_tokens_are_not_renewed_here(
    sqlite_api: Api,
) -> None:
    client = sqlite_api.client
    token = await _admin_token(sqlite_api)
    for _ in range(3):
        renewed = await client.post("/v1/auth/token/renew-self", headers=_vault(token))
        assert renewed.status_code == 200, renewed.text
        assert renewed.json()["auth"]["client_token"] == token
    assert (
        await client.get("/v1/auth/token/lookup-self", headers=_vault(token))
    ).status_code == 200
    native = await sqlite_api.login("admin", admin_password(sqlite_api.services.config.data_dir))
    refused = await client.post("/v1/auth/token/renew-self", headers=_vault(native["access_token"]))
    assert refused.status_code == 400 and "/api/v1/auth/token/renew" in refused.json()["errors"][0]
    # The native token and its refresh token still work.
    renewed_natively = await client.post(
        "/api/v1/auth/token/renew", json={"refresh_token": native["refresh_token"]}
    )
    assert renewed_natively.status_code == 200


async def test_the_fast_read_answers_like_the_dispatcher(make_config: Any, open_api: Any) -> None:
    """The fast lane's KV v2 read (vault/fastlane.py) and the dispatcher's give the same
    answers: a value, a missing path, a bad token, a path the role does not grant."""
    config = make_config("sqlite")
    answers = []
    for fast_lane in (True, False):
        async with open_api(config, fast_lane=fast_lane) as api:
            token = await _admin_token(api)
            same = f"same-{fast_lane}"  # both apps share the data directory
            await api.client.post(
                f"/v1/secret/data/{same}", json={"data": {"k": "v"}}, headers=_vault(token)
            )
            user = await _child(api, token, policies=["user"])
            seen = []
            for path, presented in (
                (same, token),
                ("missing/one", token),
                (same, "sra_" + "B" * 43),
                (same, user["client_token"]),
            ):
                response = await api.client.get(
                    f"/v1/secret/data/{path}", headers=_vault(presented)
                )
                body = response.json()
                body.pop("request_id", None)
                if "data" in body:
                    body["data"]["metadata"].pop("created_time")
                seen.append((response.status_code, body))
            answers.append(seen)
    assert answers[0] == answers[1]
    assert [status for status, _ in answers[0]] == [200, 404, 403, 403]


async def test_a_use_limited_token_cannot_create_an_unlimited_one(sqlite_api: Api) -> None:
    """A token with num_uses spends no use on a child without the limit (review finding)."""
    client = sqlite_api.client
    admin = await _admin_token(sqlite_api)
    user = await _child(sqlite_api, admin, policies=["user"])
    limited = await _child(sqlite_api, user["client_token"], num_uses=1)
    refused = await client.post(
        "/v1/auth/token/create", json={}, headers=_vault(limited["client_token"])
    )
    assert refused.status_code == 403, refused.text
    # An unlimited user token still creates children, bound where the parent is bound.
    bound = await _child(sqlite_api, user["client_token"], bound_cidrs=["203.0.113.7/32"])
    child = await _child(sqlite_api, bound["client_token"])
    async with sqlite_api.client_from("198.51.100.9") as elsewhere:
        away = await elsewhere.get(
            "/v1/auth/token/lookup-self", headers=_vault(child["client_token"])
        )
        assert away.status_code == 403


async def test_a_moved_secret_is_not_read_at_its_old_path(sqlite_api: Api) -> None:
    """The fast lane's path -> id memo follows a move (secrets/move): the old path answers what
    is there now, not the moved secret."""
    client = sqlite_api.client
    admin = await _admin_token(sqlite_api)
    headers = _vault(admin)
    await client.post("/v1/secret/data/moving/a", json={"data": {"k": "one"}}, headers=headers)
    first = await client.get("/v1/secret/data/moving/a", headers=headers)
    assert first.json()["data"]["data"] == {"k": "one"}  # the memo now knows the path
    moved = await client.post(
        "/api/v1/secrets/move",
        json={"source": "moving/a", "destination": "moving/b"},
        headers={"Authorization": f"Bearer {admin}"},
    )
    assert moved.status_code == 200, moved.text
    gone = await client.get("/v1/secret/data/moving/a", headers=headers)
    assert gone.status_code == 404, gone.text
    await client.post("/v1/secret/data/moving/a", json={"data": {"k": "two"}}, headers=headers)
    again = await client.get("/v1/secret/data/moving/a", headers=headers)
    assert again.json()["data"]["data"] == {"k": "two"}


async def test_a_bad_wrap_ttl_header_changes_nothing(sqlite_api: Api) -> None:
    """X-Vault-Wrap-TTL is checked before the write: a 400 leaves no version behind."""
    client = sqlite_api.client
    headers = _vault(await _admin_token(sqlite_api))
    refused = await client.post(
        "/v1/secret/data/wrapped/bad",
        json={"data": {"k": "v"}},
        headers={**headers, "X-Vault-Wrap-TTL": "forever"},
    )
    assert refused.status_code == 400, refused.text
    assert (await client.get("/v1/secret/data/wrapped/bad", headers=headers)).status_code == 404


async def test_a_child_token_does_not_outlive_its_parent(sqlite_api: Api) -> None:
    """A child of `auth/token/create` ends when its parent's session ends at the latest, as a
    Vault child's TTL is capped by its parent's: a token cannot mint itself a longer life.
    Renewing the child cannot take it past that either."""
    client = sqlite_api.client
    parent, _ = await make_user_session(sqlite_api.services, "brief", "user", max_lifetime=120)
    child = await _child(sqlite_api, parent, ttl="1h")
    assert child["lease_duration"] <= 120, child
    headers = _vault(child["client_token"])
    looked = (await client.get("/v1/auth/token/lookup-self", headers=headers)).json()["data"]
    assert looked["explicit_max_ttl"] <= 120, looked
    assert looked["ttl"] <= 120, looked
    renewed = await client.post(
        "/v1/auth/token/renew-self", json={"increment": "2h"}, headers=headers
    )
    assert renewed.status_code == 200, renewed.text
    assert renewed.json()["auth"]["lease_duration"] <= 120, renewed.text
    # A grandchild is capped the same way, through its parent's cap.
    grandchild = await _child(sqlite_api, renewed.json()["auth"]["client_token"], ttl="1h")
    assert grandchild["lease_duration"] <= 120, grandchild
