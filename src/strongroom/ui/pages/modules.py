"""The module library: enable and disable for yourself; admins set availability and roles."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import Response

from strongroom.errors import InvalidInput
from strongroom.http.context import get_context
from strongroom.modules import service
from strongroom.policy.rules import ADMIN
from strongroom.ui.render import page, redirect
from strongroom.ui.routing import ServicesDep, UiAdmin, UiRoute, UiUser, form_lists

router = APIRouter(route_class=UiRoute)


@router.get("/ui/modules")
async def modules_page(request: Request, services: ServicesDep, user: UiUser) -> Response:
    """Every module with its status for you; admins also see and set each one's policy."""
    statuses = await service.list_for(services, user)
    policies = await service.admin_list(services) if user.role == ADMIN else []
    roles = sorted(services.runtime.roles) if user.role == ADMIN else []
    return page(
        request,
        services,
        "modules.html",
        user,
        title="Modules",
        statuses=statuses,
        policies=policies,
        roles=roles,
    )


@router.post("/ui/modules/{module_id}/{action}")
async def switch(
    module_id: str, action: str, request: Request, services: ServicesDep, user: UiUser
) -> Response:
    """Enable or disable a module for yourself."""
    if action == "enable":
        await service.enable(services, user, module_id[:64])
    elif action == "disable":
        await service.disable(services, user, module_id[:64])
    else:
        raise InvalidInput(f"unknown action {action[:20]!r}")
    return redirect("/ui/modules", "module-changed")


@router.post("/ui/sys/modules/{module_id}")
async def set_policy(
    module_id: str, request: Request, services: ServicesDep, admin: UiAdmin
) -> Response:
    """Make a module available or not, and choose the roles that may use it."""
    form = await form_lists(request)
    ctx = get_context(request)
    ctx.sensitive = True
    available = (form.get("available") or ["false"])[0] == "true"
    _, applied = await service.set_policy(
        services,
        module_id[:64],
        available,
        form.get("roles", []),
        admin.username,
        ctx.request_id,
    )
    ctx.extra["audit"] = {"settings": applied}
    return redirect("/ui/modules", "module-changed")
