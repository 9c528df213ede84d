"""`GET /api/v1/sys/health`: unauthenticated liveness and readiness."""

from __future__ import annotations

import asyncio
from typing import Annotated, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from strongroom import __version__
from strongroom.auth.dependencies import ServicesDep
from strongroom.http.responses import JsonResponse
from strongroom.http.strict_json import StrictJsonRoute

router = APIRouter(route_class=StrictJsonRoute, tags=["system"])

StatusCode = Annotated[int | None, Query(ge=200, le=599)]


HealthStatus = Literal["ok", "degraded", "sealed", "not_initialised"]


class Health(BaseModel):
    status: HealthStatus
    initialized: bool
    sealed: bool
    version: str
    database: Literal["ok", "unavailable"]
    session_store: Literal["ok", "unavailable"]
    cluster_name: str
    audit: Literal["ok", "failing"] = Field(
        description="failing: no audit sink can write, and authenticated requests answer 503."
    )
    audit_disk_free_bytes: int | None = Field(
        description="Free bytes on the file system of the audit log file (null without one): "
        "alert well before it reaches 0 (issue 17, finding 7)."
    )


@router.get(
    "/sys/health",
    response_model=Health,
    responses={
        501: {"model": Health, "description": "Not initialised (sys/init)."},
        503: {"model": Health, "description": "Sealed, or the database or session store is down."},
    },
)
async def health(
    services: ServicesDep,
    activecode: StatusCode = None,
    sealedcode: StatusCode = None,
    uninitcode: StatusCode = None,
) -> JsonResponse:
    """Liveness and readiness of this node, for load balancers: 200 when it serves, 501 when
    not initialised, 503 when sealed or when the database or session store is down. As in
    Vault, `activecode`, `sealedcode` and `uninitcode` change those codes. No authentication;
    reveals no data."""
    database, store = await asyncio.gather(services.db.ping(), services.store.ping())
    initialised = await services.barrier.refresh_initialised() if database else True
    sealed = services.barrier.sealed
    status: HealthStatus
    if not (database and store):
        status, http_status = "degraded", 503
    elif not initialised:
        status, http_status = "not_initialised", uninitcode or 501
    elif sealed:
        status, http_status = "sealed", sealedcode or 503
    else:
        status, http_status = "ok", activecode or 200
    body = Health(
        status=status,
        initialized=initialised,
        sealed=sealed,
        version=__version__,
        database="ok" if database else "unavailable",
        session_store="ok" if store else "unavailable",
        cluster_name=services.settings.general.cluster_name,
        audit="ok" if services.audit.healthy else "failing",
        audit_disk_free_bytes=services.audit.free_bytes(),
    )
    return JsonResponse(body.model_dump(), status_code=http_status)
