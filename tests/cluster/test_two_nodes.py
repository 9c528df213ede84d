"""Sessions and settings across two processes: SECURITY.md 6, 7, 9, 11; issue 4, 2-3."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

from tests.cluster.conftest import Cluster
from tests.support import TEST_PASSWORD

pytestmark = pytest.mark.slow  # real server processes

ME = "/api/v1/users/me"


def _bearer(token: object) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def _create_user(cluster: Cluster, name: str) -> None:
    admin = cluster.login(cluster.a, "admin", cluster.admin_password)
    async with cluster.client(cluster.a) as client:
        response = await client.post(
            "/api/v1/users/create",
            json={"username": name, "password": TEST_PASSWORD},
            headers=_bearer(admin["access_token"]),
        )
    assert response.status_code == 200, response.text


async def _hammer(cluster: Cluster, token: object, count: int) -> list[int]:
    async with cluster.client(cluster.a) as a, cluster.client(cluster.b) as b:
        clients = [a, b]
        answers = await asyncio.gather(
            *[clients[i % 2].get(ME, headers=_bearer(token)) for i in range(count)]
        )
    return [answer.status_code for answer in answers]


async def test_max_uses_is_exact_across_nodes(cluster: Cluster) -> None:
    await _create_user(cluster, "alice")
    tokens = cluster.login(cluster.a, "alice", TEST_PASSWORD, max_uses=3)
    statuses = await _hammer(cluster, tokens["access_token"], 50)
    assert statuses.count(200) == 3
    assert statuses.count(401) == 47


async def test_one_time_token_succeeds_exactly_once(cluster: Cluster) -> None:
    await _create_user(cluster, "bob")
    tokens = cluster.login(cluster.b, "bob", TEST_PASSWORD, one_time="true")
    statuses = await _hammer(cluster, tokens["access_token"], 100)
    assert statuses.count(200) == 1
    assert statuses.count(401) == 99


async def test_revoke_on_one_node_is_seen_by_the_other_at_once(cluster: Cluster) -> None:
    await _create_user(cluster, "carol")
    async with cluster.client(cluster.a) as a, cluster.client(cluster.b) as b:
        for _ in range(20):
            tokens = cluster.login(cluster.a, "carol", TEST_PASSWORD)
            assert (await b.get(ME, headers=_bearer(tokens["access_token"]))).status_code == 200
            revoke = await a.post(
                "/api/v1/auth/token/revoke", data={"token": tokens["access_token"]}
            )
            assert revoke.status_code == 200
            assert (await b.get(ME, headers=_bearer(tokens["access_token"]))).status_code == 401


async def test_concurrent_renews_on_two_nodes_at_most_one_wins(cluster: Cluster) -> None:
    await _create_user(cluster, "dave")
    for _ in range(5):
        tokens = cluster.login(cluster.a, "dave", TEST_PASSWORD)
        body = {"refresh_token": tokens["refresh_token"]}
        async with cluster.client(cluster.a) as a, cluster.client(cluster.b) as b:
            answers = await asyncio.gather(
                a.post("/api/v1/auth/token/renew", json=body),
                b.post("/api/v1/auth/token/renew", json=body),
            )
        assert sum(answer.status_code == 200 for answer in answers) <= 1
        assert all(answer.status_code in (200, 400) for answer in answers)


async def test_settings_change_on_a_is_in_force_on_b_for_the_next_request(cluster: Cluster) -> None:
    await _create_user(cluster, "erin")
    admin = cluster.login(cluster.a, "admin", cluster.admin_password)
    async with cluster.client(cluster.a) as a:
        changed = await a.post(
            "/api/v1/sys/security",
            json={"access_token_ttl": 321},
            headers=_bearer(admin["access_token"]),
        )
    assert changed.status_code == 200
    assert cluster.login(cluster.b, "erin", TEST_PASSWORD)["expires_in"] == 321


async def test_disabling_password_login_applies_on_every_node(cluster: Cluster) -> None:
    await _create_user(cluster, "frank")
    admin = cluster.login(cluster.a, "admin", cluster.admin_password)
    headers = _bearer(admin["access_token"])
    login: dict[str, Any] = {
        "grant_type": "password",
        "username": "frank",
        "password": TEST_PASSWORD,
    }
    async with cluster.client(cluster.a) as a, cluster.client(cluster.b) as b:
        assert (
            await a.post(
                "/api/v1/sys/auth", json={"password_login_enabled": False}, headers=headers
            )
        ).status_code == 200
        for node in (a, b):
            refused = await node.post("/api/v1/auth/token/create", data=login)
            assert refused.status_code == 400
            assert (
                refused.json()["error_description"] == "password login is disabled on this server"
            )
        assert (
            await b.post("/api/v1/sys/auth", json={"password_login_enabled": True}, headers=headers)
        ).status_code == 200
        for node in (a, b):
            assert (await node.post("/api/v1/auth/token/create", data=login)).status_code == 200


def test_health_reports_both_backends(cluster: Cluster) -> None:
    for node in (cluster.a, cluster.b):
        health = httpx.get(f"{node.url}/api/v1/sys/health", verify=node.verify).json()
        assert health == health | {"status": "ok", "database": "ok", "session_store": "ok"}
