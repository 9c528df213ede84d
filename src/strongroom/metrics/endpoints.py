"""`GET /metrics`: Prometheus text format, outside /api/v1 (where scrapers look for it)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from prometheus_client import CONTENT_TYPE_LATEST
from sqlalchemy.exc import SQLAlchemyError
from starlette.responses import Response

from strongroom.auth.dependencies import ServicesDep, authenticate
from strongroom.db.engine import DatabaseUnavailable
from strongroom.errors import Forbidden, NotFound
from strongroom.http.context import get_context
from strongroom.metrics.exposition import render
from strongroom.metrics.scrape import update_gauges
from strongroom.policy.rules import SYSTEM_READERS
from strongroom.sessions.store import StoreUnavailable

router = APIRouter(tags=["metrics"])


@router.get("/metrics", response_class=Response)
async def metrics(request: Request, services: ServicesDep) -> Response:
    """Every metric in Prometheus text format (version 0.0.4). Who may read it is the setting
    `metrics.access`: `open` (anyone), `token` (the default: a bearer token of an admin or an
    auditor), `off` (404, and requests are not counted)."""
    # The exact settings, not the cached ones: a node must not stay open after a change. With
    # the store down the cached ones stand: a scrape during an outage is when metrics matter.
    try:
        access = (await services.runtime.refresh()).metrics.access
    except (StoreUnavailable, DatabaseUnavailable, SQLAlchemyError, OSError):
        access = services.settings.metrics.access
    if access == "off":
        raise NotFound("metrics are off on this server (setting metrics.access)")
    if access != "open":
        principal = await authenticate(services, request.scope, get_context(request))
        if principal.role not in SYSTEM_READERS:
            raise Forbidden("metrics need the admin or auditor role")
    request.app.state.request_observer.flush()  # this worker's latest requests too
    await update_gauges(services)
    return Response(render(), media_type=CONTENT_TYPE_LATEST)
