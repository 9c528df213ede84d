"""What only the Redis store has: key expiry by Redis itself, one round trip per
authentication, lazy clean-up of its indexes, and the script cache."""

from __future__ import annotations

import asyncio
import math

import pytest
import redis.asyncio as aioredis

from strongroom.db import Database
from strongroom.sessions.redis_scripts import INFO_FIELDS
from strongroom.sessions.redis_scripts import SCHEDULE_SLACK_SECONDS as SLACK
from strongroom.sessions.redis_store import RedisSessionStore, _parse_info
from strongroom.sessions.store import AuthOutcome, FailureCounter, RotateOutcome, SessionInfo
from tests.sessions.conftest import Backend, issue
from tests.sessions.private_redis import PrivateRedis
from tests.sessions.test_conformance import IP, renewal
from tests.support import REDIS_URL

pytestmark = pytest.mark.redis


@pytest.fixture
def storage(redis_prefix: str) -> tuple[str, str]:
    """Only the Redis store in this module."""
    return "redis", redis_prefix


def _as_reply(info: SessionInfo) -> list[str | None]:
    """A session as the scripts return it: the hash's strings, in INFO_FIELDS order."""

    def text(value: object) -> str | None:
        if value is None:
            return None
        if isinstance(value, bool):
            return "1" if value else "0"
        return str(value)

    return [text(getattr(info, name)) for name in INFO_FIELDS]


def test_a_session_reply_is_read_by_position_and_a_missing_field_is_named() -> None:
    info = SessionInfo(
        id="s1", user_id="u1", username="ann", role="user", auth_method="password",
        created_at=1.25, last_used_at=2.5, access_expires_at=3.75, refresh_expires_at=None,
        max_expires_at=9.5, idle_timeout=60.0, bound_ip="198.51.100.4", uses=3, max_uses=None,
        one_time=True, scope="secrets/*", client_id=None, ip="203.0.113.7", user_agent="curl",
    )  # fmt: skip
    assert _parse_info(_as_reply(info)) == info
    other = SessionInfo(
        id="s2", user_id="u2", username="bo", role="admin", auth_method="github",
        created_at=1.0, last_used_at=1.0, access_expires_at=2.0, refresh_expires_at=5.0,
        max_expires_at=9.0, idle_timeout=None, bound_ip=None, uses=0, max_uses=7,
        one_time=False, scope="", client_id="ci", ip=None, user_agent=None,
    )  # fmt: skip
    assert _parse_info(_as_reply(other)) == other
    for name in ("id", "created_at", "uses"):
        broken = _as_reply(info)
        broken[INFO_FIELDS.index(name)] = None
        with pytest.raises(ValueError, match=f"lacks {name}"):
            _parse_info(broken)
    with pytest.raises(ValueError, match="fields"):
        _parse_info(_as_reply(info)[:-1])


async def key_deadlines(prefix: str) -> dict[str, int]:
    """Every key under `prefix` with its expiry in ms since the epoch (-1: none)."""
    client = aioredis.Redis.from_url(REDIS_URL, decode_responses=True)
    try:
        keys = [key async for key in client.scan_iter(match=f"{prefix}*")]
        return {key[len(prefix) :]: await client.pexpiretime(key) for key in keys}
    finally:
        await client.aclose()


async def test_every_key_expires_with_its_session(
    backend: Backend, redis_prefix: str, t0: float
) -> None:
    store = backend.store
    short = issue(t0, user_id="alice", access_ttl=60, refresh_ttl=None, lifetime=3600)
    long = issue(t0, user_id="alice", access_ttl=60, refresh_ttl=600, lifetime=3600)
    idle = issue(t0, user_id="bob", access_ttl=600, refresh_ttl=900, idle_timeout=100)
    for one in (short, long, idle):
        await store.create(one.session)
    assert (await store.authenticate(idle.access_hash, IP, t0 + 50, "")).outcome is AuthOutcome.ok
    request, new_access, new_refresh = renewal(long, t0 + 10)
    assert (await store.rotate(request)).outcome is RotateOutcome.ok
    await store.record_login_failure([FailureCounter("ip:a", 1, 60, 300)], t0)  # locks
    await store.record_login_failure([FailureCounter("ip:b", 5, 60, 300)], t0)  # counts

    deadlines = await key_deadlines(redis_prefix)
    # No key lives for ever but the store's generation (sessions/generation.py): without it
    # every node would take the store for one that lost its data.
    assert deadlines.pop("gen") == -1
    assert all(at > 0 for at in deadlines.values()), deadlines

    def ms(at: float) -> int:
        return math.ceil(at * 1000)

    # Keys live SLACK beyond the session's end, so that use does not move them every time.
    long_end = ms(t0 + 10 + 600 + SLACK)  # the rotated refresh token's expiry
    # Created with its end at t0 + 100 (idle timeout); the use at t0 + 50 moved the end to
    # t0 + 150, still within the slack of the keys' t0 + 160: they were left alone.
    idle_end = ms(t0 + 100 + SLACK)
    assert deadlines[f"s:{short.id}"] == ms(t0 + 60 + SLACK)
    assert deadlines[f"t:{short.access_hash}"] == ms(t0 + 60 + SLACK)
    assert deadlines[f"s:{long.id}"] == long_end
    assert deadlines[f"t:{new_access}"] == long_end
    assert deadlines[f"r:{new_refresh}"] == ms(t0 + 10 + 600)  # a refresh key: exactly its token
    assert deadlines[f"ru:{long.refresh_hash}"] == ms(t0 + 3600)  # reuse detection
    assert f"t:{long.access_hash}" not in deadlines
    assert deadlines[f"s:{idle.id}"] == idle_end
    assert deadlines[f"r:{idle.refresh_hash}"] == idle_end
    assert deadlines["u:alice"] == long_end
    assert deadlines["u:bob"] == idle_end
    assert deadlines["a"] == deadlines["e"] == long_end
    assert deadlines["lk:ip:a"] == ms(t0 + 300)
    assert deadlines["lf:ip:b"] == ms(t0 + 60)
    assert "lf:ip:a" not in deadlines
    # A use past the slack moves the keys: end t0 + 90 + 100, kept until SLACK after that.
    assert (await store.authenticate(idle.access_hash, IP, t0 + 90, "")).outcome is AuthOutcome.ok
    moved = await key_deadlines(redis_prefix)
    assert moved[f"s:{idle.id}"] == moved[f"t:{idle.access_hash}"] == ms(t0 + 190 + SLACK)


