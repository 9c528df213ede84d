"""What a node says in its log about the Redis it reaches: its persistence and what that means,
and a warning when Redis may evict keys (issue 17, finding 1)."""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

import pytest

from strongroom.db import Database
from strongroom.sessions.redis_persistence import describe
from strongroom.sessions.redis_store import RedisSessionStore
from tests.conftest import need
from tests.sessions.private_redis import PrivateRedis

LOGGER = "strongroom.sessions.redis_persistence"


def test_each_persistence_is_explained() -> None:
    cases = {
        ("", "no", "everysec"): "none: a restart empties Redis",
        ("3600 1 300 100", "no", "everysec"): "RDB snapshots only (save '3600 1 300 100')",
        ("", "yes", "everysec"): "appendfsync everysec",
        ("", "yes", "always"): "a crash loses no acknowledged write",
    }
    for (save, appendonly, fsync), expected in cases.items():
        config = {"save": save, "appendonly": appendonly, "appendfsync": fsync}
        [(level, message)] = describe({**config, "maxmemory-policy": "noeviction"})
        assert level == logging.INFO and expected in message
        assert "ends every session issued before it" in message
    evicting = describe({"save": "", "appendonly": "no", "maxmemory-policy": "allkeys-lru"})
    assert evicting[1][0] == logging.WARNING and "allkeys-lru" in evicting[1][1]


@pytest.fixture
def rdb_redis(tmp_path: Path) -> PrivateRedis:
    need(shutil.which("redis-server") is not None, "redis-server")
    return PrivateRedis(tmp_path / "redis", persistence="rdb")


async def test_a_node_reports_what_it_finds(
    rdb_redis: PrivateRedis, ledger: Database, caplog: pytest.LogCaptureFixture
) -> None:
    rdb_redis.start()
    try:
        with rdb_redis.client() as raw:
            raw.config_set("maxmemory-policy", "volatile-lru")
        store = RedisSessionStore(rdb_redis.url, prefix="p:", db=ledger)
        with caplog.at_level(logging.INFO, logger=LOGGER):
            assert await store.ping()
        await store.close()
        messages = [(r.levelno, r.getMessage()) for r in caplog.records if r.name == LOGGER]
        assert messages[0][0] == logging.INFO
        assert "RDB snapshots only (save '3600 1')" in messages[0][1]
        assert messages[1][0] == logging.WARNING and "volatile-lru" in messages[1][1]
    finally:
        rdb_redis.kill()


async def test_a_redis_that_refuses_config_is_reported_as_unknown(
    rdb_redis: PrivateRedis, ledger: Database, caplog: pytest.LogCaptureFixture
) -> None:
    """Managed Redis services often refuse CONFIG; the node still works and says so."""
    rdb_redis.start()
    try:
        with rdb_redis.client() as raw:
            raw.acl_setuser(
                "node",
                enabled=True,
                passwords=["+node-pass"],
                keys=["*"],
                commands=["+@all", "-config"],
            )
        url = rdb_redis.url.replace("redis://", "redis://node:node-pass@")
        store = RedisSessionStore(url, prefix="p:", db=ledger)
        with caplog.at_level(logging.INFO, logger=LOGGER):
            assert await store.ping()
        await store.close()
        [message] = [r.getMessage() for r in caplog.records if r.name == LOGGER]
        assert "refused CONFIG GET" in message
    finally:
        rdb_redis.kill()
