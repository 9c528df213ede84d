"""The gauges a scrape sets before it is answered: sealed state, keyring version, sessions,
secrets by state, and a probe of each backend (up, round trip).

A scrape is rare (every 15 to 60 s) next to requests, so these cost nothing per request.
Counting secrets reads the whole table: the answer is kept `SECRETS_TTL` seconds per worker so
that several Prometheus servers scraping often do not each pay for it."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable

from sqlalchemy.exc import SQLAlchemyError

from strongroom.db import now
from strongroom.db.engine import DatabaseUnavailable
from strongroom.metrics.instruments import (
    ACTIVE_SESSIONS,
    BACKEND_LATENCY,
    BACKEND_UP,
    KEYRING_VERSION,
    REWRAP_DONE,
    REWRAP_RUNNING,
    REWRAP_TOTAL,
    SEALED,
    SECRETS,
)
from strongroom.secrets.repository import count_by_state
from strongroom.services import Services
from strongroom.sessions.store import StoreUnavailable

SECRETS_TTL = 30.0
_COUNTED_AT = "metrics.secrets_counted_at"


async def update_gauges(services: Services) -> None:
    sealed = services.barrier.sealed
    SEALED.set(1 if sealed else 0)
    if not sealed:
        KEYRING_VERSION.set(services.barrier.keyring.data_version)
    database_up = await _probe("database", services.db.ping)
    store_up = await _probe("session_store", services.store.ping)
    if store_up:
        try:
            ACTIVE_SESSIONS.set(await services.store.count_sessions(now()))
        except StoreUnavailable:
            BACKEND_UP.labels("session_store").set(0)
    if database_up:
        try:
            await _count_secrets(services)
            await _rewrap_progress(services)
        except (DatabaseUnavailable, SQLAlchemyError, OSError):
            BACKEND_UP.labels("database").set(0)


async def _probe(backend: str, ping: Callable[[], Awaitable[bool]]) -> bool:
    started = time.perf_counter()
    up = await ping()
    BACKEND_UP.labels(backend).set(1 if up else 0)
    if up:
        BACKEND_LATENCY.labels(backend).set(time.perf_counter() - started)
    return up


async def _count_secrets(services: Services) -> None:
    counted_at = services.extras.get(_COUNTED_AT)
    if isinstance(counted_at, float) and time.monotonic() - counted_at < SECRETS_TTL:
        return
    async with services.db.read() as conn:
        counts = await count_by_state(conn)
    for state, count in counts.items():
        SECRETS.labels(state).set(count)
    services.extras[_COUNTED_AT] = time.monotonic()


async def _rewrap_progress(services: Services) -> None:
    from strongroom.seal.rewrap import rewrapper_of

    job = await rewrapper_of(services).latest()
    REWRAP_RUNNING.set(1 if job is not None and job.state == "running" else 0)
    REWRAP_DONE.set(job.done if job is not None else 0)
    REWRAP_TOTAL.set(job.total if job is not None else 0)
