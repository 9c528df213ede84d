"""The SessionStore contract, run against every store: revocation, listing, login-failure
counters, sweeping, and what the raw storage holds."""

from __future__ import annotations

import pytest

from strongroom.crypto import token_hash
from strongroom.sessions.store import (
    AuthOutcome,
    FailureCounter,
    RotateOutcome,
    SessionInfo,
    SessionStore,
)
from tests.sessions.conftest import Backend, Issued, issue
from tests.sessions.test_conformance import IP, auth, renewal

OK, INVALID = AuthOutcome.ok, AuthOutcome.invalid


async def open_sessions(store: SessionStore, *issued: Issued) -> None:
    for one in issued:
        await store.create(one.session)


async def test_revoke_through_one_node_rejects_at_the_other_at_once(
    backend: Backend, t0: float
) -> None:
    issued = issue(t0)
    await open_sessions(backend.store, issued)
    assert await auth(backend.other, issued, t0 + 1) is OK
    assert await backend.store.revoke_token(issued.access_hash) is True
    assert await auth(backend.other, issued, t0 + 1) is INVALID


async def test_revoke_token_with_either_token_ends_the_session(
    store: SessionStore, t0: float
) -> None:
    by_access, by_refresh, bystander = issue(t0), issue(t0), issue(t0)
    await open_sessions(store, by_access, by_refresh, bystander)

    assert await store.revoke_token(by_access.access_hash) is True
    assert await store.revoke_token(by_refresh.refresh_hash) is True
    for ended in (by_access, by_refresh):
        assert await auth(store, ended, t0 + 1) is INVALID
        assert await store.peek_refresh(ended.refresh_hash, t0 + 1) is None
        assert await store.get_session(ended.id, t0 + 1) is None
    assert await auth(store, bystander, t0 + 1) is OK

    # Unknown, and already revoked: False, nothing else touched.
    assert await store.revoke_token(token_hash("sra_unknown")) is False
    assert await store.revoke_token(by_access.access_hash) is False
    assert await store.revoke_token(by_refresh.refresh_hash) is False
    assert await auth(store, bystander, t0 + 2) is OK


async def test_revoking_an_expired_access_token_still_ends_the_session(
    store: SessionStore, t0: float
) -> None:
    # Really expired (in the past of the storage's clock too), refresh token alive.
    issued = issue(t0 - 100, access_ttl=50, refresh_ttl=600)
    await open_sessions(store, issued)
    assert await auth(store, issued, t0) is AuthOutcome.expired
    assert await store.revoke_token(issued.access_hash) is True
    assert await store.peek_refresh(issued.refresh_hash, t0) is None


async def test_revoke_token_with_a_rotated_refresh_token(store: SessionStore, t0: float) -> None:
    issued = issue(t0)
    await open_sessions(store, issued)
    request, new_access, _ = renewal(issued, t0 + 1)
    assert (await store.rotate(request)).outcome is RotateOutcome.ok
    # A leaked, already-rotated refresh token is still enough to end the session.
    assert await store.revoke_token(issued.refresh_hash) is True
    assert (await store.authenticate(new_access, IP, t0 + 2, "")).outcome is INVALID


async def test_revoke_session(store: SessionStore, t0: float) -> None:
    issued, bystander = issue(t0), issue(t0)
    await open_sessions(store, issued, bystander)
    assert await store.revoke_session(issued.id) is True
    assert await auth(store, issued, t0 + 1) is INVALID
    assert await store.peek_refresh(issued.refresh_hash, t0 + 1) is None
    assert await store.revoke_session(issued.id) is False
    assert await store.revoke_session("no-such-session") is False
    assert await auth(store, bystander, t0 + 1) is OK


async def test_revoke_user_sessions_keeps_the_named_one(backend: Backend, t0: float) -> None:
    store = backend.store
    kept, gone_1, gone_2 = (issue(t0 + i, user_id="alice") for i in range(3))
    bob = issue(t0, user_id="bob")
    await open_sessions(store, kept, gone_1, gone_2, bob)

    assert await backend.other.revoke_user_sessions("alice", keep_session_id=kept.id) == 2
    assert await auth(store, kept, t0 + 5) is OK
    assert await auth(store, gone_1, t0 + 5) is INVALID
    assert await store.peek_refresh(gone_2.refresh_hash, t0 + 5) is None
    assert await auth(store, bob, t0 + 5) is OK

    assert await store.revoke_user_sessions("alice") == 1
    assert await auth(store, kept, t0 + 6) is INVALID
    assert await store.revoke_user_sessions("alice") == 0
    assert await store.revoke_user_sessions("nobody") == 0
    assert await auth(store, bob, t0 + 6) is OK


