"""The seed's auth paths (seeds/004; issue 18, acceptance 4) on a real TLS server process:
/auth/register, /auth/login (username or email), /auth/token/refresh (rotation and reuse)."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from tests.support import TEST_PASSWORD, ServerProcess, admin_password

pytestmark = pytest.mark.slow
API = "/api/v1"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    node = ServerProcess(tmp_path_factory.mktemp("seed") / "data", {}, tls=True).start()
    try:
        yield node
    finally:
        node.stop()


@pytest.fixture
def client(server: ServerProcess) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url + API, verify=server.verify, timeout=30) as http:
        yield http


def _admin(client: httpx.Client, server: ServerProcess) -> dict[str, str]:
    login = {"username": "admin", "password": admin_password(server.data_dir)}
    response = client.post("/auth/login", json=login)
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


def _registration(client: httpx.Client, admin: dict[str, str], is_open: bool) -> None:
    response = client.post("/sys/auth", json={"registration_open": is_open}, headers=admin)
    assert response.status_code == 200, response.text


def test_register_while_open_and_closed(client: httpx.Client, server: ServerProcess) -> None:
    admin = _admin(client, server)
    alice = {"username": "alice", "email": "Alice@Example.test", "password": TEST_PASSWORD}
    for send in ({"json": alice}, {"data": alice}):
        response = client.post("/auth/register", **send)  # type: ignore[arg-type]
        assert response.status_code == 403
        assert response.json()["code"] == "registration_closed"
    _registration(client, admin, True)
    try:
        response = client.post("/auth/register", json=alice)
        assert response.status_code == 200, response.text
        created = response.json()
        assert (created["username"], created["email"], created["role"]) == (
            "alice",
            "alice@example.test",
            "user",
        )
        assert "password_hash" not in created and TEST_PASSWORD not in response.text
        bob = {"username": "bob", "email": "bob@example.test", "password": TEST_PASSWORD}
        response = client.post("/auth/register", data=bob)  # form-encoded
        assert (response.status_code, response.json()["username"]) == (200, "bob")
        assert client.post("/auth/register", json=alice).status_code == 409
        weak = {"username": "carol", "password": "short"}
        assert client.post("/auth/register", json=weak).status_code == 422
        # No way to pick a role when registering.
        admin_please = {"username": "mallory", "password": TEST_PASSWORD, "role": "admin"}
        assert client.post("/auth/register", json=admin_please).status_code == 422
    finally:
        _registration(client, admin, False)
    late = {"username": "dave", "password": TEST_PASSWORD}
    assert client.post("/auth/register", json=late).status_code == 403


def test_login_by_username_and_by_email(client: httpx.Client, server: ServerProcess) -> None:
    admin = _admin(client, server)
    user = {"username": "erin", "email": "erin@example.test", "password": TEST_PASSWORD}
    assert client.post("/users/create", json=user, headers=admin).status_code == 200
    logins = [
        ("/auth/login", {"json": {"username": "erin", "password": TEST_PASSWORD}}),
        ("/auth/login", {"data": {"username": "ERIN@example.TEST", "password": TEST_PASSWORD}}),
        (
            "/auth/token/create",
            {
                "data": {
                    "grant_type": "password",
                    "username": "erin@example.test",
                    "password": TEST_PASSWORD,
                }
            },
        ),
    ]
    for path, send in logins:
        response = client.post(path, **send)  # type: ignore[arg-type]
        assert response.status_code == 200, (path, response.text)
        tokens = response.json()
        assert tokens["access_token"].startswith("sra_")
        assert tokens["refresh_token"].startswith("srr_")
        me = client.get("/users/me", headers={"Authorization": f"Bearer {tokens['access_token']}"})
        assert me.json()["username"] == "erin"
    # Wrong password, unknown name and unknown email: one answer.
    failures = [
        client.post("/auth/login", json={"username": name, "password": "wrong password 1"})
        for name in ("erin", "erin@example.test", "nobody", "nobody@example.test")
    ]
    assert {(r.status_code, r.text) for r in failures} == {
        (401, '{"error":"invalid_grant","error_description":"invalid username or password"}')
    }
    # Session options work as on the token endpoint.
    once = client.post(
        "/auth/login", json={"username": "erin", "password": TEST_PASSWORD, "one_time": True}
    )
    assert once.status_code == 200 and once.json()["refresh_token"] is None


def test_refresh_rotates_and_detects_reuse(client: httpx.Client, server: ServerProcess) -> None:
    admin = _admin(client, server)
    user = {"username": "frank", "password": TEST_PASSWORD}
    assert client.post("/users/create", json=user, headers=admin).status_code == 200
    first = client.post("/auth/login", json=user).json()

    def me(tokens: dict[str, str]) -> int:
        bearer = {"Authorization": f"Bearer {tokens['access_token']}"}
        return client.get("/users/me", headers=bearer).status_code

    response = client.post("/auth/token/refresh", json={"refresh_token": first["refresh_token"]})
    assert response.status_code == 200, response.text
    second = response.json()
    assert second["session_id"] == first["session_id"]
    assert second["refresh_token"] != first["refresh_token"]
    assert (me(first), me(second)) == (401, 200)  # the old access token died with the rotation
    response = client.post("/auth/token/refresh", data={"refresh_token": second["refresh_token"]})
    assert response.status_code == 200  # form-encoded too
    third = response.json()
    reused = client.post("/auth/token/refresh", json={"refresh_token": second["refresh_token"]})
    assert reused.status_code == 400
    assert reused.json()["error"] == "invalid_grant"
    # Reuse revoked the whole session: the newest pair is dead too.
    assert me(third) == 401
    dead = client.post("/auth/token/refresh", json={"refresh_token": third["refresh_token"]})
    assert dead.status_code == 400
