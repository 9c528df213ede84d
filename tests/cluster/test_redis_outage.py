"""Redis unreachable: authenticated requests get 503, never succeed; after Redis is back,
revoked tokens stay revoked (SECURITY.md 28), and so does every session of before the restart
(SECURITY.md 45: users log in again)."""

from __future__ import annotations

import uuid
from pathlib import Path

import httpx

from tests.cluster.conftest import cluster_env
from tests.sessions.private_redis import PrivateRedis
from tests.support import TEST_PASSWORD, ServerProcess, admin_password


def _login(node: ServerProcess, username: str, password: str) -> str:
    response = httpx.post(
        f"{node.url}/api/v1/auth/token/create",
        data={"grant_type": "password", "username": username, "password": password},
        verify=node.verify,
    )
    assert response.status_code == 200, response.text
    token: str = response.json()["access_token"]
    return token


def test_redis_down_means_503_and_revocations_survive(tmp_path: Path, pg_url: str) -> None:
    redis_server = PrivateRedis(tmp_path / "redis")
    redis_server.start()
    node = ServerProcess(
        tmp_path / "node",
        cluster_env(pg_url, redis_server.url, f"o{uuid.uuid4().hex[:6]}:"),
        tls=True,
    )
    try:
        node.start()
        password = admin_password(tmp_path / "node")
        admin = _login(node, "admin", password)
        me = f"{node.url}/api/v1/users/me"
        created = httpx.post(
            f"{node.url}/api/v1/users/create",
            json={"username": "gina", "password": TEST_PASSWORD},
            headers={"Authorization": f"Bearer {admin}"},
            verify=node.verify,
        )
        assert created.status_code == 200
        revoked, kept = _login(node, "gina", TEST_PASSWORD), _login(node, "gina", TEST_PASSWORD)
        httpx.post(
            f"{node.url}/api/v1/auth/token/revoke", data={"token": revoked}, verify=node.verify
        )

        redis_server.kill()
        for token in (kept, revoked, admin):
            down = httpx.get(
                me, headers={"Authorization": f"Bearer {token}"}, verify=node.verify, timeout=30
            )
            assert down.status_code == 503
            assert down.json()["code"] == "session_store_unavailable"
        login = httpx.post(
            f"{node.url}/api/v1/auth/token/create",
            data={"grant_type": "password", "username": "gina", "password": TEST_PASSWORD},
            verify=node.verify,
            timeout=30,
        )
        assert login.status_code == 503
        health = httpx.get(f"{node.url}/api/v1/sys/health", verify=node.verify, timeout=30)
        assert health.status_code == 503 and health.json()["session_store"] == "unavailable"

        redis_server.start()
        back = {
            t: httpx.get(me, headers={"Authorization": f"Bearer {t}"}, verify=node.verify)
            for t in (kept, revoked)
        }
        assert back[revoked].status_code == 401
        # A new Redis process: every session of before it ended (sessions/generation.py).
        assert back[kept].status_code == 401
        again = _login(node, "gina", TEST_PASSWORD)
        assert (
            httpx.get(
                me, headers={"Authorization": f"Bearer {again}"}, verify=node.verify
            ).status_code
            == 200
        )
    finally:
        node.stop()
        redis_server.kill()
