"""Issue 20, acceptance 3: /v1/ and /api/v1/ are two doors to the same secrets, sessions,
roles and audit log (a real TLS server process, hvac as the Vault client)."""

from __future__ import annotations

import json
import secrets
import time
from typing import Any

import hvac
import pytest

from tests.support import TEST_PASSWORD
from tests.vault.conftest import Node

pytestmark = pytest.mark.slow


def _audit_records(node: Node) -> list[dict[str, Any]]:
    lines = (node.server.data_dir / "audit.log").read_text().splitlines()
    return [json.loads(line) for line in lines if line.strip()]


def _wait_for_record(node: Node, match: Any) -> dict[str, Any]:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        found = [r for r in _audit_records(node) if match(r)]
        if found:
            return found[-1]
        time.sleep(0.1)
    raise AssertionError("no matching audit record")


def test_written_through_v1_reads_through_native_and_back(node: Node) -> None:
    name, native_token = node.user()
    client = node.hvac()
    client.auth.userpass.login(name, TEST_PASSWORD)
    path = f"users/{name}/interop-{secrets.token_hex(3)}"
    client.secrets.kv.v2.create_or_update_secret(path=path, secret={"db": "one"})
    read = node.native("GET", f"/secrets/by-path/{path}", native_token)
    assert read.status_code == 200, read.text
    assert read.json()["value"] == {"db": "one"} and read.json()["version"] == 1
    # The reverse: a native update is the next version seen through /v1/.
    updated = node.native(
        "PUT", f"/secrets/{read.json()['id']}", native_token, json={"value": {"db": "two"}}
    )
    assert updated.status_code == 200, updated.text
    seen = client.secrets.kv.v2.read_secret_version(path=path, raise_on_deleted_version=True)
    assert seen["data"]["data"] == {"db": "two"} and seen["data"]["metadata"]["version"] == 2
    # A secret created natively (string value) reads through /v1/ too.
    other = f"users/{name}/native-{secrets.token_hex(3)}"
    created = node.native(
        "POST", "/secrets/create", native_token, json={"path": other, "value": "plain"}
    )
    assert created.status_code == 200, created.text
    plain = client.secrets.kv.v2.read_secret_version(path=other, raise_on_deleted_version=True)
    assert plain["data"]["data"] == {"value": "plain"}
    # The /v1/ token is a strongroom session: the native API accepts it.
    me = node.native("GET", "/users/me", client.token)
    assert me.status_code == 200 and me.json()["username"] == name


def test_v1_requests_are_audited_like_native_ones(node: Node) -> None:
    name, _ = node.user()
    client = node.hvac()
    client.auth.userpass.login(name, TEST_PASSWORD)
    path = f"users/{name}/audited-{secrets.token_hex(3)}"
    client.secrets.kv.v2.create_or_update_secret(path=path, secret={"pin": "s3cr3t-v4lue"})
    client.secrets.kv.v2.read_secret_version(path=path, raise_on_deleted_version=True)
    record = _wait_for_record(
        node,
        lambda r: r.get("path") == f"/v1/secret/data/{path}" and r.get("method") == "GET",
    )
    assert record["principal"]["user"] == name
    assert record["outcome"] == "success" and record["status"] == 200
    assert record["secret_path"] == path and record["secret_id"]
    assert record["route"] == "/v1/{mount}/{rest:path}"
    # A bad token: a failed authentication with the token's HMAC, never the token.
    bad = "sra_" + secrets.token_urlsafe(32)
    with pytest.raises(hvac.exceptions.Forbidden):
        node.hvac(bad).secrets.kv.v2.read_secret_version(path=path, raise_on_deleted_version=True)
    failed = _wait_for_record(
        node, lambda r: r.get("path") == f"/v1/secret/data/{path}" and r.get("status") == 403
    )
    assert failed["outcome"] == "auth_failed" and failed["token_hmac"]
    log = (node.server.data_dir / "audit.log").read_text()
    assert "s3cr3t-v4lue" not in log and client.token not in log and bad not in log


def test_roles_apply_identically(node: Node) -> None:
    role = "reader" + secrets.token_hex(3)
    prefix = f"team-{secrets.token_hex(3)}"
    created = node.native(
        "POST",
        "/roles",
        node.admin_token,
        json={
            "name": role,
            "description": "reads the team's secrets",
            "rules": [{"path": f"{prefix}/*", "capabilities": ["read", "list"]}],
        },
    )
    assert created.status_code == 200, created.text
    admin = node.hvac(node.admin_token)
    admin.secrets.kv.v2.create_or_update_secret(path=f"{prefix}/db", secret={"p": "1"})
    _, native_token = node.user(role)
    client = node.hvac(native_token)  # the same session through both doors
    # read: granted on both.
    assert node.native("GET", f"/secrets/by-path/{prefix}/db", native_token).status_code == 200
    assert client.secrets.kv.v2.read_secret_version(
        path=f"{prefix}/db", raise_on_deleted_version=True
    )["data"]["data"] == {"p": "1"}
    # update: refused on both.
    secret_id = node.native("GET", f"/secrets/by-path/{prefix}/db", native_token).json()["id"]
    refused = node.native("PUT", f"/secrets/{secret_id}", native_token, json={"value": "x"})
    assert refused.status_code == 403
    with pytest.raises(hvac.exceptions.Forbidden):
        client.secrets.kv.v2.create_or_update_secret(path=f"{prefix}/db", secret={"p": "2"})
    # outside the rule: refused on both.
    assert node.native("GET", "/secrets/by-path/elsewhere/db", native_token).status_code == 403
    with pytest.raises(hvac.exceptions.Forbidden):
        client.secrets.kv.v2.read_secret_version(path="elsewhere/db", raise_on_deleted_version=True)
    caps = client.sys.get_capabilities(paths=[f"secret/data/{prefix}/db"], accessor=None)
    assert sorted(caps["data"]["capabilities"]) == ["list", "read"]


def test_unknown_v1_path_is_vaults_404(node: Node) -> None:
    with node.http() as http:
        response = http.get("/v1/no-such-engine/thing", headers={"X-Vault-Token": node.admin_token})
        assert response.status_code == 404 and response.json() == {"errors": []}
        listed = http.request(
            "LIST", "/v1/secret/metadata/nothing-here", headers={"X-Vault-Token": node.admin_token}
        )
        assert listed.status_code == 404 and listed.json() == {"errors": []}
        no_token = http.get("/v1/secret/data/x")
        assert no_token.status_code == 403 and no_token.json() == {"errors": ["permission denied"]}
