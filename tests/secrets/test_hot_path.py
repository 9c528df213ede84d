"""The hot paths: a read is one statement (a write only with max_reads); a PostgreSQL write is
one statement when the node knows the secret's path and version (else a read and one
statement), shares that statement with concurrent writes, loses nothing under contention and
falls back to the row lock."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
import redis.asyncio as aioredis
from sqlalchemy import event, text

from strongroom.config import Config
from strongroom.secrets import repository as repo
from strongroom.secrets import service
from strongroom.secrets.cache import path_memo, watch_name
from strongroom.secrets.hot_writes import hot_writes
from strongroom.sessions.store import is_stable, tag_of
from tests.secrets.conftest import assert_error, create, headers_for, read
from tests.support import REDIS_URL, Api, make_user_session


@contextmanager
def _statements(api: Api) -> Iterator[list[str]]:
    """SQL statements touching the secrets tables while the block runs: through SQLAlchemy,
    and through the raw-driver path of hot statements (`Database.fetch_first`/`fetch_all`)."""
    seen: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if "secret" in statement.lower():
            seen.append(" ".join(statement.split()))

    db = api.services.db
    fetch_first, fetch_all = db.fetch_first, db.fetch_all

    async def recording_fetch_first(sql: str, args: list[Any]) -> Any:
        record(None, None, sql)
        return await fetch_first(sql, args)

    async def recording_fetch_all(sql: str, args: list[Any]) -> Any:
        record(None, None, sql)
        return await fetch_all(sql, args)

    engine = db.engine.sync_engine
    event.listen(engine, "before_cursor_execute", record)
    db.fetch_first = recording_fetch_first  # type: ignore[method-assign]
    db.fetch_all = recording_fetch_all  # type: ignore[method-assign]
    try:
        yield seen
    finally:
        del db.fetch_first, db.fetch_all
        event.remove(engine, "before_cursor_execute", record)


async def test_an_ordinary_read_is_one_select(api: Api, admin: dict[str, str]) -> None:
    secret_id = (await create(api, admin, "hot/path", "v"))["id"]
    await api.client.put(f"/api/v1/secrets/{secret_id}", json={"value": "v2"}, headers=admin)
    for params in ({}, {"version": 1}):
        with _statements(api) as seen:
            response = await read(api, admin, secret_id, **params)
        assert response.status_code == 200
        assert len(seen) == 1, seen
        assert seen[0].startswith("SELECT")
        assert "JOIN secret_versions" in seen[0]
    with _statements(api) as seen:
        response = await api.client.get("/api/v1/secrets/by-path/hot/path", headers=admin)
    assert response.status_code == 200
    assert len(seen) == 1 and seen[0].startswith("SELECT"), seen


async def test_a_counted_read_writes_in_one_transaction(api: Api, admin: dict[str, str]) -> None:
    secret_id = (await create(api, admin, "hot/counted", "v", max_reads=5))["id"]
    with _statements(api) as seen:
        response = await read(api, admin, secret_id)
    assert response.json()["reads"] == 1
    assert [s.split()[0] for s in seen] == ["SELECT", "UPDATE", "SELECT"], seen


async def test_the_response_forbids_caching(api: Api, admin: dict[str, str]) -> None:
    secret_id = (await create(api, admin, "hot/cache", "v"))["id"]
    response = await read(api, admin, secret_id)
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["content-type"] == "application/json"


async def test_a_write_is_one_statement_on_postgresql_and_one_plan_on_sqlite(
    api: Api, admin: dict[str, str]
) -> None:
    """PostgreSQL: a read and one statement (the CTE write). SQLite: no statement on the
    event loop's connections; the plan runs in the writer thread, one group committed."""
    db = api.services.db
    secret_id = (await create(api, admin, "hot/written", "v1"))["id"]
    groups_before = db._writer.groups_committed if db._writer is not None else 0
    with _statements(api) as seen:
        response = await api.client.put(
            f"/api/v1/secrets/{secret_id}", json={"value": "v2"}, headers=admin
        )
    assert response.status_code == 200 and response.json()["version"] == 2, response.text
    if db.is_sqlite:
        assert seen == [], seen
        assert db._writer is not None and db._writer.groups_committed == groups_before + 1
    else:
        assert [s.split()[0] for s in seen] == ["SELECT", "WITH"], seen
    assert (await read(api, admin, secret_id)).json()["value"] == "v2"


async def test_concurrent_writes_to_one_secret_lose_nothing(
    api: Api, admin: dict[str, str]
) -> None:
    secret_id = (await create(api, admin, "hot/contended", "v0"))["id"]
    url = f"/api/v1/secrets/{secret_id}"
    responses = await asyncio.gather(
        *(api.client.put(url, json={"value": f"v{n}"}, headers=admin) for n in range(1, 31))
    )
    assert all(r.status_code == 200 for r in responses), [r.text for r in responses]
    written = {r.json()["version"]: r.request.content for r in responses}
    assert sorted(written) == list(range(2, 32))  # every write has its own version
    kept = range(32 - api.services.settings.secrets.max_versions, 32)
    for version in kept:
        value = (await read(api, admin, secret_id, version=version)).json()["value"]
        assert f'"{value}"'.encode() in written[version]
    assert (await read(api, admin, secret_id)).json()["version"] == 31


