"""What every module route shares at the HTTP edge."""

from __future__ import annotations

from typing import Any

from fastapi import Request

from strongroom.auth.dependencies import ServicesDep
from strongroom.barrier.service import Sealed
from strongroom.http.context import get_context


async def module_route(request: Request, services: ServicesDep) -> None:
    """Runs before authentication on every route of a module: module data is key material
    (no answer without an audit record) and lives behind the barrier (503 while sealed)."""
    get_context(request).sensitive = True
    if services.barrier.sealed:
        raise Sealed()


ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"description": "missing, invalid or expired bearer token"},
    403: {
        "description": "module_unavailable, module_not_allowed (the caller's role), "
        "module_not_enabled (POST /api/v1/modules/{module_id}/enable first)"
    },
    404: {"description": "no key of that name (key_not_found)"},
    503: {"description": "sealed, audit unavailable, or stored key material failed its check"},
}
