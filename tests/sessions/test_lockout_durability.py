"""Issue 17, finding 1, the lock-out part: a lock-out in force before Redis restarts stays in
force after it, whether Redis comes back from an older RDB snapshot or empty. The database
keeps a record of every lock-out Redis holds (sessions/login_counters.py) and a login checks
it before any password is checked.

A redis-server of this test (RDB only, the snapshot taken by SAVE), killed with SIGKILL; the
app in-process on SQLite with its sessions in that Redis.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, BinaryIO

import pytest
import redis

from tests.conftest import need
from tests.sessions.private_redis import PrivateRedis
from tests.support import TEST_PASSWORD, Api, make_user_session

LOGIN = "/api/v1/auth/token/create"


class SnapshotRedis(PrivateRedis):
    """Redis with its default kind of persistence: RDB snapshots, no append-only file."""

    def _spawn(self, binary: str, log: BinaryIO) -> subprocess.Popen[bytes]:
        return subprocess.Popen(
            [
                binary,
                "--port", str(self.port), "--bind", "127.0.0.1",
                "--dir", str(self.directory),
                "--appendonly", "no",
                "--save", "",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
        )  # fmt: skip

    def save(self) -> None:
        client = redis.Redis.from_url(self.url)
        try:
            client.save()
        finally:
            client.close()


@pytest.fixture
def snapshot_redis(tmp_path: Path) -> Iterator[SnapshotRedis]:
    need(shutil.which("redis-server") is not None, "redis-server")
    server = SnapshotRedis(tmp_path / "redis")
    server.start()
    try:
        yield server
    finally:
        server.kill()


async def _login(api: Api, password: str) -> int:
    """The status of a login of `nora`; a 503 while Redis comes back is asked again."""
    for _ in range(20):
        answer = await api.client.post(
            LOGIN, data={"grant_type": "password", "username": "nora", "password": password}
        )
        if answer.status_code != 503:
            return answer.status_code
    raise AssertionError("the store never came back")


@pytest.mark.slow
async def test_finding_17_1_a_lockout_survives_redis_restarting_from_a_snapshot_or_empty(
    snapshot_redis: SnapshotRedis, make_config: Callable[..., Any], open_api: Any
) -> None:
    config = make_config(
        "sqlite", redis_url=snapshot_redis.url, redis_prefix="sr:", secret_cache_size=0
    )
    async with open_api(config) as api:
        await api.set_settings(security__login_failure_threshold=3, security__login_lockout=600)
        await make_user_session(api.services, "nora", password=TEST_PASSWORD)
        snapshot_redis.save()  # before the lock-out: the snapshot knows nothing of it
        for _ in range(3):
            assert await _login(api, "a wrong password") == 401
        assert await _login(api, TEST_PASSWORD) == 429

        snapshot_redis.kill()
        snapshot_redis.start()  # from the snapshot
        assert await _login(api, TEST_PASSWORD) == 429
        assert await _login(api, TEST_PASSWORD) == 429  # Redis was told again

        snapshot_redis.kill()
        (snapshot_redis.directory / "dump.rdb").unlink()
        snapshot_redis.start()  # empty
        assert await _login(api, TEST_PASSWORD) == 429

        # An admin's unlock lifts it for good (in Redis and in the database).
        admin, _ = await make_user_session(api.services, "root", "admin")
        lifted = await api.client.post("/api/v1/users/nora/unlock", headers=api.auth(admin))
        assert lifted.status_code == 200, lifted.text
        assert await _login(api, TEST_PASSWORD) == 200
