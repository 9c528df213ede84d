"""Issue 21 acceptance 2, several nodes: two shamir nodes on one PostgreSQL database and one
Redis. seal-status is accurate on each: init on one makes both initialised, each node is
unsealed separately (shares sent to each, progress per node), and sealing one leaves the
other serving."""

from __future__ import annotations

import ssl
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.cluster.conftest import cluster_env
from tests.support import REDIS_URL, ServerProcess

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.slow]


def seal_status(http: httpx.Client, node: ServerProcess) -> dict[str, Any]:
    body: dict[str, Any] = http.get(f"{node.url}/api/v1/sys/seal-status").json()
    return body


def health(http: httpx.Client, node: ServerProcess) -> int:
    return http.get(f"{node.url}/api/v1/sys/health").status_code


def test_seal_status_is_accurate_on_each_of_two_nodes(
    tmp_path: Path, pg_url: str, redis_prefix: str
) -> None:
    env = {**cluster_env(pg_url, REDIS_URL, redis_prefix), "STRONGROOM_SEAL": "shamir"}
    del env["STRONGROOM_ROOT_KEY"]
    a = ServerProcess(tmp_path / "a", env, tls=True).start()
    b = ServerProcess(tmp_path / "b", env, tls=True)
    try:
        b.start()
        trust = ssl.create_default_context(cafile=str(a.data_dir / "ca.pem"))
        trust.load_verify_locations(cafile=str(b.data_dir / "ca.pem"))
        with httpx.Client(verify=trust, timeout=30) as http:
            check(http, a, b)
    finally:
        a.stop()
        b.stop()


def check(http: httpx.Client, a: ServerProcess, b: ServerProcess) -> None:
    for node in (a, b):
        state = seal_status(http, node)
        assert (state["initialized"], state["sealed"], state["type"]) == (False, True, "shamir")
        assert health(http, node) == 501
    token_a = (a.data_dir / "init-token").read_text().strip()
    done = http.post(
        f"{a.url}/api/v1/sys/init",
        json={"secret_shares": 3, "secret_threshold": 2},
        headers={"Authorization": f"Bearer {token_a}"},
    )
    assert done.status_code == 200, done.text
    keys = done.json()["keys"]
    state_a, state_b = seal_status(http, a), seal_status(http, b)
    assert (state_a["initialized"], state_a["sealed"]) == (True, False)
    assert (state_b["initialized"], state_b["sealed"]) == (True, True)
    assert (state_b["t"], state_b["n"], state_b["progress"]) == (2, 3, 0)
    assert (health(http, a), health(http, b)) == (200, 503)
    # Node B's own init token cannot re-initialise the cluster.
    token_b = (b.data_dir / "init-token").read_text().strip()
    again = http.post(
        f"{b.url}/api/v1/sys/init",
        json={"secret_shares": 1, "secret_threshold": 1},
        headers={"Authorization": f"Bearer {token_b}"},
    )
    assert again.status_code == 400 and again.json()["code"] == "already_initialised"

    # Shares go to each node: progress is B's own.
    first = http.post(f"{b.url}/api/v1/sys/unseal", json={"key": keys[1]}).json()
    assert (first["sealed"], first["progress"]) == (True, 1)
    assert seal_status(http, a)["progress"] == 0
    second = http.post(f"{b.url}/api/v1/sys/unseal", json={"key": keys[2]}).json()
    assert second["sealed"] is False
    assert (health(http, a), health(http, b)) == (200, 200)

    # Sealing A leaves B serving.
    login = http.post(
        f"{a.url}/api/v1/auth/token/create",
        data={
            "grant_type": "password",
            "username": "admin",
            "password": done.json()["admin_password"],
        },
    )
    admin = {"Authorization": f"Bearer {login.json()['access_token']}"}
    assert http.post(f"{a.url}/api/v1/sys/seal", headers=admin).json()["sealed"] is True
    assert seal_status(http, a)["sealed"] is True
    assert seal_status(http, b)["sealed"] is False
    assert (health(http, a), health(http, b)) == (503, 200)
    assert http.get(f"{b.url}/api/v1/users/me", headers=admin).status_code == 200
    assert http.get(f"{a.url}/api/v1/users/me", headers=admin).status_code == 503