async def test_get_session_of_a_dead_session_is_none(store: SessionStore, t0: float) -> None:
    revoked, short = issue(t0), issue(t0, access_ttl=10, refresh_ttl=None)
    await open_sessions(store, revoked, short)
    assert await store.revoke_session(revoked.id)
    assert await store.get_session(revoked.id, t0 + 1) is None
    assert await store.get_session(short.id, t0 + 1) is not None
    assert await store.get_session(short.id, t0 + 10) is None
    assert await store.get_session("no-such-session", t0) is None


async def collect(
    store: SessionStore, user_id: str | None, now: float, limit: int
) -> list[list[SessionInfo]]:
    pages: list[list[SessionInfo]] = []
    cursor: str | None = None
    while True:
        page = await store.list_sessions(user_id, now, limit=limit, cursor=cursor)
        pages.append(page.items)
        if page.next_cursor is None:
            return pages
        assert len(pages) < 20, "pagination does not end"
        cursor = page.next_cursor


async def test_list_sessions_pages_oldest_first(store: SessionStore, t0: float) -> None:
    alice = [issue(t0 + i, user_id="alice") for i in range(5)]
    # Two sessions created in the same instant: ordered by id, both listed once.
    alice += [issue(t0 + 2.5, user_id="alice"), issue(t0 + 2.5, user_id="alice")]
    bob = [issue(t0 + i + 0.5, user_id="bob") for i in range(2)]
    dead = [
        issue(t0 + 1.5, user_id="alice", access_ttl=5, refresh_ttl=None),  # in the middle
        issue(t0 + 9, user_id="alice", access_ttl=5, refresh_ttl=None),  # the newest
    ]
    await open_sessions(store, *alice, *bob, *dead)
    now = t0 + 20

    def order(issued: list[Issued]) -> list[str]:
        ordered = sorted(issued, key=lambda one: (one.session.created_at, one.id))
        return [one.id for one in ordered]

    for user_id, expected, limit in (("alice", alice, 3), ("bob", bob, 2), (None, alice + bob, 4)):
        pages = await collect(store, user_id, now, limit)
        listed = [info.id for page in pages for info in page]
        assert listed == order(expected), user_id
        assert all(len(page) == limit for page in pages[:-1])
        assert 0 < len(pages[-1]) <= limit
    # 7 of alice's in pages of 7 and of 1.
    assert [len(p) for p in await collect(store, "alice", now, 7)] == [7]
    assert [len(p) for p in await collect(store, "alice", now, 1)] == [1] * 7
    assert (await store.list_sessions("nobody", now, limit=5, cursor=None)).items == []


async def test_list_sessions_rejects_a_forged_cursor(store: SessionStore, t0: float) -> None:
    await open_sessions(store, issue(t0))
    with pytest.raises(ValueError, match="cursor"):
        await store.list_sessions(None, t0, limit=5, cursor="not a cursor!")


COUNTER = FailureCounter("user:alice", threshold=3, window=60, lockout=120)
IP_COUNTER = FailureCounter("ip:203.0.113.7", threshold=5, window=60, lockout=300)


