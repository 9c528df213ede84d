"""Seal status, and the unseal form while the node is sealed.

The page talks to the node's own public API with the interface of issue 21
(`GET /api/v1/sys/seal-status`, `POST /api/v1/sys/unseal {"key"} | {"reset": true}`), from
`static/seal.js`: those routes need no session (a key share is the credential), so the page
works on a sealed node, and whatever seal the node has, the page shows what it reports. On a
node without `seal-status` it reads `/sys/health`.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import Response

from strongroom.ui.render import page
from strongroom.ui.routing import ServicesDep, UiOptionalUser, UiRoute

router = APIRouter(route_class=UiRoute)


@router.get("/ui/seal")
async def seal_page(request: Request, services: ServicesDep, user: UiOptionalUser) -> Response:
    """Seal status; the unseal form when sealed (no session needed)."""
    return page(
        request,
        services,
        "seal.html",
        user,
        title="Seal status",
        sealed=services.barrier.sealed,
        seal_type=services.config.seal.value,
    )
