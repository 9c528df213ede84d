"""The SessionStore contract, run against every store: authentication, use counting, expiry,
bound IPs, the config epoch and refresh rotation. (Revocation, listing, login failures and
sweeping are in test_conformance_manage.py.)"""

from __future__ import annotations

import asyncio
from collections import Counter
from dataclasses import replace

from strongroom.crypto import ACCESS_PREFIX, REFRESH_PREFIX, new_token, token_hash
from strongroom.sessions.store import AuthOutcome, RotateOutcome, RotateRequest, SessionStore
from tests.sessions.conftest import Backend, Issued, issue

OK, INVALID, EXPIRED = AuthOutcome.ok, AuthOutcome.invalid, AuthOutcome.expired
IP = "198.51.100.10"


async def auth(store: SessionStore, issued: Issued, now: float, ip: str | None = IP) -> AuthOutcome:
    return (await store.authenticate(issued.access_hash, ip, now, "")).outcome


async def auth_hash(store: SessionStore, access_hash: str, now: float) -> AuthOutcome:
    return (await store.authenticate(access_hash, IP, now, "")).outcome


async def open_sessions(store: SessionStore, *issued: Issued) -> None:
    for one in issued:
        await store.create(one.session)


def renewal(
    issued: Issued,
    now: float,
    *,
    client_ip: str = IP,
    role: str | None = None,
    max_access_ttl: float = 86400.0,
) -> tuple[RotateRequest, str, str]:
    access, refresh = new_token(ACCESS_PREFIX), new_token(REFRESH_PREFIX)
    request = RotateRequest(
        old_refresh_hash=issued.refresh_hash,
        new_access_hash=token_hash(access),
        new_refresh_hash=token_hash(refresh),
        now=now,
        client_ip=client_ip,
        max_access_ttl=max_access_ttl,
        refresh_ttl=600.0,
        role=role,
    )
    return request, request.new_access_hash, request.new_refresh_hash


async def test_create_authenticate_and_lookup(store: SessionStore, t0: float) -> None:
    issued = issue(t0 + 0.123456789, scope="read write", client_id="cli", ip=IP, user_agent="ua/1")
    await store.create(issued.session)

    result = await store.authenticate(issued.access_hash, IP, t0 + 1, "")
    assert result.outcome is OK
    info = result.session
    assert info is not None
    assert (info.id, info.user_id, info.username, info.role) == (
        issued.id,
        "user-1",
        "name-user-1",
        "user",
    )
    assert (info.scope, info.client_id, info.ip, info.user_agent) == (
        "read write",
        "cli",
        IP,
        "ua/1",
    )
    # Times come back exactly as given (no rounding through the store).
    assert info.created_at == issued.session.created_at
    assert info.access_expires_at == issued.session.access_expires_at
    assert info.refresh_expires_at == issued.session.refresh_expires_at
    assert info.max_expires_at == issued.session.max_expires_at
    assert (info.uses, info.last_used_at, info.max_uses, info.one_time) == (1, t0 + 1, None, False)

    looked_up = await store.lookup(issued.access_hash, t0 + 2)
    assert looked_up == info  # lookup consumes nothing
    assert await store.get_session(issued.id, t0 + 2) == info


async def test_unknown_and_wrong_kind_of_token_are_invalid(store: SessionStore, t0: float) -> None:
    issued = issue(t0)
    await store.create(issued.session)
    assert (await store.authenticate(token_hash("sra_nope"), IP, t0, "")).outcome is INVALID
    # A refresh token is not an access token, and the reverse.
    assert (await store.authenticate(issued.refresh_hash, IP, t0, "")).outcome is INVALID
    assert await store.lookup(issued.refresh_hash, t0) is None
    assert await store.peek_refresh(issued.access_hash, t0) is None
    assert await store.peek_refresh(issued.refresh_hash, t0) is not None


async def test_each_authentication_counts_one_use(backend: Backend, t0: float) -> None:
    issued = issue(t0)
    await backend.store.create(issued.session)
    for n in range(1, 4):
        node = backend.store if n % 2 else backend.other
        result = await node.authenticate(issued.access_hash, IP, t0 + n, "")
        assert result.session is not None
        assert (result.session.uses, result.session.last_used_at) == (n, t0 + n)
        # Uses of unlimited sessions may be counted per node and written in batches (the
        # database store); after flush every node sees all of them.
        await node.flush()
    info = await backend.other.lookup(issued.access_hash, t0 + 5)
    assert info is not None
    assert info.uses == 3


