"""SECURITY.md 45 at the store level: a Redis restarted from an old snapshot, or empty, or
flushed, never brings a dead token back, on any node (sessions/generation.py).

Each test runs its own redis-server with Redis's default persistence (RDB snapshots) and two
store objects on it (two nodes) that record the generation in one database."""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from strongroom.db import Database
from strongroom.sessions.generation import decide
from strongroom.sessions.ledger import GenerationLedger, Recorded
from strongroom.sessions.redis_store import RedisSessionStore
from strongroom.sessions.store import AuthOutcome, RotateOutcome, SessionStore
from tests.conftest import need
from tests.sessions.conftest import Issued, issue
from tests.sessions.private_redis import PrivateRedis
from tests.sessions.test_conformance import IP, renewal

OK, INVALID = AuthOutcome.ok, AuthOutcome.invalid
PREFIX = "gen:"


@pytest.fixture
def rdb_redis(tmp_path: Path) -> Iterator[PrivateRedis]:
    need(shutil.which("redis-server") is not None, "redis-server")
    server = PrivateRedis(tmp_path / "redis", persistence="rdb")
    server.start()
    try:
        yield server
    finally:
        server.kill()


@dataclass
class Nodes:
    a: RedisSessionStore
    b: RedisSessionStore

    def __iter__(self) -> Iterator[RedisSessionStore]:
        return iter((self.a, self.b))


@pytest.fixture
async def nodes(rdb_redis: PrivateRedis, ledger: Database) -> AsyncIterator[Nodes]:
    a = RedisSessionStore(rdb_redis.url, prefix=PREFIX, db=ledger)
    b = RedisSessionStore(rdb_redis.url, prefix=PREFIX, db=ledger)
    yield Nodes(a, b)
    await a.close()
    await b.close()


async def crash_and_restart(server: PrivateRedis, *, empty: bool = False) -> None:
    """kill -9 and start again (from the last snapshot, or `empty`). The nodes' event loop
    runs in between, as it would while a real Redis restarts: they see their connections
    drop."""
    server.kill()
    await asyncio.sleep(0.05)
    if empty:
        server.forget_data()
    server.start()


async def accepted(store: SessionStore, access_hash: str, at: float) -> bool:
    """Whether any way of using the access token works on this node."""
    result = await store.authenticate(access_hash, IP, at, await store.get_epoch())
    if result.outcome is AuthOutcome.stale:  # a new generation came with a new epoch
        result = await store.authenticate(access_hash, IP, at, result.epoch)
    assert result.outcome is not AuthOutcome.stale
    return result.outcome is OK or await store.lookup(access_hash, at) is not None


async def refresh_works(store: SessionStore, issued: Issued, at: float) -> bool:
    if await store.peek_refresh(issued.refresh_hash, at) is not None:
        return True
    request, _, _ = renewal(issued, at)
    return (await store.rotate(request)).outcome is RotateOutcome.ok


async def test_a_restart_from_an_old_snapshot_brings_no_dead_token_back(
    rdb_redis: PrivateRedis, nodes: Nodes, t0: float
) -> None:
    revoked, ended, rotated, kept = (issue(t0) for _ in range(4))
    used_up = issue(t0, max_uses=1)
    for one in (revoked, ended, rotated, kept, used_up):
        await nodes.a.create(one.session)
    before = nodes.a.generation
    rdb_redis.save()
    # Everything below happens after the snapshot, so the restart undoes it in Redis.
    assert await nodes.b.revoke_token(revoked.access_hash)
    assert await nodes.a.revoke_session(ended.id)
    request, new_access, _ = renewal(rotated, t0 + 1)
    assert (await nodes.b.rotate(request)).outcome is RotateOutcome.ok
    assert (await nodes.a.authenticate(used_up.access_hash, IP, t0 + 1, "")).outcome is OK
    assert not await accepted(nodes.b, used_up.access_hash, t0 + 2)

    await crash_and_restart(rdb_redis)  # the revoked, ended and rotated sessions are back
    raw = rdb_redis.client()
    assert raw.exists(f"{PREFIX}s:{revoked.id}", f"{PREFIX}s:{ended.id}") == 2
    raw.close()

    for node in nodes:
        for dead in (revoked, ended, rotated, used_up, kept):
            assert not await accepted(node, dead.access_hash, t0 + 3)
            assert not await refresh_works(node, dead, t0 + 3)
        assert not await accepted(node, new_access, t0 + 3)
        assert node.generation not in ("", before)
    assert nodes.a.generation == nodes.b.generation  # one new generation, not one per node

    fresh = issue(t0 + 3)
    await nodes.b.create(fresh.session)
    assert await accepted(nodes.a, fresh.access_hash, t0 + 4)

    # Ever: the same snapshot loaded again changes nothing (and the new session, not in it,
    # is gone: its users log in once more).
    await crash_and_restart(rdb_redis)
    for node in nodes:
        for dead in (revoked, ended, rotated, kept, fresh):
            assert not await accepted(node, dead.access_hash, t0 + 5)


