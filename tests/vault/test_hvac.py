"""Issue 20, acceptance 1: the real hvac client against a real strongroom TLS server."""

from __future__ import annotations

import secrets

import hvac
import pytest

from tests.support import TEST_PASSWORD
from tests.vault.conftest import Node

pytestmark = [
    pytest.mark.slow,
    # hvac's own kv.v2.patch reads without the parameter it then warns about.
    pytest.mark.filterwarnings("ignore:The raise_on_deleted_version:DeprecationWarning"),
]


def _logged_in(node: Node, role: str = "admin") -> hvac.Client:
    if role == "admin":
        return node.hvac(node.admin_token)
    name, _ = node.user(role)
    client = node.hvac()
    client.auth.userpass.login(name, TEST_PASSWORD)
    return client


def _path() -> str:
    return f"hvac/{secrets.token_hex(4)}"


def test_health_and_seal_status(node: Node) -> None:
    client = node.hvac()
    health = client.sys.read_health_status(method="GET")
    assert health["initialized"] is True and health["sealed"] is False
    assert client.sys.is_sealed() is False
    assert client.sys.is_initialized() is True


def test_userpass_login_lookup_self_and_bad_password(node: Node) -> None:
    name, _ = node.user()
    client = node.hvac()
    assert client.is_authenticated() is False
    login = client.auth.userpass.login(name, TEST_PASSWORD)
    assert login["auth"]["client_token"] == client.token
    assert login["auth"]["policies"] == ["user"]
    assert client.is_authenticated() is True
    me = client.auth.token.lookup_self()["data"]
    assert me["meta"]["username"] == name and me["ttl"] > 0
    with pytest.raises(hvac.exceptions.InvalidRequest):
        node.hvac().auth.userpass.login(name, "wrong password")


def test_token_create_renew_revoke(node: Node) -> None:
    parent = _logged_in(node, "user")
    child = parent.auth.token.create(ttl="10m", num_uses=5)["auth"]
    assert child["policies"] == ["user"] and child["lease_duration"] <= 600
    child_client = node.hvac(child["client_token"])
    looked = child_client.auth.token.lookup_self()["data"]
    assert looked["accessor"] == child["accessor"] and looked["num_uses"] == 4
    renewed = child_client.auth.token.renew_self()["auth"]
    assert renewed["client_token"] == child["client_token"]
    assert child_client.is_authenticated()  # the same token works after renewal
    renewed_again = child_client.auth.token.renew_self()["auth"]
    assert renewed_again["accessor"] == child["accessor"]
    # A user token cannot mint an admin token.
    with pytest.raises(hvac.exceptions.Forbidden):
        parent.auth.token.create(policies=["admin"])
    parent.auth.token.revoke(child["client_token"])
    assert child_client.is_authenticated() is False
    other = parent.auth.token.create()["auth"]
    parent.auth.token.revoke_accessor(other["accessor"])
    assert node.hvac(other["client_token"]).is_authenticated() is False
    parent.auth.token.revoke_self()
    assert parent.is_authenticated() is False


