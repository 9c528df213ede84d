"""Watched names: the coherence signal of the per-node secret cache (SessionStore.begin_change).

Every store answers the protocol; only the shared Redis store offers values (the database
store answers None and never lets a node cache)."""

from __future__ import annotations

import pytest
import redis.asyncio as aioredis

from strongroom.crypto import token_hash
from strongroom.sessions.store import AuthOutcome, SessionStore, is_stable, pending_token, tag_of
from tests.sessions.conftest import Backend, issue
from tests.support import REDIS_URL

IP = "198.51.100.10"
NAME = "secret:0b8a8d0e-0000-4000-8000-000000000001"


async def _watched(store: SessionStore, access_hash: str, now: float) -> str | None:
    result = await store.authenticate(access_hash, IP, now, "", watch=NAME)
    assert result.outcome is AuthOutcome.ok
    return result.watched


async def test_watch_values_follow_changes(backend: Backend, t0: float) -> None:
    issued = issue(t0)
    await backend.store.create(issued.session)
    first = await _watched(backend.store, issued.access_hash, t0 + 1)
    if backend.kind != "redis":
        assert first is None  # no shared store: nothing to key a cache on
        assert await backend.store.begin_change(NAME) == ""
        await backend.store.end_change(NAME, "")
        return
    assert is_stable(first)
    assert await _watched(backend.other, issued.access_hash, t0 + 2) == first  # every node
    token = await backend.store.begin_change(NAME)
    pending = await _watched(backend.other, issued.access_hash, t0 + 3)
    assert pending is not None and not is_stable(pending)
    await backend.store.end_change(NAME, token)
    after = await _watched(backend.other, issued.access_hash, t0 + 4)
    assert is_stable(after)
    assert after not in (first, pending)
    plain = await backend.store.authenticate(issued.access_hash, IP, t0 + 5, "")
    assert plain.watched is None  # nothing asked, nothing read


async def test_overlapping_changes_stay_pending_until_the_last_ends(
    backend: Backend, t0: float
) -> None:
    if backend.kind != "redis":
        return
    issued = issue(t0)
    await backend.store.create(issued.session)
    first = await backend.store.begin_change(NAME)
    second = await backend.other.begin_change(NAME)
    await backend.store.end_change(NAME, first)  # the second change is still in flight
    assert not is_stable(await _watched(backend.store, issued.access_hash, t0 + 1))
    await backend.other.end_change(NAME, second)
    assert is_stable(await _watched(backend.store, issued.access_hash, t0 + 2))


async def test_a_value_invented_while_redis_lost_the_mark_does_not_outlive_the_change(
    backend: Backend, redis_prefix: str, t0: float
) -> None:
    if backend.kind != "redis":
        return
    issued = issue(t0)
    await backend.store.create(issued.session)
    token = await backend.store.begin_change(NAME)
    raw = aioredis.Redis.from_url(REDIS_URL, decode_responses=True)
    try:
        await raw.delete(f"{redis_prefix}w:{NAME}")  # as if Redis restarted empty mid-change
    finally:
        await raw.aclose()
    invented = await _watched(backend.store, issued.access_hash, t0 + 1)
    assert is_stable(invented)  # a reader could cache on it now...
    await backend.store.end_change(NAME, token)
    after = await _watched(backend.store, issued.access_hash, t0 + 2)
    assert is_stable(after)
    assert after != invented  # ...but the change's end replaces it


async def test_a_write_begins_its_change_in_the_session_check(backend: Backend, t0: float) -> None:
    """authenticate(mark=): the value before, then pending under the mark until end_change,
    whose new value carries the tag; a failed check marks nothing."""
    issued = issue(t0)
    await backend.store.create(issued.session)
    mark = pending_token()
    if backend.kind != "redis":
        result = await backend.store.authenticate(
            issued.access_hash, IP, t0 + 1, "", watch=NAME, mark=mark
        )
        assert result.outcome is AuthOutcome.ok and result.watched is None
        await backend.store.end_change(NAME, mark, "7")  # nothing to do, and no error
        return
    before = await _watched(backend.other, issued.access_hash, t0 + 1)
    marked = await backend.store.authenticate(
        issued.access_hash, IP, t0 + 2, "", watch=NAME, mark=mark
    )
    assert marked.outcome is AuthOutcome.ok
    assert marked.watched == before  # the value as it was, for the writer's hint
    assert await _watched(backend.other, issued.access_hash, t0 + 3) == mark  # pending now
    await backend.store.end_change(NAME, mark, "7")
    after = await _watched(backend.other, issued.access_hash, t0 + 4)
    assert is_stable(after) and after != before
    assert tag_of(after) == "7" and tag_of(before) is None and tag_of(mark) is None

    refused = await backend.store.authenticate(
        token_hash("sra_unknown"), IP, t0 + 5, "", watch=NAME, mark=pending_token()
    )
    assert refused.outcome is AuthOutcome.invalid
    assert await _watched(backend.other, issued.access_hash, t0 + 6) == after  # not marked


async def test_a_tag_cannot_break_the_value_apart(backend: Backend) -> None:
    if backend.kind != "redis":
        pytest.skip("the database store keeps no watched values")
    token = await backend.store.begin_change(NAME)
    with pytest.raises(ValueError, match="tag"):
        await backend.store.end_change(NAME, token, "1#2")
    await backend.store.end_change(NAME, token, "12")
