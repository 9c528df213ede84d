"""Two real server processes on one PostgreSQL database and one Redis (issue 18, acceptance 1
and 3): a module policy set on node A is in force on node B at its next request; a TOTP code
accepted by one node is refused by the other; transit keys work from either node."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from pathlib import Path

import pyotp
import pytest

from tests.cluster.conftest import Cluster, cluster_env, two_nodes
from tests.support import REDIS_URL, TEST_PASSWORD

pytestmark = pytest.mark.slow


@pytest.fixture
def cluster(tmp_path: Path, pg_url: str, redis_prefix: str) -> Iterator[Cluster]:
    with two_nodes(tmp_path, cluster_env(pg_url, REDIS_URL, redis_prefix)) as nodes:
        yield nodes


def _bearer(tokens: dict[str, object]) -> dict[str, str]:
    return {"Authorization": f"Bearer {tokens['access_token']}"}


async def test_policies_keys_and_codes_hold_across_nodes(cluster: Cluster) -> None:
    admin = _bearer(cluster.login(cluster.a, "admin", cluster.admin_password))
    async with cluster.client(cluster.a) as a, cluster.client(cluster.b) as b:
        user = {"username": "alice", "email": "alice@example.test", "password": TEST_PASSWORD}
        assert (await a.post("/api/v1/users/create", json=user, headers=admin)).status_code == 200
        alice = _bearer(cluster.login(cluster.b, "alice", TEST_PASSWORD))
        listed = (await b.get("/api/v1/modules", headers=alice)).json()
        assert {m["id"]: m["available"] for m in listed["items"]}["transit"] is True

        # The operator withdraws transit on A; B refuses at once, with no wait.
        response = await a.post(
            "/api/v1/sys/modules/transit", json={"available": False}, headers=admin
        )
        assert response.status_code == 200
        refused = await b.post("/api/v1/modules/transit/enable", headers=alice)
        assert (refused.status_code, refused.json()["code"]) == (403, "module_unavailable")
        listed = (await b.get("/api/v1/modules/", headers=alice)).json()
        assert {m["id"]: m["available"] for m in listed["items"]}["transit"] is False
        response = await a.post(
            "/api/v1/sys/modules/transit", json={"available": True}, headers=admin
        )
        assert response.status_code == 200
        assert (await b.post("/api/v1/modules/transit/enable", headers=alice)).status_code == 200

        # A key made through B encrypts on A and decrypts on B.
        create = {"name": "k", "type": "chacha20-poly1305"}
        assert (
            await b.post("/api/v1/modules/transit/keys", json=create, headers=alice)
        ).status_code == 200
        data = base64.b64encode(b"across nodes").decode()
        sealed = await a.post(
            "/api/v1/modules/transit/encrypt/k", json={"plaintext": data}, headers=alice
        )
        assert sealed.status_code == 200, sealed.text
        opened = await b.post(
            "/api/v1/modules/transit/decrypt/k",
            json={"ciphertext": sealed.json()["ciphertext"]},
            headers=alice,
        )
        assert (opened.status_code, opened.json()) == (200, {"plaintext": data})

        # A TOTP code accepted by A is a replay for B.
        assert (await a.post("/api/v1/modules/totp/enable", headers=alice)).status_code == 200
        body = {"name": "t", "generate": True, "issuer": "Acme", "account_name": "alice"}
        created = (await a.post("/api/v1/modules/totp/keys", json=body, headers=alice)).json()
        code = {"code": pyotp.parse_uri(created["url"]).now()}
        first = await a.post("/api/v1/modules/totp/validate/t", json=code, headers=alice)
        second = await b.post("/api/v1/modules/totp/validate/t", json=code, headers=alice)
        assert (first.json(), second.json()) == ({"valid": True}, {"valid": False})