async def test_login_failures_lock_out_on_every_node(backend: Backend, t0: float) -> None:
    store, other = backend.store, backend.other
    keys = [COUNTER.key, IP_COUNTER.key]
    await store.record_login_failure([COUNTER, IP_COUNTER], t0)
    await other.record_login_failure([COUNTER, IP_COUNTER], t0 + 1)
    assert await store.login_lockout(keys, t0 + 1) == 0
    await store.record_login_failure([COUNTER, IP_COUNTER], t0 + 2)  # the third within 60 s

    assert await other.login_lockout(keys, t0 + 3) == pytest.approx(119)
    assert await store.login_lockout([COUNTER.key], t0 + 100) == pytest.approx(22)
    assert await store.login_lockout([IP_COUNTER.key], t0 + 3) == 0  # 3 of 5
    assert await store.login_lockout(["user:bob"], t0 + 3) == 0
    assert await store.login_lockout(["user:bob", "ip:x", COUNTER.key], t0 + 3) == (
        pytest.approx(119)
    )  # any number of keys: the latest lock-out among them
    assert await store.login_lockout([], t0 + 3) == 0
    assert await store.login_lockout(keys, t0 + 122) == 0

    await other.clear_login_failures(COUNTER.key)
    await other.clear_login_failures("user:nobody")  # nothing to clear: no error
    assert await store.login_lockout(keys, t0 + 3) == 0


async def test_login_failures_outside_the_window_start_over(store: SessionStore, t0: float) -> None:
    await store.record_login_failure([COUNTER], t0)
    await store.record_login_failure([COUNTER], t0 + 30)
    await store.record_login_failure([COUNTER], t0 + 61)  # the window of t0 ended: 1 failure
    await store.record_login_failure([COUNTER], t0 + 62)
    assert await store.login_lockout([COUNTER.key], t0 + 63) == 0
    await store.record_login_failure([COUNTER], t0 + 63)
    assert await store.login_lockout([COUNTER.key], t0 + 63) == pytest.approx(120)


async def test_a_lockout_resets_the_count(store: SessionStore, t0: float) -> None:
    for at in (t0, t0 + 1, t0 + 2):
        await store.record_login_failure([COUNTER], at)
    # After the lock-out ends, a new series needs the full threshold again.
    for at in (t0 + 123, t0 + 124):
        await store.record_login_failure([COUNTER], at)
    assert await store.login_lockout([COUNTER.key], t0 + 125) == 0
    await store.clear_login_failures(COUNTER.key)
    await store.record_login_failure([COUNTER], t0 + 126)
    assert await store.login_lockout([COUNTER.key], t0 + 126) == 0


async def test_sweep_removes_dead_sessions(backend: Backend, t0: float) -> None:
    store = backend.store
    live = issue(t0, lifetime=3600)
    access_only = issue(t0, access_ttl=10, refresh_ttl=None)
    ended = issue(t0, lifetime=20)
    idle = issue(t0, access_ttl=500, idle_timeout=30)
    await open_sessions(store, live, access_only, ended, idle)
    for dead in (access_only, ended, idle):
        assert await store.get_session(dead.id, t0) is not None

    assert await backend.other.sweep(t0 + 100) >= 3
    # Gone from the storage itself, not just dead at t0 + 100.
    for dead in (access_only, ended, idle):
        assert await store.get_session(dead.id, t0) is None
        assert await store.lookup(dead.access_hash, t0) is None
    assert await store.get_session(live.id, t0) is not None
    assert await store.peek_refresh(live.refresh_hash, t0 + 100) is not None
    listed = await store.list_sessions(None, t0, limit=10, cursor=None)
    assert [info.id for info in listed.items] == [live.id]
    assert await store.sweep(t0 + 100) == 0


async def test_storage_holds_token_hashes_never_tokens(backend: Backend, t0: float) -> None:
    store = backend.store
    issued = issue(t0, ip=IP, user_agent="ua")
    one_time = issue(t0, refresh_ttl=None, max_uses=1, one_time=True)
    await open_sessions(store, issued, one_time)
    assert await auth(store, issued, t0 + 1) is OK
    request, new_access, new_refresh = renewal(issued, t0 + 2)
    assert (await store.rotate(request)).outcome is RotateOutcome.ok
    await store.record_login_failure([COUNTER], t0)
    await store.bump_epoch()

    dump = await backend.dump()
    tokens = [issued.access, issued.refresh, one_time.access]
    for token in tokens:
        assert token is not None
        assert token not in dump
        assert token.split("_", 1)[1] not in dump  # not even without its prefix
    # The dump does show the stored sessions, by the SHA-256 of their tokens.
    assert token_hash(one_time.access) in dump
    assert new_access in dump
    assert new_refresh in dump
    assert issued.refresh_hash in dump  # kept for reuse detection
