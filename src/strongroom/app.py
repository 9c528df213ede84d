"""`create_app(config)`: the FastAPI application of one strongroom node."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import os
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import orjson
from fastapi import APIRouter, FastAPI

from strongroom import __version__
from strongroom.audit.log import AuditLog
from strongroom.barrier.service import Barrier
from strongroom.bootstrap import bootstrap, password_hasher
from strongroom.config import Config
from strongroom.db import Database, now
from strongroom.http.body import add_documented_bodies
from strongroom.http.errors import UnexpectedErrors, install_error_handlers
from strongroom.http.middleware import TransportGuard
from strongroom.http.responses import JsonResponse
from strongroom.metrics.instruments import SWEEP_LAST, SWEEPS, SWEPT
from strongroom.metrics.requests import RequestObserver, flush_every
from strongroom.services import Services, ServicesHolder
from strongroom.sessions.factory import make_store
from strongroom.system.health import router as health_router
from strongroom.system.runtime import Runtime

log = logging.getLogger(__name__)
API_PREFIX = "/api/v1"
RESOLVED_CONFIG_ENV = "STRONGROOM__RESOLVED_CONFIG"

Sweeper = Callable[[float], Awaitable[int]]
GC_YOUNG_THRESHOLD = 20_000


async def start_services(config: Config, *, run_bootstrap: bool) -> Services:
    if run_bootstrap:
        await bootstrap(config)
    db = Database(config.resolved_database_url)
    store = make_store(config, db)
    barrier = Barrier(db)
    from strongroom.seal.backends import seal_for
    from strongroom.seal.service import SealKeeper

    keeper = SealKeeper(seal_for(config), barrier, db)
    await keeper.start()
    runtime = Runtime(db, store, barrier)
    await runtime.refresh()
    from strongroom.audit.factory import make_audit_log

    audit: AuditLog = make_audit_log(config, db, barrier)
    services = Services(config, db, store, barrier, runtime, password_hasher(config), audit)
    services.extras["seal"] = keeper
    from strongroom.seal.rewrap import rewrapper_of

    rewrapper_of(services).resume_soon()
    return services


async def stop_services(services: Services) -> None:
    for extra in services.extras.values():
        # Per-node clients made on first use (e.g. the GitHub HTTP client) close with the node.
        closer = getattr(extra, "aclose", None)
        if closer is not None:
            await closer()
    await services.audit.flush()
    services.audit.close()
    services.passwords.close()
    await services.store.close()
    await services.db.dispose()


async def _sweep_forever(services: Services, sweepers: list[Sweeper]) -> None:
    while True:
        await asyncio.sleep(services.config.sweep_interval)
        for sweep in sweepers:
            await _run_sweeper(sweep)


async def _run_sweeper(sweep: Sweeper) -> None:
    name = getattr(sweep, "__name__", "sweeper").removesuffix("_sweep")
    try:
        swept = await sweep(now())
    except Exception:
        SWEEPS.labels(name, "failed").inc()
        log.exception("sweeper %s failed", name)
        return
    SWEEPS.labels(name, "ok").inc()
    SWEPT.labels(name).inc(swept)
    SWEEP_LAST.labels(name).set(time.time())


def api_routers() -> list[APIRouter]:
    from strongroom.audit.endpoints import router as audit_router
    from strongroom.auth.endpoints import router as auth_router
    from strongroom.auth.seed import router as seed_auth_router
    from strongroom.backup.endpoints import router as backup_router
    from strongroom.github.endpoints import router as github_router
    from strongroom.modules.endpoints import router as modules_router
    from strongroom.modules.totp.endpoints import router as totp_router
    from strongroom.modules.transit.endpoints import router as transit_router
    from strongroom.notifications.endpoints import router as notifications_router
    from strongroom.policy.endpoints import router as roles_router
    from strongroom.seal.endpoints import router as seal_router
    from strongroom.secrets.endpoints import router as secrets_router
    from strongroom.system.endpoints import router as system_router
    from strongroom.users.endpoints import router as users_router

    return [
        health_router,
        auth_router,
        seed_auth_router,
        github_router,
        users_router,
        roles_router,
        secrets_router,
        system_router,
        notifications_router,
        backup_router,
        seal_router,
        audit_router,
        # The modules' own routes before the library's /modules/{module_id}/... ones.
        transit_router,
        totp_router,
        modules_router,
    ]


def sweepers_for(services: Services) -> list[Sweeper]:
    from strongroom.notifications.service import sweep_notices
    from strongroom.secrets.service import sweep_expired_secrets
    from strongroom.shares.service import sweep_expired_shares
    from strongroom.vault.wrapping import sweep_wrapped

    async def secrets_sweep(at: float) -> int:
        return await sweep_expired_secrets(services, at)

    async def shares_sweep(at: float) -> int:
        return await sweep_expired_shares(services, at)

    async def sessions_sweep(at: float) -> int:
        return await services.store.sweep(at)

    async def notices_sweep(at: float) -> int:
        return await sweep_notices(services, at)

    async def wrapped_sweep(at: float) -> int:
        return await sweep_wrapped(services, at)

    async def rewrap_resume(at: float) -> int:
        from strongroom.seal.rewrap import rewrapper_of

        rewrapper_of(services).resume_soon()  # a job left by a crashed worker, once its lease ends
        return 0

    # Notices before the secrets sweep: a secret that just expired is still as it was.
    return [
        sessions_sweep,
        notices_sweep,
        secrets_sweep,
        shares_sweep,
        wrapped_sweep,
        rewrap_resume,
    ]


def _document_form_bodies(app: FastAPI) -> None:
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        return add_documented_bodies(generate())

    app.openapi = openapi  # type: ignore[method-assign]


def create_app(config: Config, *, run_bootstrap: bool = True, fast_lane: bool = True) -> FastAPI:
    """The app of one node. `run_bootstrap=False` when a supervisor already prepared the node;
    `fast_lane=False` serves every route through FastAPI (the tests compare both)."""
    holder = ServicesHolder()
    observer = RequestObserver(lambda: holder.settings().metrics.access != "off")

    @contextlib.asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        services = await start_services(config, run_bootstrap=run_bootstrap)
        holder.services = services
        # Everything built so far lives as long as the process: move it out of the cyclic
        # collector's sight so that full collections stay short (they set the tail latency).
        gc.collect()
        gc.freeze()
        # A request's objects die by reference counting, but the 32 requests in flight push
        # the young generation past the default threshold (700) so often that collecting it
        # took about 3 % of a worker's CPU under load; with this one it runs only when
        # objects really accumulate, so reference cycles are still reclaimed.
        gc.set_threshold(GC_YOUNG_THRESHOLD, 20, 10)
        sweeper = asyncio.create_task(_sweep_forever(services, sweepers_for(services)))
        flusher = asyncio.create_task(flush_every(observer))
        try:
            yield
        finally:
            for task in (sweeper, flusher):
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            holder.services = None
            await stop_services(services)

    app = FastAPI(
        # FastAPI's OpenTelemetry hooks look the tracer provider up on every request;
        # strongroom leaves tracing to the operator's proxy.
        telemetry={"tracing": False, "metrics": False, "logs": False},
        title="strongroom",
        version=__version__,
        description="A self-hosted secrets manager: encrypted secrets, revocable sessions, audit.",
        openapi_url=f"{API_PREFIX}/openapi.json",
        # Swagger UI from the package, not a CDN (strongroom.system.api_docs).
        docs_url=None,
        redoc_url=None,
        default_response_class=JsonResponse,
        lifespan=lifespan,
    )
    app.state.holder = holder
    app.state.request_observer = observer
    install_error_handlers(app)
    _document_form_bodies(app)
    for router in api_routers():
        app.include_router(router, prefix=API_PREFIX)
    from strongroom.system.api_docs import docs_router

    app.include_router(docs_router(API_PREFIX), prefix=API_PREFIX)
    from strongroom.metrics.endpoints import router as metrics_router

    app.include_router(metrics_router)
    from strongroom.ui.router import ui_router

    app.include_router(ui_router())
    from strongroom.vault.http import vault_router

    app.include_router(vault_router())
    from strongroom.audit.middleware import AuditMiddleware
    from strongroom.fastlane import FastLane

    if fast_lane:
        app.add_middleware(FastLane, holder=holder)
    app.add_middleware(UnexpectedErrors)
    app.add_middleware(AuditMiddleware, holder=holder)
    from strongroom.seal.gate import SealGate

    app.add_middleware(SealGate, holder=holder)
    app.add_middleware(
        TransportGuard,
        settings=holder.settings,
        refresh=holder.refresh,
        max_body=config.max_request_bytes,
        observe=observer,
    )
    return app


def app_from_environment() -> FastAPI:
    """Factory for server workers: the supervisor passes the resolved config in the environment."""
    from strongroom.logs import configure_logging

    config = Config(**orjson.loads(os.environ[RESOLVED_CONFIG_ENV]))
    configure_logging(config.log_level, config.log_format.value)
    return create_app(config, run_bootstrap=False)