async def test_a_restart_empty_and_a_flush_end_every_session(
    rdb_redis: PrivateRedis, nodes: Nodes, t0: float
) -> None:
    first = issue(t0)
    await nodes.a.create(first.session)
    await crash_and_restart(rdb_redis, empty=True)
    second = issue(t0 + 1)
    await nodes.b.create(second.session)
    assert await accepted(nodes.a, second.access_hash, t0 + 2)

    # A flush keeps the process (no new connection): the scripts notice the missing key and
    # the nodes put it back (the flush lost every session; nothing can come back).
    raw = rdb_redis.client()
    raw.flushall()
    raw.close()
    for node in nodes:
        for dead in (first, second):
            assert not await accepted(node, dead.access_hash, t0 + 3)
    third = issue(t0 + 3)
    await nodes.a.create(third.session)
    for node in nodes:
        assert await accepted(node, third.access_hash, t0 + 4)


async def test_nodes_reconnecting_at_once_agree_on_one_new_generation(
    rdb_redis: PrivateRedis, ledger: Database, t0: float
) -> None:
    stores = [RedisSessionStore(rdb_redis.url, prefix=PREFIX, db=ledger) for _ in range(6)]
    try:
        await asyncio.gather(*(store.get_epoch() for store in stores))
        record = GenerationLedger(ledger, PREFIX)
        before = await record.current()
        assert before is not None
        await crash_and_restart(rdb_redis)
        await asyncio.gather(*(store.get_epoch() for store in stores))
        after = await record.current()
        assert after is not None and after.generation == before.generation + 1
        assert {store.generation for store in stores} == {str(after.generation)}
        assert after.identity != before.identity
    finally:
        for store in stores:
            await store.close()


async def test_the_secret_caches_keys_change_with_the_generation(
    rdb_redis: PrivateRedis, nodes: Nodes, t0: float
) -> None:
    """What a cache keyed on watched values relies on: a rolled-back watched value comes
    back, but under a new generation."""
    session = issue(t0)
    await nodes.a.create(session.session)
    epoch = await nodes.a.get_epoch()
    read = await nodes.a.authenticate(session.access_hash, IP, t0, epoch, watch="secret:x")
    rdb_redis.save()
    token = await nodes.b.begin_change("secret:x")
    await nodes.b.end_change("secret:x", token, "2")
    generation = nodes.a.generation
    await crash_and_restart(rdb_redis)
    fresh = issue(t0 + 1)
    await nodes.a.create(fresh.session)
    epoch = await nodes.a.get_epoch()
    again = await nodes.a.authenticate(fresh.access_hash, IP, t0 + 1, epoch, watch="secret:x")
    assert again.watched == read.watched  # rolled back...
    assert nodes.a.generation != generation  # ...in a generation every cache drops


def test_what_each_situation_decides() -> None:
    recorded = Recorded(4, "run-a/repl-a", 0.0)
    same = decide(recorded, "run-a/repl-a", 4)
    assert (same.generation, same.write, same.loss) == (4, "none", "")
    # A raise that has not reached Redis yet (or a flush: it loses sessions, revives none).
    for stored in (3, None):
        behind = decide(recorded, "run-a/repl-a", stored)
        assert (behind.generation, behind.write, behind.loss) == (4, "none", "")
    for identity, stored in (
        ("run-b/repl-a", 4),  # restarted (from a snapshot, or with every write)
        ("run-a/repl-b", 4),  # resynchronised from another server, same process
        ("run-b/repl-b", None),  # restarted empty
        ("run-a/repl-a", 9),  # ahead of a database restored from a backup
    ):
        moved = decide(recorded, identity, stored)
        assert moved.write == "advance" and moved.expected == 4 and moved.loss
        assert moved.generation == max(4, stored or 0) + 1
    first = decide(None, "run-a/repl-a", None)
    assert (first.generation, first.write, first.loss) == (1, "start", "")
    unknown = decide(None, "run-a/repl-a", 7)
    assert (unknown.generation, unknown.write) == (8, "start") and unknown.loss
