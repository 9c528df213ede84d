"""A node on a Sentinel-managed Redis survives a failover (issue 22, acceptance 6, second
half): redis+sentinel:// URL, a primary, a replica and a sentinel started here; the primary is
killed, the sentinel promotes the replica, and the node carries on on the new primary."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import need
from tests.operations.redis_servers import SERVICE, RedisServer, wait_for
from tests.support import ServerProcess, admin_password, redis_reachable

pytestmark = [pytest.mark.redis, pytest.mark.slow]


@pytest.fixture
def sentinel_set(tmp_path: Path) -> Iterator[tuple[RedisServer, RedisServer, RedisServer]]:
    need(redis_reachable(), "redis-server (Redis at 127.0.0.1:6379)")
    primary = RedisServer(tmp_path / "primary", []).start()
    replica = RedisServer(tmp_path / "replica", ["--replicaof", "127.0.0.1", str(primary.port)])
    sentinel = RedisServer(
        tmp_path / "sentinel",
        [
            f"sentinel monitor {SERVICE} 127.0.0.1 {primary.port} 1",
            f"sentinel down-after-milliseconds {SERVICE} 1000",
            f"sentinel failover-timeout {SERVICE} 10000",
        ],
        sentinel=True,
    )
    started = [primary]
    try:
        started.append(replica.start())
        replicated = replica.client()
        wait_for(
            lambda: replicated.info("replication").get("master_link_status") == "up",
            "the replica to sync",
        )
        replicated.close()
        started.append(sentinel.start())
        watcher = sentinel.client()
        # The sentinel must know the replica before it can promote it.
        wait_for(
            lambda: len(watcher.sentinel_slaves(SERVICE)) == 1,
            "the sentinel to discover the replica",
        )
        watcher.close()
        yield primary, replica, sentinel
    finally:
        for server in started:
            server.kill()


def _login(node: ServerProcess) -> str:
    answer = httpx.post(
        f"{node.url}/api/v1/auth/token/create",
        data={
            "grant_type": "password",
            "username": "admin",
            "password": admin_password(node.data_dir),
        },
        verify=node.verify,
        timeout=30,
    )
    assert answer.status_code == 200, answer.text
    return str(answer.json()["access_token"])


def test_a_node_survives_a_sentinel_failover(
    tmp_path: Path, sentinel_set: tuple[RedisServer, RedisServer, RedisServer]
) -> None:
    primary, replica, sentinel = sentinel_set
    url = f"redis+sentinel://127.0.0.1:{sentinel.port}/{SERVICE}/0"
    node = ServerProcess(tmp_path / "node", {"STRONGROOM_REDIS_URL": url}, tls=True).start(
        timeout=120
    )
    try:
        token = _login(node)
        headers = {"Authorization": f"Bearer {token}"}
        with httpx.Client(base_url=node.url, verify=node.verify, timeout=30) as client:
            created = client.post(
                "/api/v1/secrets/create", json={"path": "ha/db", "value": "kept"}, headers=headers
            )
            assert created.status_code == 200, created.text
            secret = f"/api/v1/secrets/{created.json()['id']}"
            assert client.get(secret, headers=headers).json()["value"] == "kept"
            # The sessions are in the primary (and replicated): nothing in the default Redis.
            assert primary.client().dbsize() > 0

            primary.kill()
            watcher = sentinel.client()
            wait_for(
                lambda: (
                    int(watcher.execute_command("SENTINEL", "GET-MASTER-ADDR-BY-NAME", SERVICE)[1])
                    == replica.port
                ),
                "the sentinel to promote the replica",
            )
            watcher.close()

            # A new primary is a new Redis process: sessions issued before it end (the
            # generation check, sessions/generation.py), and the node serves on it.
            def logged_in_again() -> bool:
                try:
                    return bool(_login(node))
                except AssertionError:
                    return False

            wait_for(logged_in_again, "a login through the new primary")
            fresh = {"Authorization": f"Bearer {_login(node)}"}
            assert client.get(secret, headers=fresh).json()["value"] == "kept"
            assert client.get(secret, headers=headers).status_code == 401
            written = client.put(secret, json={"value": "after"}, headers=fresh)
            assert written.status_code == 200, written.text
            assert client.get(secret, headers=fresh).json()["value"] == "after"
            assert replica.client().dbsize() > 0
    finally:
        node.stop()
