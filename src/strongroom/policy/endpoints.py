"""HTTP routes of the policy domain: roles and their path rules (admins only)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request

from strongroom.auth.dependencies import AdminPrincipal, ServicesDep
from strongroom.http.context import get_context
from strongroom.http.strict_json import StrictJsonRoute
from strongroom.policy import service
from strongroom.policy.schemas import RoleCreate, RoleOut, RolePage, RoleUpdate


async def policy_route(request: Request) -> None:
    # Roles decide who reads which secret: like settings, no change without an audit record.
    get_context(request).sensitive = True


router = APIRouter(
    route_class=StrictJsonRoute, tags=["policy"], dependencies=[Depends(policy_route)]
)

ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"description": "missing, invalid or expired bearer token"},
    403: {"description": "the caller is not an admin"},
}
NAME_ERRORS: dict[int | str, dict[str, Any]] = {
    **ERRORS,
    404: {"description": "no role of that name"},
    409: {"description": "a built-in role, or a role still in use"},
}


@router.get("/roles", response_model=RolePage, responses=ERRORS)
async def list_roles(
    services: ServicesDep,
    _admin: AdminPrincipal,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    cursor: Annotated[str | None, Query(max_length=64)] = None,
) -> RolePage:
    """Every role, built-in ones included, ordered by name."""
    records, next_cursor = await service.list_roles(services, limit=limit, cursor=cursor)
    return RolePage(items=[RoleOut.of(r) for r in records], next_cursor=next_cursor)


@router.post(
    "/roles",
    response_model=RoleOut,
    responses={**ERRORS, 409: {"description": "the name is taken (or built-in)"}},
)
async def create_role(body: RoleCreate, services: ServicesDep, _admin: AdminPrincipal) -> RoleOut:
    """Define a role: path rules granting capabilities on secrets (default deny, `deny` wins).

    Takes effect on every node before its next request."""
    return RoleOut.of(await service.create_role(services, body))


@router.get("/roles/{name}", response_model=RoleOut, responses=NAME_ERRORS)
async def get_role(name: str, services: ServicesDep, _admin: AdminPrincipal) -> RoleOut:
    """One role with its rules."""
    return RoleOut.of(await service.get_role(services, name))


@router.put("/roles/{name}", response_model=RoleOut, responses=NAME_ERRORS)
async def update_role(
    name: str, body: RoleUpdate, services: ServicesDep, _admin: AdminPrincipal
) -> RoleOut:
    """Replace a custom role's description and rules. Built-in roles cannot be changed."""
    return RoleOut.of(await service.update_role(services, name, body))


@router.delete("/roles/{name}", responses=NAME_ERRORS)
async def delete_role(name: str, services: ServicesDep, _admin: AdminPrincipal) -> dict[str, bool]:
    """Delete a custom role that no user holds and no setting names."""
    await service.delete_role(services, name)
    return {"deleted": True}
