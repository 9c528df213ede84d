"""Three real server processes on one PostgreSQL database and one Redis, sharing one CA
(`--tls-ca-dir`), used round-robin (issue 22, acceptance 6, first half)."""

from __future__ import annotations

import itertools
import ssl
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.cluster.conftest import cluster_env
from tests.support import REDIS_URL, TEST_PASSWORD, ServerProcess, admin_password

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.slow]


class SharedCaNode(ServerProcess):
    """A node whose certificate comes from the CA in `STRONGROOM_TLS_CA_DIR`."""

    @property
    def verify(self) -> ssl.SSLContext:
        return ssl.create_default_context(
            cafile=str(Path(self.env["STRONGROOM_TLS_CA_DIR"]) / "ca.pem")
        )


@pytest.fixture
def nodes(tmp_path: Path, pg_url: str, redis_prefix: str) -> Iterator[list[ServerProcess]]:
    env = {
        **cluster_env(pg_url, REDIS_URL, redis_prefix),
        "STRONGROOM_TLS_CA_DIR": str(tmp_path / "ca"),
    }
    started: list[ServerProcess] = []
    try:
        for name in ("a", "b", "c"):  # a bootstraps the database; b and c join it
            started.append(SharedCaNode(tmp_path / name, env, tls=True).start(timeout=120))
        yield started
    finally:
        for node in started:
            node.stop()


def _clients(nodes: list[ServerProcess], ca: Path) -> list[httpx.Client]:
    # One CA for the three: the client trusts only the shared ca.pem.
    trust = ssl.create_default_context(cafile=str(ca))
    return [httpx.Client(base_url=node.url, verify=trust, timeout=30) for node in nodes]


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_sessions_and_secrets_round_robin_over_three_nodes(
    nodes: list[ServerProcess], tmp_path: Path
) -> None:
    ca = tmp_path / "ca" / "ca.pem"
    assert ca.exists()
    for node in nodes:  # no node made a CA of its own
        assert not (node.data_dir / "ca.pem").exists()
    clients = _clients(nodes, ca)
    turn = itertools.cycle(clients)
    try:
        login = {"grant_type": "password", "username": "admin"}
        admin = next(turn).post(
            "/api/v1/auth/token/create",
            data={**login, "password": admin_password(nodes[0].data_dir)},
        )
        assert admin.status_code == 200, admin.text
        admin_headers = _bearer(admin.json()["access_token"])
        made = next(turn).post(
            "/api/v1/users/create",
            json={"username": "carol", "password": TEST_PASSWORD},
            headers=admin_headers,
        )
        assert made.status_code == 200, made.text
        carol = next(turn).post(
            "/api/v1/auth/token/create",
            data={"grant_type": "password", "username": "carol", "password": TEST_PASSWORD},
        )
        assert carol.status_code == 200, carol.text
        token = carol.json()["access_token"]

        # Secrets written on one node are read, listed and updated on the others.
        ids = {}
        for n in range(6):
            created = next(turn).post(
                "/api/v1/secrets/create",
                json={"path": f"rr/s{n}", "value": f"value-{n}"},
                headers=admin_headers,
            )
            assert created.status_code == 200, created.text
            ids[n] = created.json()["id"]
        for n, secret_id in ids.items():
            for client in clients:
                read = client.get(f"/api/v1/secrets/{secret_id}", headers=admin_headers)
                assert read.status_code == 200, read.text
                assert read.json()["value"] == f"value-{n}"
            updated = next(turn).put(
                f"/api/v1/secrets/{secret_id}", json={"value": f"new-{n}"}, headers=admin_headers
            )
            assert updated.status_code == 200, updated.text
            for client in clients:  # every node's cache sees the new version at once
                read = client.get(f"/api/v1/secrets/{secret_id}", headers=admin_headers)
                assert read.json()["value"] == f"new-{n}"

        # One session, used on every node; revoked through one, dead on all.
        for client in clients:
            assert client.get("/api/v1/users/me", headers=_bearer(token)).status_code == 200
        revoked = next(turn).post("/api/v1/auth/token/revoke", data={"token": token})
        assert revoked.status_code == 200
        for client in clients:
            assert client.get("/api/v1/users/me", headers=_bearer(token)).status_code == 401

        # max_uses is exact across the three nodes.
        limited = clients[0].post(
            "/api/v1/auth/token/create",
            data={
                "grant_type": "password",
                "username": "carol",
                "password": TEST_PASSWORD,
                "max_uses": "4",
            },
        )
        assert limited.status_code == 200, limited.text
        limited_token = limited.json()["access_token"]
        statuses = [
            next(turn).get("/api/v1/users/me", headers=_bearer(limited_token)).status_code
            for _ in range(9)
        ]
        assert statuses.count(200) == 4 and statuses.count(401) == 5
    finally:
        for client in clients:
            client.close()