async def test_sweep_empties_the_indexes(backend: Backend, redis_prefix: str, t0: float) -> None:
    live = issue(t0, user_id="alice")
    dead = [issue(t0, user_id=user, access_ttl=10, refresh_ttl=None) for user in ("alice", "bob")]
    for one in (live, *dead):
        await backend.store.create(one.session)
    # Refused from t0 + 10 (authenticate checks the exact time); swept once their keys'
    # slack is over too.
    assert await backend.store.sweep(t0 + 20 + SLACK) == 2
    client = aioredis.Redis.from_url(REDIS_URL, decode_responses=True)
    try:
        assert await client.zrange(f"{redis_prefix}a", 0, -1) == [live.id]
        assert await client.zrange(f"{redis_prefix}e", 0, -1) == [f"{live.id}|alice"]
        assert await client.zrange(f"{redis_prefix}u:alice", 0, -1) == [live.id]
        assert await client.exists(f"{redis_prefix}u:bob") == 0
        assert set(await key_deadlines(redis_prefix)) == {
            f"s:{live.id}",
            f"t:{live.access_hash}",
            f"r:{live.refresh_hash}",
            "a",
            "e",
            "u:alice",
            "gen",
        }
    finally:
        await client.aclose()


async def test_index_members_of_expired_sessions_are_dropped_when_listing(
    backend: Backend, redis_prefix: str, t0: float
) -> None:
    gone, kept = issue(t0, user_id="alice"), issue(t0 + 1, user_id="alice")
    for one in (gone, kept):
        await backend.store.create(one.session)
    client = aioredis.Redis.from_url(REDIS_URL, decode_responses=True)
    try:
        # As if Redis had expired the session hash before any sweep ran.
        await client.delete(f"{redis_prefix}s:{gone.id}")
        page = await backend.store.list_sessions("alice", t0 + 2, limit=10, cursor=None)
        assert [info.id for info in page.items] == [kept.id]
        assert await client.zscore(f"{redis_prefix}u:alice", gone.id) is None
        assert await client.zscore(f"{redis_prefix}u:alice", kept.id) is not None
    finally:
        await client.aclose()


def test_repr_shows_no_url_or_password(ledger: Database) -> None:
    store = RedisSessionStore("redis://:hunter2-secret@127.0.0.1:6379/0", prefix="sr:", db=ledger)
    assert "hunter2" not in repr(store)
    assert "127.0.0.1" not in repr(store)


async def test_authenticate_is_one_script_call(
    private_redis: PrivateRedis, ledger: Database, t0: float
) -> None:
    store = RedisSessionStore(private_redis.url, prefix="sr:", db=ledger)
    raw = aioredis.Redis.from_url(private_redis.url, decode_responses=True)
    try:
        issued = issue(t0)
        await store.create(issued.session)
        await store.authenticate(issued.access_hash, IP, t0 + 1, "")  # connection set up
        async with asyncio.timeout(10), raw.monitor() as monitor:
            result = await store.authenticate(issued.access_hash, IP, t0 + 2, "")
            await raw.echo("end of test")  # on another connection than the monitor's
            seen: list[tuple[str, str]] = []
            while True:
                command = await monitor.next_command()
                if command["command"] == "ECHO end of test":
                    marker = command["client_port"]
                    break
                if command["client_type"] != "lua":  # not the commands inside the script
                    seen.append((command["client_port"], command["command"].split()[0]))
        assert result.outcome is AuthOutcome.ok
        assert [name for port, name in seen if port != marker] == ["EVALSHA"]
    finally:
        await store.close()
        await raw.aclose()


async def test_scripts_are_reloaded_after_the_cache_is_flushed(
    private_redis: PrivateRedis, ledger: Database, t0: float
) -> None:
    store = RedisSessionStore(private_redis.url, prefix="sr:", db=ledger)
    raw = aioredis.Redis.from_url(private_redis.url)
    try:
        issued = issue(t0)
        await store.create(issued.session)
        await raw.script_flush()  # as after a restart or a failover
        result = await store.authenticate(issued.access_hash, IP, t0 + 1, "")
        assert result.outcome is AuthOutcome.ok
    finally:
        await store.close()
        await raw.aclose()
