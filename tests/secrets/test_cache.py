"""The per-node secret cache (secrets/cache.py) is coherent across nodes: a change through one
node is what every other node serves next, and a cached read does not touch the database."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest
import redis.asyncio as aioredis

from strongroom.config import Config
from strongroom.secrets.cache import secret_cache, watch_name
from strongroom.secrets.service import changing
from tests.support import REDIS_URL, Api, make_user_session


def _count_database_reads(api: Api) -> list[str]:
    """A spy on the node's reads of secret values from the database (they still happen)."""
    calls: list[str] = []
    db = api.services.db
    first, every = db.fetch_first, db.fetch_all

    async def counting_first(sql: str, args: list[Any]) -> Any:
        if "secret_versions" in sql:
            calls.append(str(args[0]))
        return await first(sql, args)

    async def counting_all(sql: str, args: list[Any]) -> Any:  # reads batched on PostgreSQL
        if "secret_versions" in sql and "UPDATE" not in sql:
            calls.extend(str(secret_id) for secret_id in args[0])
        return await every(sql, args)

    db.fetch_first = counting_first  # type: ignore[method-assign]
    db.fetch_all = counting_all  # type: ignore[method-assign]
    return calls


async def _setup(a: Api, b: Api) -> tuple[dict[str, str], dict[str, str], str]:
    token_a, _ = await make_user_session(a.services, "alice", "user")
    token_b, _ = await make_user_session(b.services, "alice", "user")
    created = await a.client.post(
        "/api/v1/secrets/create",
        json={"path": "users/alice/db", "value": "v1"},
        headers=a.auth(token_a),
    )
    assert created.status_code == 200
    return a.auth(token_a), b.auth(token_b), created.json()["id"]


@pytest.fixture
def two_nodes(make_config: Callable[..., Config], pg_url: str) -> list[Config]:
    """Two nodes on one PostgreSQL database and one Redis (their shared session store)."""
    return [make_config("postgres", redis_store=True) for _ in range(2)]


async def test_a_change_on_one_node_is_what_the_other_serves_next(
    two_nodes: list[Config], open_api: Any
) -> None:
    async with open_api(two_nodes[0]) as a, open_api(two_nodes[1]) as b:
        on_a, on_b, secret_id = await _setup(a, b)
        url = f"/api/v1/secrets/{secret_id}"
        database_reads = _count_database_reads(a)
        for _ in range(3):
            assert (await a.client.get(url, headers=on_a)).json()["value"] == "v1"
        # The first read notes the id, the second caches the row, the third is served from it.
        assert database_reads == [secret_id] * 2
        assert len(secret_cache(a.services)) == 1

        updated = await b.client.put(url, json={"value": "v2"}, headers=on_b)
        assert updated.status_code == 200
        assert (await a.client.get(url, headers=on_a)).json()["value"] == "v2"
        assert len(database_reads) == 3

        assert (await b.client.delete(url, headers=on_b)).status_code == 200
        gone = await a.client.get(url, headers=on_a)
        assert gone.status_code == 404
        restored = await b.client.post(f"{url}/undelete", headers=on_b)
        assert restored.status_code == 200
        assert (await a.client.get(url, headers=on_a)).json()["value"] == "v2"


async def test_nothing_is_cached_while_a_change_is_pending(
    two_nodes: list[Config], open_api: Any
) -> None:
    async with open_api(two_nodes[0]) as a, open_api(two_nodes[1]) as b:
        on_a, _, secret_id = await _setup(a, b)
        url = f"/api/v1/secrets/{secret_id}"
        token = await b.services.store.begin_change(watch_name(secret_id))
        database_reads = _count_database_reads(a)
        for _ in range(3):
            assert (await a.client.get(url, headers=on_a)).status_code == 200
        assert len(database_reads) == 3
        assert len(secret_cache(a.services)) == 0
        await b.services.store.end_change(watch_name(secret_id), token)
        for _ in range(2):
            assert (await a.client.get(url, headers=on_a)).status_code == 200
        assert len(database_reads) == 4


async def test_the_database_session_store_never_caches(sqlite_api: Api) -> None:
    token, _ = await make_user_session(sqlite_api.services, "alice", "user")
    created = await sqlite_api.client.post(
        "/api/v1/secrets/create",
        json={"path": "users/alice/x", "value": "v"},
        headers=sqlite_api.auth(token),
    )
    url = f"/api/v1/secrets/{created.json()['id']}"
    database_reads = _count_database_reads(sqlite_api)
    for _ in range(3):
        assert (await sqlite_api.client.get(url, headers=sqlite_api.auth(token))).status_code == 200
    assert len(database_reads) == 3
    assert len(secret_cache(sqlite_api.services)) == 0


async def test_burn_after_reading_secrets_are_never_cached(
    two_nodes: list[Config], open_api: Any
) -> None:
    async with open_api(two_nodes[0]) as a:
        token, _ = await make_user_session(a.services, "alice", "user")
        created = await a.client.post(
            "/api/v1/secrets/create",
            json={"path": "users/alice/once", "value": "v", "max_reads": 2},
            headers=a.auth(token),
        )
        url = f"/api/v1/secrets/{created.json()['id']}"
        statuses = [(await a.client.get(url, headers=a.auth(token))).status_code for _ in range(3)]
        assert statuses == [200, 200, 404]
        assert len(secret_cache(a.services)) == 0