async def test_max_uses_holds_under_50_concurrent_requests_on_two_nodes(
    backend: Backend, t0: float
) -> None:
    issued = issue(t0, max_uses=3)
    await backend.store.create(issued.session)
    nodes = [backend.store, backend.other]
    results = await asyncio.gather(
        *(nodes[i % 2].authenticate(issued.access_hash, IP, t0 + 1, "") for i in range(50))
    )
    outcomes = Counter(result.outcome for result in results)
    assert outcomes[OK] == 3
    assert set(outcomes) <= {OK, INVALID, AuthOutcome.exhausted}
    assert sorted(r.session.uses for r in results if r.session is not None) == [1, 2, 3]
    # The last use ended the session: nothing is left to revoke.
    assert await backend.store.get_session(issued.id, t0 + 1) is None
    assert await auth(backend.store, issued, t0 + 2) is not OK
    assert await backend.store.revoke_session(issued.id) is False


async def test_one_time_session_under_100_concurrent_requests(backend: Backend, t0: float) -> None:
    issued = issue(t0, refresh_ttl=None, max_uses=1, one_time=True)
    await backend.store.create(issued.session)
    nodes = [backend.store, backend.other]
    results = await asyncio.gather(
        *(nodes[i % 2].authenticate(issued.access_hash, IP, t0 + 1, "") for i in range(100))
    )
    winners = [r for r in results if r.outcome is OK]
    assert len(winners) == 1
    assert winners[0].session is not None
    assert winners[0].session.one_time is True
    assert winners[0].session.refresh_expires_at is None
    assert await backend.store.lookup(issued.access_hash, t0 + 1) is None
    assert await backend.store.revoke_token(issued.access_hash) is False


async def test_bound_ip_from_another_address_consumes_nothing(
    store: SessionStore, t0: float
) -> None:
    issued = issue(t0, bound_ip=IP, max_uses=2)
    await store.create(issued.session)
    for other_ip in ("203.0.113.9", None, "198.51.100.100"):
        assert await auth(store, issued, t0 + 1, other_ip) is AuthOutcome.ip_mismatch
    info = await store.lookup(issued.access_hash, t0 + 1)
    assert info is not None
    assert (info.uses, info.last_used_at) == (0, t0)
    assert await auth(store, issued, t0 + 2, IP) is OK
    assert await auth(store, issued, t0 + 3, IP) is OK
    assert await auth(store, issued, t0 + 4, IP) is not OK


async def test_access_token_expiry(store: SessionStore, t0: float) -> None:
    issued = issue(t0, access_ttl=60)
    await store.create(issued.session)
    assert await auth(store, issued, t0 + 59) is OK
    assert await auth(store, issued, t0 + 60) is EXPIRED
    assert await auth(store, issued, t0 + 61) is EXPIRED
    assert await store.lookup(issued.access_hash, t0 + 61) is None
    # The refresh token outlives the access token.
    assert await store.peek_refresh(issued.refresh_hash, t0 + 61) is not None


async def test_idle_timeout(store: SessionStore, t0: float) -> None:
    issued = issue(t0, access_ttl=1000, idle_timeout=100)
    await store.create(issued.session)
    assert await auth(store, issued, t0 + 90) is OK
    assert await auth(store, issued, t0 + 180) is OK  # idle since t0+90, for 90 s
    assert await auth(store, issued, t0 + 280) is EXPIRED  # idle for 100 s
    assert await store.lookup(issued.access_hash, t0 + 280) is None
    assert await store.peek_refresh(issued.refresh_hash, t0 + 280) is None
    assert await store.get_session(issued.id, t0 + 280) is None


async def test_absolute_lifetime(store: SessionStore, t0: float) -> None:
    issued = issue(t0, access_ttl=600, refresh_ttl=900, lifetime=300)
    await store.create(issued.session)
    assert await auth(store, issued, t0 + 299) is OK
    assert await auth(store, issued, t0 + 300) is EXPIRED
    assert await store.peek_refresh(issued.refresh_hash, t0 + 300) is None
    assert await store.get_session(issued.id, t0 + 300) is None