async def test_a_write_that_keeps_losing_the_race_queues_on_the_row_lock(
    api: Api, admin: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A stale read (another writer won between the read and the write) makes the one-statement
    write change nothing; after the last try the locking transaction writes the version."""
    secret_id = (await create(api, admin, "hot/stale", "v1"))["id"]
    reads = repo.hot_reads(api.services.db)
    real = reads.secret
    stale: list[int] = []

    async def stale_secret(self: repo.HotReads, sid: str) -> repo.SecretRow | None:
        row = await real(sid)
        if row is None:
            return None
        stale.append(row.current_version)
        return dataclasses.replace(row, current_version=row.current_version - 1)

    monkeypatch.setattr(repo.HotReads, "secret", stale_secret)
    response = await api.client.put(
        f"/api/v1/secrets/{secret_id}", json={"value": "v2"}, headers=admin
    )
    monkeypatch.undo()
    assert response.status_code == 200 and response.json()["version"] == 2, response.text
    if not api.services.db.is_sqlite:
        assert stale == [1] * service.OPTIMISTIC_TRIES
    assert (await read(api, admin, secret_id)).json()["value"] == "v2"
    assert (await read(api, admin, secret_id, version=1)).json()["value"] == "v1"


async def test_a_write_sets_the_ttl_and_metadata_it_names_and_keeps_the_rest(
    api: Api, admin: dict[str, str]
) -> None:
    """Both forms of the write (one statement; the transaction when metadata changes)."""
    secret_id = (await create(api, admin, "hot/forms", "v1", metadata={"team": "a"}))["id"]
    url = f"/api/v1/secrets/{secret_id}"
    with_ttl = await api.client.put(url, json={"value": "v2", "ttl": "1h"}, headers=admin)
    assert with_ttl.status_code == 200, with_ttl.text
    expires_at = with_ttl.json()["expires_at"]
    assert expires_at is not None and with_ttl.json()["metadata"] == {"team": "a"}
    plain = await api.client.put(url, json={"value": "v3"}, headers=admin)
    assert plain.json()["expires_at"] == expires_at and plain.json()["version"] == 3
    tagged = await api.client.put(
        url, json={"value": "v4", "metadata": {"team": "b"}}, headers=admin
    )
    assert tagged.json()["metadata"] == {"team": "b"} and tagged.json()["version"] == 4
    body = (await read(api, admin, secret_id)).json()
    assert (body["value"], body["metadata"], body["expires_at"]) == (
        "v4",
        {"team": "b"},
        expires_at,
    )


async def test_the_wipe_walks_only_the_versions_that_hold_a_ciphertext(api: Api) -> None:
    """The wipe of every write searches the partial index of held versions (at most
    max_versions a secret), not the primary key over every version ever written."""
    wipe = hot_writes(api.services.db)._wipe.sql
    async with api.services.db.connect() as conn:
        if api.services.db.is_sqlite:
            placeholders = [None] * wipe.count("?")
            raw = await conn.get_raw_connection()
            plan = await raw.driver_connection.execute(f"EXPLAIN QUERY PLAN {wipe}", placeholders)
            details = " ".join(str(row[-1]) for row in await plan.fetchall())
            assert "USING INDEX ix_secret_versions_held" in details, details
        else:
            definition = (
                await conn.execute(
                    text("SELECT indexdef FROM pg_indexes WHERE indexname = :name"),
                    {"name": "ix_secret_versions_held"},
                )
            ).scalar_one()
            assert "(secret_id, version) WHERE (ciphertext IS NOT NULL)" in definition


# --- PostgreSQL + Redis: the write without a read, and writes that share a statement ----------


@pytest.fixture
async def shared_node(
    make_config: Callable[..., Config], pg_url: str, open_api: Any
) -> AsyncIterator[Api]:
    """A node on PostgreSQL with the Redis session store (which carries the version hint)."""
    async with open_api(make_config("postgres", redis_store=True)) as api:
        yield api


async def _put(api: Api, headers: dict[str, str], secret_id: str, **body: Any) -> Any:
    return await api.client.put(f"/api/v1/secrets/{secret_id}", json=body, headers=headers)


async def _watched_key(api: Api, secret_id: str) -> str:
    return f"{api.services.config.redis_prefix}w:{watch_name(secret_id)}"


async def test_a_write_of_a_secret_the_node_knows_is_one_statement(shared_node: Api) -> None:
    """The node remembers the path (paths never change) and the watched value carries the
    version: no read before the write. `cas` is its own hint; a wrong one still gets 409."""
    api = shared_node
    admin = await headers_for(api, "root", "admin")
    secret_id = (await create(api, admin, "hot/known", "v1"))["id"]
    with _statements(api) as seen:
        response = await _put(api, admin, secret_id, value="v2")
    assert response.status_code == 200 and response.json()["version"] == 2, response.text
    assert [s.split()[0] for s in seen] == ["WITH"], seen
    with _statements(api) as seen:
        response = await _put(api, admin, secret_id, value="v3", cas=2)
    assert response.status_code == 200 and response.json()["version"] == 3, response.text
    assert [s.split()[0] for s in seen] == ["WITH"], seen
    assert_error(await _put(api, admin, secret_id, value="v4", cas=2), 409, "cas_mismatch")
    current = (await read(api, admin, secret_id)).json()
    assert (current["version"], current["value"]) == (3, "v3")
    assert (await read(api, admin, secret_id, version=2)).json()["value"] == "v2"


async def test_a_wrong_version_hint_costs_a_read_and_writes_the_right_version(
    shared_node: Api,
) -> None:
    api = shared_node
    admin = await headers_for(api, "root", "admin")
    secret_id = (await create(api, admin, "hot/hinted", "v1"))["id"]
    assert (await _put(api, admin, secret_id, value="v2")).status_code == 200
    raw = aioredis.Redis.from_url(REDIS_URL, decode_responses=True)
    try:
        # As if another node's end of change had been lost after this one's: a stale tag.
        await raw.set(await _watched_key(api, secret_id), "elsewhere:1#1")
        with _statements(api) as seen:
            response = await _put(api, admin, secret_id, value="v3")
        assert response.status_code == 200 and response.json()["version"] == 3, response.text
        assert [s.split()[0] for s in seen] == ["WITH", "SELECT", "WITH"], seen
        assert (await read(api, admin, secret_id)).json()["value"] == "v3"  # bound to v3
        assert tag_of(await raw.get(await _watched_key(api, secret_id))) == "3"
    finally:
        await raw.aclose()


async def test_a_remembered_path_is_still_checked_against_the_caller_policy(
    shared_node: Api,
) -> None:
    api = shared_node
    admin = await headers_for(api, "root", "admin")
    secret_id = (await create(api, admin, "team/db", "v1"))["id"]
    assert (await _put(api, admin, secret_id, value="v2")).status_code == 200
    assert path_memo(api.services).get(secret_id) == "team/db"
    bob, _ = await make_user_session(api.services, "bob", "user")
    with _statements(api) as seen:
        refused = await _put(api, api.auth(bob), secret_id, value="bob was here")
    assert_error(refused, 404)  # outside bob's rules: answered like an unknown id
    assert seen == []  # refused before the database was asked anything
    current = (await read(api, admin, secret_id)).json()
    assert (current["version"], current["value"]) == (2, "v2")
    raw = aioredis.Redis.from_url(REDIS_URL, decode_responses=True)
    try:  # the change the session check began was closed again
        assert is_stable(await raw.get(await _watched_key(api, secret_id)))
    finally:
        await raw.aclose()


async def test_concurrent_writes_share_statements_and_each_stands_alone(
    shared_node: Api,
) -> None:
    """Bumps waiting at the same time leave as one statement (db/batch.py); a secret that is
    not live fails alone, and every other write gets its own version and value."""
    api = shared_node
    admin = await headers_for(api, "root", "admin")
    ids = [(await create(api, admin, f"hot/many/{n}", "v1"))["id"] for n in range(20)]
    gone = ids[7]
    assert (await api.client.delete(f"/api/v1/secrets/{gone}", headers=admin)).status_code == 200
    batches_before = hot_writes(api.services.db).batcher.batches
    responses = await asyncio.gather(
        *(_put(api, admin, secret_id, value=f"new {n}") for n, secret_id in enumerate(ids))
    )
    statements = hot_writes(api.services.db).batcher.batches - batches_before
    assert_error(responses[7], 404)
    for n, (secret_id, response) in enumerate(zip(ids, responses, strict=True)):
        if secret_id == gone:
            continue
        assert response.status_code == 200 and response.json()["version"] == 2, response.text
        assert (await read(api, admin, secret_id)).json()["value"] == f"new {n}"
    assert statements < len(ids) - 1, statements  # they did not go one by one


async def test_concurrent_reads_share_statements_on_postgresql(shared_node: Api) -> None:
    """Reads of current versions that wait together leave as one statement; each gets its
    own secret, and a secret deleted meanwhile is missing from it alone."""
    api = shared_node
    admin = await headers_for(api, "root", "admin")
    ids = [(await create(api, admin, f"hot/read/{n}", f"value {n}"))["id"] for n in range(20)]
    assert (await api.client.delete(f"/api/v1/secrets/{ids[3]}", headers=admin)).status_code == 200
    reads = repo.hot_reads(api.services.db)
    assert reads._batcher is not None
    before = reads._batcher.batches
    responses = await asyncio.gather(*(read(api, admin, secret_id) for secret_id in ids))
    statements = reads._batcher.batches - before
    assert_error(responses[3], 404)
    for n, response in enumerate(responses):
        if n != 3:
            assert response.status_code == 200, response.text
            assert (response.json()["id"], response.json()["value"]) == (ids[n], f"value {n}")
    assert statements < len(ids) - 1, statements
