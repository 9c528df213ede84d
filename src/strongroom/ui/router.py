"""All of the interface's routes, its static files, and `/` → `/ui/`."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from starlette.responses import RedirectResponse, Response

from strongroom.crypto import constant_time_equal
from strongroom.errors import NotFound
from strongroom.ui.assets import ASSETS
from strongroom.ui.pages import (
    audit,
    auth,
    modules,
    seal,
    secrets,
    sessions,
    settings,
    share,
    users,
)
from strongroom.ui.routing import UiRoute, csrf_dependency

YEAR = 365 * 86400


def _entry_router() -> APIRouter:
    entry = APIRouter(route_class=UiRoute)

    @entry.get("/", include_in_schema=False)
    async def root() -> Response:
        return RedirectResponse("/ui/", status_code=302)

    @entry.get("/ui", include_in_schema=False)
    @entry.get("/ui/", include_in_schema=False)
    async def home() -> Response:
        return RedirectResponse("/ui/secrets", status_code=302)

    @entry.get("/ui/static/{name}", include_in_schema=False)
    async def static(name: str, request: Request) -> Response:
        asset = ASSETS.get(name)
        if asset is None:
            raise NotFound("no such file")
        versioned = constant_time_equal(request.query_params.get("v", ""), asset.digest)
        cache = f"public, max-age={YEAR}, immutable" if versioned else "no-cache"
        return Response(
            asset.body,
            media_type=asset.content_type,
            headers={"cache-control": cache, "etag": f'"{asset.digest}"'},
        )

    return entry


def ui_router() -> APIRouter:
    """Every route of the interface; each POST passes the CSRF check first."""
    router = APIRouter(dependencies=[Depends(csrf_dependency)], include_in_schema=False)
    router.include_router(_entry_router())
    for module in (auth, secrets, share, sessions, users, settings, audit, modules, seal):
        router.include_router(module.router)
    return router
