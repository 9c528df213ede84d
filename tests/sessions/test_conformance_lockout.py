"""The SessionStore contract of login attempts, run against every store (issue 16, finding 1):
an attempt reserves a slot on its counters before any password is checked, atomically across
nodes, and settles afterwards. (Failures counted without a reservation, and lock-out reads,
are in test_conformance_manage.py.)"""

from __future__ import annotations

import asyncio
from collections import Counter

import pytest

from strongroom.sessions.store import BUSY_RETRY_SECONDS, FailureCounter, SessionStore
from tests.sessions.conftest import Backend

ACCOUNT = FailureCounter("user:alice", threshold=5, window=60, lockout=120)
CLIENT = FailureCounter("ip:203.0.113.7", threshold=8, window=60, lockout=300)


async def reserve(store: SessionStore, at: float, *counters: FailureCounter) -> float:
    return await store.reserve_login(list(counters), at)


async def test_finding_1_reservations_hold_the_threshold_under_concurrency_on_two_nodes(
    backend: Backend, t0: float
) -> None:
    nodes = [backend.store, backend.other]
    waits = await asyncio.gather(*(reserve(nodes[i % 2], t0, ACCOUNT, CLIENT) for i in range(50)))
    assert Counter(waits) == {0.0: ACCOUNT.threshold, BUSY_RETRY_SECONDS: 45}
    # Every attempt in flight fails: the account locks at the fifth, for `lockout` seconds.
    for i in range(ACCOUNT.threshold):
        await nodes[i % 2].settle_login([ACCOUNT, CLIENT], t0 + 1, failed=True)
    assert await reserve(backend.other, t0 + 2, ACCOUNT, CLIENT) == pytest.approx(119)
    assert await backend.store.login_lockout([ACCOUNT.key], t0 + 2) == pytest.approx(119)
    # The client counted 5 failures of its 8: three more attempts, then it is full.
    for _ in range(3):
        assert await reserve(backend.store, t0 + 2, CLIENT) == 0.0
    assert await reserve(backend.other, t0 + 2, CLIENT) == BUSY_RETRY_SECONDS


async def test_a_refused_reservation_reserves_nothing(store: SessionStore, t0: float) -> None:
    locked = FailureCounter("user:locked", threshold=1, window=60, lockout=100)
    await store.record_login_failure([locked], t0)
    assert await reserve(store, t0 + 1, locked, CLIENT) == pytest.approx(99)
    # The client's slots are all still free.
    for _ in range(CLIENT.threshold):
        assert await reserve(store, t0 + 1, CLIENT) == 0.0
    assert await reserve(store, t0 + 1, CLIENT) == BUSY_RETRY_SECONDS


async def test_a_success_frees_the_clients_slot_and_clears_the_account(
    backend: Backend, t0: float
) -> None:
    store = backend.store
    for _ in range(ACCOUNT.threshold - 1):
        assert await reserve(store, t0, ACCOUNT, CLIENT) == 0.0
        await store.settle_login([ACCOUNT, CLIENT], t0, failed=True)
    assert await reserve(store, t0 + 1, ACCOUNT, CLIENT) == 0.0
    await backend.other.settle_login([ACCOUNT, CLIENT], t0 + 1, failed=False, clear=[ACCOUNT.key])
    # The account starts over (five more); the client keeps its four failures (four more).
    for _ in range(CLIENT.threshold - 4):
        assert await reserve(store, t0 + 2, ACCOUNT, CLIENT) == 0.0
    assert await reserve(store, t0 + 2, ACCOUNT, CLIENT) == BUSY_RETRY_SECONDS


async def test_an_attempt_that_ended_otherwise_only_frees_its_slot(
    store: SessionStore, t0: float
) -> None:
    for _ in range(ACCOUNT.threshold):
        assert await reserve(store, t0, ACCOUNT) == 0.0
    assert await reserve(store, t0, ACCOUNT) == BUSY_RETRY_SECONDS
    await store.settle_login([ACCOUNT], t0 + 1, failed=False)  # e.g. hashing unavailable
    assert await reserve(store, t0 + 1, ACCOUNT) == 0.0
    assert await store.login_lockout([ACCOUNT.key], t0 + 1) == 0


async def test_a_new_window_frees_every_slot(store: SessionStore, t0: float) -> None:
    for _ in range(ACCOUNT.threshold):
        assert await reserve(store, t0, ACCOUNT) == 0.0
    await store.settle_login([ACCOUNT], t0 + 1, failed=True)
    assert await reserve(store, t0 + 59, ACCOUNT) == BUSY_RETRY_SECONDS
    # The window of t0 ended: whatever it held (even attempts that never settled) is gone.
    for _ in range(ACCOUNT.threshold):
        assert await reserve(store, t0 + 61, ACCOUNT) == 0.0
    assert await reserve(store, t0 + 61, ACCOUNT) == BUSY_RETRY_SECONDS


async def test_clearing_lifts_a_lockout_and_frees_the_slots(backend: Backend, t0: float) -> None:
    for _ in range(ACCOUNT.threshold):
        assert await reserve(backend.store, t0, ACCOUNT) == 0.0
        await backend.store.settle_login([ACCOUNT], t0, failed=True)
    assert await reserve(backend.store, t0, ACCOUNT) == pytest.approx(120)
    await backend.other.clear_login_failures(ACCOUNT.key)
    assert await backend.store.login_lockout([ACCOUNT.key], t0) == 0
    for _ in range(ACCOUNT.threshold):
        assert await reserve(backend.store, t0, ACCOUNT) == 0.0
