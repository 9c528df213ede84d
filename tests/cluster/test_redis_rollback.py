"""SECURITY.md 45, end to end: Redis (its default persistence, RDB snapshots) killed -9 and
restarted from a snapshot taken before a revocation, a logout and a refresh rotation, or
restarted empty: no dead token works again, on either of two server processes, and no node
serves a secret version older than the database's (issue 17, finding 1)."""

from __future__ import annotations

import shutil
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.cluster.conftest import Cluster, cluster_env, two_nodes
from tests.conftest import need
from tests.sessions.private_redis import PrivateRedis
from tests.support import TEST_PASSWORD, ServerProcess

pytestmark = [pytest.mark.slow, pytest.mark.redis, pytest.mark.postgres]
ME = "/api/v1/users/me"


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@dataclass
class Rig:
    cluster: Cluster
    redis: PrivateRedis

    @property
    def nodes(self) -> tuple[ServerProcess, ServerProcess]:
        return self.cluster.a, self.cluster.b

    def login(self, node: ServerProcess, username: str, password: str = TEST_PASSWORD) -> dict:
        return self.cluster.login(node, username, password)

    def call(
        self, node: ServerProcess, method: str, path: str, token: str | None = None, **kw: object
    ) -> httpx.Response:
        headers = _bearer(token) if token else {}
        return httpx.request(
            method, f"{node.url}{path}", headers=headers, verify=node.verify, timeout=30, **kw
        )

    def crash_and_restart(self, *, empty: bool = False) -> None:
        self.redis.kill()
        if empty:
            self.redis.forget_data()
        time.sleep(0.2)  # the nodes see their connections drop (as during any real restart)
        self.redis.start()

    def assert_dead(self, access: list[str], refresh: list[str]) -> None:
        """Every token fails on both nodes, through every route that takes it."""
        for node in self.nodes:
            for token in access:
                response = self.call(node, "GET", ME, token)
                assert response.status_code == 401, response.text
                check = self.call(
                    node, "POST", "/api/v1/auth/check_token", token, json={"username": "rita"}
                )
                assert check.status_code == 401, check.text
            for token in refresh:
                renew = self.call(
                    node, "POST", "/api/v1/auth/token/renew", data={"refresh_token": token}
                )
                assert renew.status_code == 400, renew.text


@pytest.fixture
def rig(tmp_path: Path, pg_url: str) -> Iterator[Rig]:
    need(shutil.which("redis-server") is not None, "redis-server")
    redis = PrivateRedis(tmp_path / "redis", persistence="rdb")
    redis.start()
    try:
        env = cluster_env(pg_url, redis.url, f"rb{uuid.uuid4().hex[:6]}:")
        with two_nodes(tmp_path, env) as cluster:
            yield Rig(cluster, redis)
    finally:
        redis.kill()


def test_no_dead_token_comes_back_after_a_redis_rollback(rig: Rig) -> None:
    a, b = rig.nodes
    admin = rig.login(a, "admin", rig.cluster.admin_password)["access_token"]
    made = rig.call(
        a,
        "POST",
        "/api/v1/users/create",
        admin,
        json={"username": "rita", "password": TEST_PASSWORD},
    )
    assert made.status_code == 200, made.text
    secret = rig.call(
        a, "POST", "/api/v1/secrets/create", admin, json={"path": "rb/db", "value": "v1"}
    )
    url = f"/api/v1/secrets/{secret.json()['id']}"
    for _ in range(3):  # node B caches the secret from its second read on
        assert rig.call(b, "GET", url, admin).json()["value"] == "v1"
    revoked, logged_out, rotated, kept = (rig.login(a, "rita") for _ in range(4))

    rig.redis.save()  # the snapshot a restart brings back
    assert (
        rig.call(
            b, "POST", "/api/v1/auth/token/revoke", data={"token": revoked["access_token"]}
        ).status_code
        == 200
    )
    assert rig.call(a, "POST", "/api/v1/auth/logout", logged_out["access_token"]).status_code == 200
    renewed = rig.call(
        b, "POST", "/api/v1/auth/token/renew", data={"refresh_token": rotated["refresh_token"]}
    )
    assert renewed.status_code == 200, renewed.text
    assert rig.call(a, "PUT", url, admin, json={"value": "v2"}).status_code == 200
    dead_access = [revoked["access_token"], logged_out["access_token"], rotated["access_token"]]
    dead_refresh = [revoked["refresh_token"], logged_out["refresh_token"], rotated["refresh_token"]]
    rig.assert_dead(dead_access, dead_refresh)

    rig.crash_and_restart()
    # The revoked, logged-out and rotated sessions are in Redis again, as they were...
    with rig.redis.client() as raw:
        assert raw.dbsize() > 0
    # ...and stay dead; so does every session issued before the loss (users log in again).
    everything_before = [*dead_access, kept["access_token"], renewed.json()["access_token"], admin]
    refresh_before = [*dead_refresh, kept["refresh_token"], renewed.json()["refresh_token"]]
    for _ in range(2):  # ever: asked again, still dead
        rig.assert_dead(everything_before, refresh_before)

    # Logging in works again, and no node serves the version the rollback would bring back.
    for node in (b, a):
        again = rig.login(node, "admin", rig.cluster.admin_password)["access_token"]
        for _ in range(3):
            assert rig.call(node, "GET", url, again).json()["value"] == "v2"

    # The same with Redis restarted empty.
    fresh = rig.login(b, "rita")
    rig.redis.save()
    rig.crash_and_restart(empty=True)
    rig.assert_dead([fresh["access_token"]], [fresh["refresh_token"]])
    assert rig.call(a, "GET", ME, rig.login(a, "rita")["access_token"]).status_code == 200


def test_a_lockout_in_force_survives_a_redis_rollback(rig: Rig) -> None:
    a, b = rig.nodes
    admin = rig.login(a, "admin", rig.cluster.admin_password)["access_token"]
    made = rig.call(
        a,
        "POST",
        "/api/v1/users/create",
        admin,
        json={"username": "lou", "password": TEST_PASSWORD},
    )
    assert made.status_code == 200, made.text
    rig.redis.save()
    wrong = {"grant_type": "password", "username": "lou", "password": "not the password at all"}
    statuses = [
        rig.call(a, "POST", "/api/v1/auth/token/create", data=wrong).status_code for _ in range(12)
    ]
    assert statuses[-1] == 429
    rig.crash_and_restart()
    right = {**wrong, "password": TEST_PASSWORD}
    for node in (a, b):
        assert rig.call(node, "POST", "/api/v1/auth/token/create", data=right).status_code == 429