def test_kv_v2_versions_list_patch_delete_undelete_destroy_metadata(node: Node) -> None:
    client = _logged_in(node)
    kv = client.secrets.kv.v2
    path = _path()
    assert kv.create_or_update_secret(path=path, secret={"password": "one"})["data"]["version"] == 1
    assert kv.create_or_update_secret(path=path, secret={"password": "two"})["data"]["version"] == 2
    latest = kv.read_secret_version(path=path, raise_on_deleted_version=True)["data"]
    assert latest["data"] == {"password": "two"} and latest["metadata"]["version"] == 2
    first = kv.read_secret_version(path=path, version=1, raise_on_deleted_version=True)["data"]
    assert first["data"] == {"password": "one"}
    folder, leaf = path.split("/")
    assert leaf in kv.list_secrets(path=folder)["data"]["keys"]
    patched = kv.patch(path=path, secret={"user": "app"})["data"]
    assert patched["version"] == 3
    merged = kv.read_secret_version(path=path, raise_on_deleted_version=True)["data"]["data"]
    assert merged == {"password": "two", "user": "app"}
    meta = kv.read_secret_metadata(path=path)["data"]
    assert meta["current_version"] == 3 and sorted(meta["versions"]) == ["1", "2", "3"]
    # CAS: a stale version is refused with Vault's 400.
    with pytest.raises(hvac.exceptions.InvalidRequest, match="check-and-set"):
        kv.create_or_update_secret(path=path, secret={"password": "x"}, cas=1)
    assert (
        kv.create_or_update_secret(path=path, secret={"password": "four"}, cas=3)["data"]["version"]
        == 4
    )
    kv.delete_latest_version_of_secret(path=path)
    with pytest.raises(hvac.exceptions.InvalidPath):
        kv.read_secret_version(path=path, raise_on_deleted_version=True)
    kv.undelete_secret_versions(path=path, versions=[4])
    assert kv.read_secret_version(path=path, raise_on_deleted_version=True)["data"]["data"] == {
        "password": "four"
    }
    kv.destroy_secret_versions(path=path, versions=[1])
    with pytest.raises(hvac.exceptions.InvalidPath):
        kv.read_secret_version(path=path, version=1, raise_on_deleted_version=True)
    assert kv.read_secret_metadata(path=path)["data"]["versions"]["1"]["destroyed"] is True
    kv.delete_metadata_and_all_versions(path=path)
    with pytest.raises(hvac.exceptions.InvalidPath):
        kv.read_secret_metadata(path=path)


def test_kv_v1_mount(node: Node) -> None:
    client = _logged_in(node)
    mount = "kv" + secrets.token_hex(3)
    client.sys.enable_secrets_engine("kv", path=mount, options={"version": "1"})
    assert f"{mount}/" in client.sys.list_mounted_secrets_engines()["data"]
    kv1 = client.secrets.kv.v1
    kv1.create_or_update_secret(path="app/config", secret={"k": "v"}, mount_point=mount)
    assert kv1.read_secret(path="app/config", mount_point=mount)["data"] == {"k": "v"}
    assert kv1.list_secrets(path="app", mount_point=mount)["data"]["keys"] == ["config"]
    kv1.delete_secret(path="app/config", mount_point=mount)
    with pytest.raises(hvac.exceptions.InvalidPath):
        kv1.read_secret(path="app/config", mount_point=mount)


def test_approle_login(node: Node) -> None:
    admin = _logged_in(node)
    role = "ci" + secrets.token_hex(3)
    admin.auth.approle.create_or_update_approle(
        role, token_policies=["user"], secret_id_num_uses=2, token_ttl="5m"
    )
    role_id = admin.auth.approle.read_role_id(role)["data"]["role_id"]
    secret_id = admin.auth.approle.generate_secret_id(role)["data"]["secret_id"]
    machine = node.hvac()
    login = machine.auth.approle.login(role_id=role_id, secret_id=secret_id)["auth"]
    assert login["policies"] == ["user"] and 0 < login["lease_duration"] <= 300
    assert machine.is_authenticated()
    node.hvac().auth.approle.login(role_id=role_id, secret_id=secret_id)
    # secret_id_num_uses=2: the third login is refused.
    with pytest.raises(hvac.exceptions.InvalidRequest):
        node.hvac().auth.approle.login(role_id=role_id, secret_id=secret_id)
    with pytest.raises(hvac.exceptions.InvalidRequest):
        node.hvac().auth.approle.login(role_id=role_id, secret_id="0" * 64)


def test_response_wrapping_is_single_use(node: Node) -> None:
    client = _logged_in(node)
    path = _path()
    client.secrets.kv.v2.create_or_update_secret(path=path, secret={"api_key": "k-1"})
    wrapped = client.read(f"secret/data/{path}", wrap_ttl="60s")
    assert wrapped["data"] is None
    wrap_token = wrapped["wrap_info"]["token"]
    assert wrapped["wrap_info"]["ttl"] == 60
    unwrapped = node.hvac().sys.unwrap(wrap_token)
    assert unwrapped["data"]["data"] == {"api_key": "k-1"}
    with pytest.raises(hvac.exceptions.InvalidRequest):
        node.hvac().sys.unwrap(wrap_token)
