"""`GET /api/v1/sys/health`: unauthenticated liveness and readiness."""

from __future__ import annotations

import asyncio
from typing import Literal

from fastapi import APIRouter
from pydantic import BaseModel, Field

from strongroom import __version__
from strongroom.auth.dependencies import ServicesDep
from strongroom.http.responses import JsonResponse
from strongroom.http.strict_json import StrictJsonRoute

router = APIRouter(route_class=StrictJsonRoute, tags=["system"])


class Health(BaseModel):
    status: Literal["ok", "degraded"]
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
    responses={503: {"model": Health, "description": "The database or session store is down."}},
)
async def health(services: ServicesDep) -> JsonResponse:
    """Liveness and readiness of this node. No authentication; reveals no data."""
    database, store = await asyncio.gather(services.db.ping(), services.store.ping())
    ok = database and store
    body = Health(
        status="ok" if ok else "degraded",
        sealed=services.barrier.sealed,
        version=__version__,
        database="ok" if database else "unavailable",
        session_store="ok" if store else "unavailable",
        cluster_name=services.settings.general.cluster_name,
        audit="ok" if services.audit.healthy else "failing",
        audit_disk_free_bytes=services.audit.free_bytes(),
    )
    return JsonResponse(body.model_dump(), status_code=200 if ok else 503)