async def test_a_cache_size_of_zero_turns_the_cache_off(
    make_config: Callable[..., Config], pg_url: str, open_api: Any
) -> None:
    config = make_config("postgres", redis_store=True, secret_cache_size=0)
    async with open_api(config) as a, open_api(config) as b:
        on_a, _on_b, secret_id = await _setup(a, b)
        url = f"/api/v1/secrets/{secret_id}"
        database_reads = _count_database_reads(a)
        for _ in range(3):
            assert (await a.client.get(url, headers=on_a)).json()["value"] == "v1"
        assert database_reads == [secret_id] * 3  # every read went to the database
        assert len(secret_cache(a.services)) == 0


async def test_a_secret_is_watched_and_cached_from_its_second_read(
    two_nodes: list[Config], open_api: Any, redis_prefix: str
) -> None:
    """Reads spread over many secrets cost Redis no watched values and the node no cache
    churn: the first read of an id only notes it."""
    async with open_api(two_nodes[0]) as a:
        token, _ = await make_user_session(a.services, "alice", "user")
        headers = a.auth(token)
        ids = []
        for n in range(5):
            created = await a.client.post(
                "/api/v1/secrets/create",
                json={"path": f"users/alice/many/{n}", "value": f"v{n}"},
                headers=headers,
            )
            ids.append(created.json()["id"])
        raw = aioredis.Redis.from_url(REDIS_URL, decode_responses=True)
        try:
            keys = [f"{redis_prefix}w:{watch_name(secret_id)}" for secret_id in ids]
            await raw.delete(*keys)  # as if their watched values had expired
            for secret_id in ids:
                response = await a.client.get(f"/api/v1/secrets/{secret_id}", headers=headers)
                assert response.status_code == 200
            assert await raw.exists(*keys) == 0  # no read asked for (or set) a watched value
            assert len(secret_cache(a.services)) == 0
            second = await a.client.get(f"/api/v1/secrets/{ids[0]}", headers=headers)
            assert second.json()["value"] == "v0"
            assert await raw.exists(keys[0]) == 1
            assert len(secret_cache(a.services)) == 1
        finally:
            await raw.aclose()


async def test_a_cancelled_write_leaves_its_mark_pending(
    two_nodes: list[Config], open_api: Any
) -> None:
    """A cancelled request's write may still commit (its batch was sent): its change is not
    closed, so no node caches the row until the mark expires; a write that ends is closed."""
    async with open_api(two_nodes[0]) as a, open_api(two_nodes[1]) as b:
        on_a, _, secret_id = await _setup(a, b)
        url = f"/api/v1/secrets/{secret_id}"
        with pytest.raises(asyncio.CancelledError):
            async with changing(b.services, secret_id):
                raise asyncio.CancelledError
        database_reads = _count_database_reads(a)
        for _ in range(3):
            assert (await a.client.get(url, headers=on_a)).status_code == 200
        assert len(database_reads) == 3  # pending: every read goes to the database
        assert len(secret_cache(a.services)) == 0

        with pytest.raises(ValueError, match="refused"):
            async with changing(b.services, secret_id):
                raise ValueError("refused")  # a write that failed: the change is closed
        for _ in range(3):
            assert (await a.client.get(url, headers=on_a)).status_code == 200
        assert len(database_reads) == 4  # stable again: cached from the next read on
        assert len(secret_cache(a.services)) == 1


async def test_a_destroyed_secret_leaves_the_caches(two_nodes: list[Config], open_api: Any) -> None:
    async with open_api(two_nodes[0]) as a, open_api(two_nodes[1]) as b:
        on_a, on_b, secret_id = await _setup(a, b)
        url = f"/api/v1/secrets/{secret_id}"
        for api, headers in ((a, on_a), (b, on_b), (a, on_a), (b, on_b)):
            assert (await api.client.get(url, headers=headers)).status_code == 200
        assert len(secret_cache(a.services)) == len(secret_cache(b.services)) == 1
        destroyed = await a.client.post(f"{url}/destroy", json={}, headers=on_a)
        assert destroyed.status_code == 200
        # The destroying node drops its copy at once; the other at its next read of it.
        assert len(secret_cache(a.services)) == 0
        assert (await b.client.get(url, headers=on_b)).status_code == 404
        assert len(secret_cache(b.services)) == 0


async def test_entries_past_their_age_are_dropped_unread() -> None:
    """What the sweeper does on every round (secrets/erasure.py): an entry of a secret no one
    reads again (destroyed on another node, say) does not stay in memory."""
    from strongroom.secrets.cache import SecretCache
    from strongroom.secrets.repository import SecretRow, VersionedRow

    cache = SecretCache(capacity=10, max_age=0.05)
    secret = SecretRow("s1", "p", "p", 1, "{}", None, 0, None, None, False, 0.0, 0.0)
    cache.put("s1", "w1", VersionedRow(secret, 1, b"ciphertext", 0.0, b"wrapped"), cache.generation)
    assert cache.drop_aged() == 0 and len(cache) == 1
    await asyncio.sleep(0.1)
    assert cache.drop_aged() == 1 and len(cache) == 0
