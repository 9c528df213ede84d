"""SECURITY.md 28 at the store level: while Redis is unreachable every store operation fails
with StoreUnavailable (never a success), and after Redis is back revocations still hold."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Any

import pytest
from redis import exceptions as redis_errors

from strongroom.db import Database
from strongroom.sessions.redis_store import RedisSessionStore
from strongroom.sessions.store import (
    AuthOutcome,
    FailureCounter,
    RotateRequest,
    SessionStore,
    StoreUnavailable,
)
from tests.sessions.conftest import Issued, issue
from tests.sessions.loading_redis import FailingRedis
from tests.sessions.private_redis import PrivateRedis

IP = "198.51.100.10"
OK = AuthOutcome.ok


@pytest.fixture
async def store(private_redis: PrivateRedis, ledger: Database) -> AsyncIterator[RedisSessionStore]:
    opened = RedisSessionStore(private_redis.url, prefix="sr:", db=ledger)
    yield opened
    await opened.close()


def every_operation(
    store: SessionStore, issued: Issued, at: float
) -> dict[str, Callable[[], Awaitable[Any]]]:
    """One call of each SessionStore method that talks to the store."""
    session, counter = issued.session, FailureCounter("user:alice", 3, 60, 60)
    renew = RotateRequest(issued.refresh_hash, "a" * 64, "b" * 64, at, IP, 60, 600)
    return {
        "create": lambda: store.create(session),
        "authenticate": lambda: store.authenticate(issued.access_hash, IP, at, ""),
        "peek_refresh": lambda: store.peek_refresh(issued.refresh_hash, at),
        "rotate": lambda: store.rotate(renew),
        "lookup": lambda: store.lookup(issued.access_hash, at),
        "revoke_token": lambda: store.revoke_token(issued.access_hash),
        "revoke_session": lambda: store.revoke_session(issued.id),
        "revoke_user_sessions": lambda: store.revoke_user_sessions(session.user_id),
        "get_session": lambda: store.get_session(issued.id, at),
        "list_sessions": lambda: store.list_sessions(None, at, limit=10, cursor=None),
        "reserve_login": lambda: store.reserve_login([counter], at),
        "settle_login": lambda: store.settle_login([counter], at, failed=True),
        "record_login_failure": lambda: store.record_login_failure([counter], at),
        "login_lockout": lambda: store.login_lockout([counter.key], at),
        "clear_login_failures": lambda: store.clear_login_failures(counter.key),
        "get_epoch": lambda: store.get_epoch(),
        "bump_epoch": lambda: store.bump_epoch(),
        "sweep": lambda: store.sweep(at),
        "count_sessions": lambda: store.count_sessions(at),
        "begin_change": lambda: store.begin_change("secret:x"),
        "end_change": lambda: store.end_change("secret:x", "pending:x"),
    }


async def test_every_store_method_is_exercised(ledger: Database) -> None:
    """The list above stays complete when the Protocol grows."""
    unused = RedisSessionStore("redis://127.0.0.1:1/0", prefix="p:", db=ledger)
    methods = {name for name in dir(SessionStore) if not name.startswith("_")}
    # flush writes nothing for Redis (it counts in place), so it cannot fail.
    assert methods - {"name", "generation", "ping", "close", "flush"} == set(
        every_operation(unused, issue(0.0), 0.0)
    )
    await unused.close()


async def test_outage_fails_closed_and_revocations_survive_a_crash(
    private_redis: PrivateRedis, store: RedisSessionStore, t0: float
) -> None:
    kept, revoked, probe = issue(t0), issue(t0), issue(t0)
    for one in (kept, revoked):
        await store.create(one.session)
    assert (await store.authenticate(kept.access_hash, IP, t0 + 1, "")).outcome is AuthOutcome.ok
    assert await store.revoke_token(revoked.access_hash) is True

    private_redis.kill()
    assert await store.ping() is False
    answered: list[str] = []
    for name, call in every_operation(store, probe, t0 + 2).items():
        try:
            await call()  # any other error fails the test too
        except StoreUnavailable:
            continue
        answered.append(name)
    assert answered == []
    # Many concurrent requests: every one is refused, none succeeds.
    results = await asyncio.gather(
        *(store.authenticate(kept.access_hash, IP, t0 + 2, "") for _ in range(20)),
        return_exceptions=True,
    )
    assert all(isinstance(result, StoreUnavailable) for result in results)

    private_redis.start()  # same port, same append-only file
    assert await store.ping() is True
    epoch = await store.get_epoch()  # a new one: the restart started a new generation
    again = await store.authenticate(revoked.access_hash, IP, t0 + 3, epoch)
    assert again.outcome is AuthOutcome.invalid
    assert await store.peek_refresh(revoked.refresh_hash, t0 + 3) is None
    # A new Redis process may hold less than the one before (sessions/generation.py): the
    # sessions of before the restart ended too, even with every write fsynced; users log in
    # again, and their new sessions work.
    for token in (kept.access_hash, revoked.access_hash):
        result = await store.authenticate(token, IP, t0 + 3, epoch)
        assert result.outcome is AuthOutcome.invalid
    await store.create(probe.session)
    assert (await store.authenticate(probe.access_hash, IP, t0 + 4, epoch)).outcome is OK


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A port that accepts connections (the kernel's backlog) and never answers."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(64)
        yield int(listener.getsockname()[1])


@pytest.mark.slow
async def test_a_redis_that_never_answers_fails_instead_of_hanging(
    silent_port: int, ledger: Database, t0: float
) -> None:
    store = RedisSessionStore(f"redis://127.0.0.1:{silent_port}/0", prefix="sr:", db=ledger)
    try:
        with pytest.raises(StoreUnavailable):
            await store.authenticate("a" * 64, IP, t0, "")
        assert await store.ping() is False
    finally:
        await store.close()


NOT_NOW = [
    "LOADING Redis is loading the dataset in memory",
    "BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE.",
    "MASTERDOWN Link with MASTER is down and replica-serve-stale-data is set to 'no'.",
    "READONLY You can't write against a read only replica.",
    "TRYAGAIN Multiple keys request during rehashing of slot",
    "CLUSTERDOWN The cluster is down",
    "NOREPLICAS Not enough good replicas to write.",
    "MISCONF Redis is configured to save RDB snapshots, but it's currently unable to persist",
    "OOM command not allowed when used memory > 'maxmemory'.",
]


@pytest.mark.redis
@pytest.mark.parametrize("error", NOT_NOW, ids=lambda error: error.split()[0])
async def test_replies_that_mean_not_now_are_unavailable(
    error: str, ledger: Database, redis_prefix: str, t0: float
) -> None:
    """Issue 17, finding 3: each error a restarting or failing-over Redis answers is a 503,
    on the connection in use and on the new ones made after it."""
    async with FailingRedis() as stand_in:
        store = RedisSessionStore(stand_in.url, prefix=redis_prefix, db=ledger)
        try:
            issued = issue(t0)
            await store.create(issued.session)  # through the stand-in, still relaying
            stand_in.fail_with(error)
            for _round in range(2):
                for call in every_operation(store, issued, t0 + 1).values():
                    with pytest.raises(StoreUnavailable):
                        await call()
            assert await store.ping() is False
        finally:
            await store.close()


@pytest.mark.redis
async def test_any_other_error_reply_stays_an_error(
    ledger: Database, redis_prefix: str, t0: float
) -> None:
    """A reply no outage explains is a bug, not an outage: it is not disguised as a 503."""
    async with FailingRedis() as stand_in:
        store = RedisSessionStore(stand_in.url, prefix=redis_prefix, db=ledger)
        try:
            issued = issue(t0)
            await store.create(issued.session)
            stand_in.fail_with("ERR wrong number of arguments for 'evalsha' command")
            with pytest.raises(redis_errors.ResponseError):
                await store.authenticate(issued.access_hash, IP, t0 + 1, "")
        finally:
            await store.close()
