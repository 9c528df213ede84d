"""Two real server processes sharing one PostgreSQL database and one Redis (a small cluster)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from strongroom.crypto import generate_root_key
from tests.support import REDIS_URL, ServerProcess, admin_password


@dataclass
class Cluster:
    a: ServerProcess
    b: ServerProcess
    admin_password: str

    def client(self, node: ServerProcess) -> httpx.AsyncClient:
        return httpx.AsyncClient(base_url=node.url, verify=node.verify, timeout=30)

    def login(
        self, node: ServerProcess, username: str, password: str, **extra: object
    ) -> dict[str, object]:
        response = httpx.post(
            f"{node.url}/api/v1/auth/token/create",
            data={"grant_type": "password", "username": username, "password": password, **extra},
            verify=node.verify,
            timeout=30,
        )
        assert response.status_code == 200, response.text
        body: dict[str, object] = response.json()
        return body


def cluster_env(pg_url: str, redis_url: str, prefix: str) -> dict[str, str]:
    return {
        "STRONGROOM_DATABASE_URL": pg_url,
        "STRONGROOM_REDIS_URL": redis_url,
        "STRONGROOM_REDIS_PREFIX": prefix,
        "STRONGROOM_SEAL": "env",
        "STRONGROOM_ROOT_KEY": generate_root_key().encode(),
    }


@contextmanager
def two_nodes(directory: Path, env: dict[str, str], *, b_tls: bool = True) -> Iterator[Cluster]:
    """Node A (TLS) bootstraps the shared database, then node B starts on it; both stop after."""
    a = ServerProcess(directory / "a", env, tls=True).start()
    b = ServerProcess(directory / "b", env, tls=b_tls)
    try:
        b.start()
        yield Cluster(a, b, admin_password(a.data_dir))
    finally:
        a.stop()
        b.stop()


@pytest.fixture
def cluster(tmp_path: Path, pg_url: str, redis_prefix: str) -> Iterator[Cluster]:
    with two_nodes(tmp_path, cluster_env(pg_url, REDIS_URL, redis_prefix)) as nodes:
        yield nodes