async def test_expiry_is_checked_before_the_bound_ip(store: SessionStore, t0: float) -> None:
    idle = issue(t0, access_ttl=1000, idle_timeout=100, bound_ip=IP)
    old = issue(t0, access_ttl=1000, lifetime=300, bound_ip=IP)
    for issued in (idle, old):
        await store.create(issued.session)
        assert await auth(store, issued, t0 + 500, "203.0.113.9") is EXPIRED
    # The same for rotation: a dead refresh token is `expired` from anywhere, even while the
    # access token still lives.
    stale_refresh = issue(t0, access_ttl=1000, refresh_ttl=100, bound_ip=IP)
    await store.create(stale_refresh.session)
    request, _, _ = renewal(stale_refresh, t0 + 200, client_ip="203.0.113.9")
    assert (await store.rotate(request)).outcome is RotateOutcome.expired


async def test_stale_epoch_answers_the_store_epoch_and_consumes_nothing(
    backend: Backend, t0: float
) -> None:
    store = backend.store
    issued = issue(t0, max_uses=1)
    await store.create(issued.session)
    epoch = await backend.other.bump_epoch()

    result = await store.authenticate(issued.access_hash, IP, t0 + 1, "")
    assert (result.outcome, result.session, result.epoch) == (AuthOutcome.stale, None, epoch)
    # The epoch comes first: even an unknown token gets `stale`.
    unknown = await store.authenticate(token_hash("x"), IP, t0 + 1, "old")
    assert (unknown.outcome, unknown.epoch) == (AuthOutcome.stale, epoch)
    info = await store.lookup(issued.access_hash, t0 + 1)
    assert info is not None
    assert (info.uses, info.last_used_at) == (0, t0)

    current = await store.authenticate(issued.access_hash, IP, t0 + 2, epoch)
    assert (current.outcome, current.epoch) == (OK, epoch)


async def test_bump_epoch_changes_it_for_every_node(backend: Backend) -> None:
    assert await backend.store.get_epoch() == ""
    first = await backend.store.bump_epoch()
    assert first != ""
    assert await backend.other.get_epoch() == first
    second = await backend.other.bump_epoch()
    assert second not in ("", first)
    assert await backend.store.get_epoch() == second


async def test_rotate_replaces_both_tokens(backend: Backend, t0: float) -> None:
    store = backend.store
    issued = issue(t0)
    await store.create(issued.session)
    request, new_access, new_refresh = renewal(issued, t0 + 10)

    result = await backend.other.rotate(request)
    assert result.outcome is RotateOutcome.ok
    assert result.session is not None
    assert (result.session.id, result.session.role) == (issued.id, "user")
    assert result.session.access_expires_at == t0 + 10 + 60.0
    assert result.session.refresh_expires_at == t0 + 10 + 600.0

    assert await auth(store, issued, t0 + 11) is INVALID
    assert await store.peek_refresh(issued.refresh_hash, t0 + 11) is None
    assert (await store.authenticate(new_access, IP, t0 + 11, "")).outcome is OK
    assert await store.peek_refresh(new_refresh, t0 + 11) is not None


async def test_finding_7_rotate_keeps_the_sessions_own_access_ttl(
    backend: Backend, t0: float
) -> None:
    """Issue 16, finding 7: a short access TTL asked at login survives every renew; today's
    longest allowed TTL still caps it."""
    short = issue(t0 + 0.123456789, access_ttl=2.0)
    long = issue(t0, access_ttl=3600.0)
    await open_sessions(backend.store, short, long)
    request, _, _ = renewal(short, t0 + 10.987654321)
    renewed = await backend.other.rotate(request)
    assert renewed.session is not None
    assert renewed.session.access_expires_at == t0 + 10.987654321 + 2.0  # exactly
    again, newest, _ = renewal(
        Issued(replace(short.session, refresh_hash=request.new_refresh_hash), "", ""), t0 + 20
    )
    assert (await backend.store.rotate(again)).session is not None
    assert (await auth_hash(backend.store, newest, t0 + 21.9)) is OK
    assert (await auth_hash(backend.store, newest, t0 + 22)) is EXPIRED

    capped, _, _ = renewal(long, t0 + 5, max_access_ttl=600.0)
    result = await backend.store.rotate(capped)
    assert result.session is not None
    assert result.session.access_expires_at == t0 + 5 + 600.0


