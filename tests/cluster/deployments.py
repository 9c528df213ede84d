"""A deployment of real server processes for the concurrency tests of issue 16: the embedded
default (one node, two workers, on SQLite) or two nodes on one PostgreSQL database and one
Redis. Every node speaks TLS; 127.0.0.1 (where the tests connect from) is a trusted proxy,
so a test stands for many clients by sending X-Forwarded-For."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from strongroom.crypto import generate_root_key
from tests.cluster.conftest import cluster_env
from tests.conftest import need
from tests.support import REDIS_URL, ServerProcess, admin_password, pg_reachable, redis_reachable

KINDS = ["sqlite", pytest.param("postgres_redis", marks=[pytest.mark.postgres, pytest.mark.redis])]
LOGIN = "/api/v1/auth/token/create"


@dataclass
class Deployment:
    nodes: list[ServerProcess]
    admin: dict[str, str]
    env: dict[str, str]

    def client(self, index: int = 0, *, connections: int = 100) -> httpx.AsyncClient:
        node = self.nodes[index % len(self.nodes)]
        return httpx.AsyncClient(
            base_url=node.url,
            verify=node.verify,
            timeout=60,
            limits=httpx.Limits(max_connections=connections),
        )

    def sync_client(self, index: int = 0) -> httpx.Client:
        node = self.nodes[index % len(self.nodes)]
        return httpx.Client(base_url=node.url, verify=node.verify, timeout=60)

    def set_security(self, **values: Any) -> None:
        with self.sync_client() as client:
            answer = client.post("/api/v1/sys/security", json=values, headers=self.admin)
        assert answer.status_code == 200, answer.text

    def create_user(self, username: str, password: str) -> None:
        with self.sync_client() as client:
            answer = client.post(
                "/api/v1/users/create",
                json={"username": username, "password": password},
                headers=self.admin,
            )
        assert answer.status_code == 200, answer.text

    def audit_records(self) -> list[dict[str, Any]]:
        """Every request's record in every node's audit file (without the intent records a
        request writes before its first transaction: they repeat what the request's own
        record says)."""
        records = []
        for node in self.nodes:
            path = node.data_dir / "audit.log"
            records += [orjson.loads(line) for line in path.read_bytes().splitlines()]
        return [record for record in records if record.get("type") != "intent"]


@contextmanager
def deployment(kind: str, directory: Path, request: pytest.FixtureRequest) -> Iterator[Deployment]:
    if kind == "sqlite":
        env = {"STRONGROOM_SEAL": "env", "STRONGROOM_ROOT_KEY": generate_root_key().encode()}
        nodes = [ServerProcess(directory / "node", env, tls=True, workers=2)]
    else:
        need(pg_reachable(), "PostgreSQL at 127.0.0.1:5432")
        need(redis_reachable(), "Redis at 127.0.0.1:6379")
        pg_url = str(request.getfixturevalue("pg_url"))
        env = cluster_env(pg_url, REDIS_URL, str(request.getfixturevalue("redis_prefix")))
        nodes = [ServerProcess(directory / name, env, tls=True) for name in ("a", "b")]
    try:
        for node in nodes:  # the first one bootstraps the storage
            node.start()
        login = httpx.post(
            f"{nodes[0].url}{LOGIN}",
            data={
                "grant_type": "password",
                "username": "admin",
                "password": admin_password(nodes[0].data_dir),
            },
            verify=nodes[0].verify,
            timeout=60,
        )
        assert login.status_code == 200, login.text
        admin = {"Authorization": f"Bearer {login.json()['access_token']}"}
        yield Deployment(nodes, admin, env)
    finally:
        for node in nodes:
            node.stop()
