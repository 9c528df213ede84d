"""HTTP routes of the module library (seeds/004): the caller's modules, and the operator's
policies. The modules' own routes are in modules/<id>/endpoints.py."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from strongroom.auth.dependencies import (
    AdminPrincipal,
    CurrentPrincipal,
    ServicesDep,
    SystemReader,
)
from strongroom.http.context import get_context
from strongroom.http.strict_json import StrictJsonRoute
from strongroom.modules import service
from strongroom.modules.schemas import (
    ModuleAdminOut,
    ModuleAdminPage,
    ModuleOut,
    ModulePage,
    ModulePolicyIn,
    Purged,
    PurgeIn,
)
from strongroom.users.validation import normalise_username

router = APIRouter(route_class=StrictJsonRoute, tags=["modules"])
ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"description": "missing, invalid or expired bearer token"},
    404: {"description": "no module of that id (module_not_found)"},
}


async def list_modules(principal: CurrentPrincipal, services: ServicesDep) -> ModulePage:
    """Every module with its description and its status for you: `available` on this server,
    `allowed` for your role, `enabled` by you."""
    statuses = await service.list_for(services, principal)
    return ModulePage(items=[ModuleOut.of(status) for status in statuses])


for path in ("/modules/", "/modules"):
    router.add_api_route(
        path,
        list_modules,
        methods=["GET"],
        response_model=ModulePage,
        responses=ERRORS,
        name=f"list_modules{'_slash' if path.endswith('/') else ''}",
    )


@router.post(
    "/modules/{module_id}/enable",
    response_model=ModuleOut,
    responses={**ERRORS, 403: {"description": "module_unavailable or module_not_allowed"}},
)
async def enable_module(
    module_id: str, principal: CurrentPrincipal, services: ServicesDep
) -> ModuleOut:
    """Enable a module for yourself (idempotent); its routes under /api/v1/modules/{id}/ then
    answer you. 403 if the module is not available or not for your role."""
    return ModuleOut.of(await service.enable(services, principal, module_id))


@router.post(
    "/modules/{module_id}/disable",
    response_model=ModuleOut,
    responses={**ERRORS, 409: {"description": "kv cannot be disabled"}},
)
async def disable_module(
    module_id: str, principal: CurrentPrincipal, services: ServicesDep
) -> ModuleOut:
    """Disable a module for yourself (idempotent). Its data (your keys) stays: enabling it
    again gives you access back. `kv` cannot be disabled (409)."""
    return ModuleOut.of(await service.disable(services, principal, module_id))


@router.get("/sys/modules", response_model=ModuleAdminPage, responses=ERRORS)
async def list_module_policies(_reader: SystemReader, services: ServicesDep) -> ModuleAdminPage:
    """Every module with its policy (available, roles) and how many users enabled it."""
    views = await service.admin_list(services)
    return ModuleAdminPage(items=[ModuleAdminOut.of(view) for view in views])


@router.post(
    "/sys/modules/{module_id}",
    response_model=ModuleAdminOut,
    responses={**ERRORS, 403: {}, 409: {"description": "kv is always available"}},
)
async def set_module_policy(
    module_id: str,
    body: ModulePolicyIn,
    request: Request,
    admin: AdminPrincipal,
    services: ServicesDep,
) -> ModuleAdminOut:
    """Make a module available or not, and say which roles may use it (admins always may).
    Audited, kept in the settings history, in force on every node at its next request. Users
    keep their data while a module is unavailable."""
    ctx = get_context(request)
    ctx.sensitive = True
    view, applied = await service.set_policy(
        services, module_id, body.available, body.roles, admin.username, ctx.request_id
    )
    ctx.extra["audit"] = {"settings": applied}
    return ModuleAdminOut.of(view)


@router.post(
    "/sys/modules/{module_id}/purge",
    response_model=Purged,
    responses={**ERRORS, 403: {}, 409: {"description": "kv data are secrets"}},
)
async def purge_module_data(
    module_id: str, body: PurgeIn, request: Request, _admin: AdminPrincipal, services: ServicesDep
) -> Purged:
    """Delete a user's data of a module (every key) and disable the module for that user."""
    ctx = get_context(request)
    ctx.sensitive = True
    deleted = await service.purge(services, module_id, body.username)
    ctx.extra["audit"] = {"purged": {"module": module_id, "user": body.username[:64]}}
    return Purged(
        module_id=module_id, username=normalise_username(body.username), keys_deleted=deleted
    )