async def test_rotate_never_extends_past_the_absolute_lifetime(
    store: SessionStore, t0: float
) -> None:
    issued = issue(t0, lifetime=100)
    await store.create(issued.session)
    request, new_access, _ = renewal(issued, t0 + 50)
    result = await store.rotate(request)
    assert result.session is not None
    assert result.session.access_expires_at == t0 + 100
    assert result.session.refresh_expires_at == t0 + 100
    assert (await store.authenticate(new_access, IP, t0 + 99, "")).outcome is OK
    assert (await store.authenticate(new_access, IP, t0 + 100, "")).outcome is EXPIRED


async def test_rotate_applies_a_new_role(store: SessionStore, t0: float) -> None:
    issued = issue(t0)
    await store.create(issued.session)
    request, new_access, _ = renewal(issued, t0 + 1, role="admin")
    assert (await store.rotate(request)).outcome is RotateOutcome.ok
    result = await store.authenticate(new_access, IP, t0 + 2, "")
    assert result.session is not None
    assert result.session.role == "admin"


async def test_reused_refresh_token_revokes_the_session(backend: Backend, t0: float) -> None:
    store = backend.store
    issued = issue(t0)
    await store.create(issued.session)
    first, new_access, new_refresh = renewal(issued, t0 + 1)
    assert (await store.rotate(first)).outcome is RotateOutcome.ok

    again, _, _ = renewal(issued, t0 + 2)
    assert (await backend.other.rotate(again)).outcome is RotateOutcome.reused
    assert (await store.authenticate(new_access, IP, t0 + 3, "")).outcome is INVALID
    assert await store.peek_refresh(new_refresh, t0 + 3) is None
    assert await store.get_session(issued.id, t0 + 3) is None
    later = RotateRequest(new_refresh, token_hash("a"), token_hash("r"), t0 + 3, IP, 60, 600)
    assert (await store.rotate(later)).outcome is not RotateOutcome.ok


async def test_concurrent_rotations_of_one_refresh_token(backend: Backend, t0: float) -> None:
    issued = issue(t0)
    await backend.store.create(issued.session)
    nodes = [backend.store, backend.other]
    requests = [renewal(issued, t0 + 1)[0] for _ in range(10)]
    results = await asyncio.gather(*(nodes[i % 2].rotate(r) for i, r in enumerate(requests)))
    outcomes = Counter(result.outcome for result in results)
    assert outcomes[RotateOutcome.ok] <= 1
    assert set(outcomes) <= {RotateOutcome.ok, RotateOutcome.reused, RotateOutcome.invalid}
    # The losers presented an already-rotated token: the session is gone for everybody.
    for request in requests:
        result = await backend.store.authenticate(request.new_access_hash, IP, t0 + 2, "")
        assert result.outcome is INVALID
        assert await backend.store.peek_refresh(request.new_refresh_hash, t0 + 2) is None


async def test_rotate_refusals(store: SessionStore, t0: float) -> None:
    bound = issue(t0, bound_ip=IP)
    short = issue(t0, refresh_ttl=100)
    for issued in (bound, short):
        await store.create(issued.session)

    unknown = RotateRequest(token_hash("nope"), token_hash("a"), token_hash("r"), t0, IP, 60, 600)
    assert (await store.rotate(unknown)).outcome is RotateOutcome.invalid
    elsewhere, _, _ = renewal(bound, t0 + 1, client_ip="203.0.113.9")
    assert (await store.rotate(elsewhere)).outcome is RotateOutcome.ip_mismatch
    late, _, _ = renewal(short, t0 + 100)
    assert (await store.rotate(late)).outcome is RotateOutcome.expired
    # Neither refusal consumed the refresh token.
    assert (await store.rotate(renewal(bound, t0 + 2)[0])).outcome is RotateOutcome.ok
    assert await store.peek_refresh(short.refresh_hash, t0 + 99) is not None
