"""Users and roles (admins)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from pydantic import SecretStr, ValidationError
from starlette.responses import Response

from strongroom.errors import InvalidInput, StrongroomError
from strongroom.policy import service as roles
from strongroom.policy.schemas import RoleCreate, RoleOut, RoleUpdate, RuleIn
from strongroom.ui.render import page, redirect
from strongroom.ui.routing import ServicesDep, UiAdmin, UiRoute, form_of
from strongroom.users.schemas import UserCreate, UserOut, UserUpdate
from strongroom.users.service import UserService

router = APIRouter(route_class=UiRoute)


def _problem(exc: ValidationError | StrongroomError) -> str:
    if isinstance(exc, ValidationError):
        return "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
    return exc.detail


async def _role_names(services: ServicesDep) -> list[str]:
    records, _ = await roles.list_roles(services, limit=1000, cursor=None)
    return [record.role.name for record in records]


async def _users_page(
    request: Request, services: ServicesDep, admin: UiAdmin, *, status: int = 200, **values: Any
) -> Response:
    cursor = request.query_params.get("cursor") or None
    users, next_cursor = await UserService(services).list(cursor, 100)
    return page(
        request,
        services,
        "users.html",
        admin,
        status=status,
        title="Users",
        users=[UserOut.of(u) for u in users],
        next_cursor=next_cursor,
        roles=await _role_names(services),
        **values,
    )


@router.get("/ui/users")
async def users_page(request: Request, services: ServicesDep, admin: UiAdmin) -> Response:
    """Every user, with the forms to create, change, disable and delete them."""
    return await _users_page(request, services, admin)


@router.post("/ui/users/new")
async def create_user(request: Request, services: ServicesDep, admin: UiAdmin) -> Response:
    form = await form_of(request)
    try:
        body = UserCreate(
            username=form.get("username", "")[:200],
            email=form.get("email") or None,
            role=form.get("role") or None,
            password=SecretStr(form.get("password", "")[:2048]),
        )
        await UserService(services).create(body, admin)
    except (ValidationError, StrongroomError) as exc:
        status = exc.status if isinstance(exc, StrongroomError) else 422
        return await _users_page(
            request,
            services,
            admin,
            status=status,
            error=_problem(exc),
            draft={"username": form.get("username", ""), "email": form.get("email", "")},
        )
    return redirect("/ui/users", "user-created")


@router.post("/ui/users/{username}/{action}")
async def change_user(
    username: str, action: str, request: Request, services: ServicesDep, admin: UiAdmin
) -> Response:
    """update (role, email), disable, enable, delete, password (reset)."""
    form = await form_of(request)
    users = UserService(services)
    try:
        if action == "update":
            await users.update(
                username, UserUpdate(role=form.get("role") or None, email=form.get("email") or None)
            )
        elif action == "disable":
            await users.set_disabled(username, True)
        elif action == "enable":
            await users.set_disabled(username, False)
        elif action == "delete":
            await users.delete(username)
            return redirect("/ui/users", "user-deleted")
        elif action == "password":
            await users.reset_password(username, form.get("password", "")[:2048])
        else:
            raise InvalidInput(f"unknown action {action[:20]!r}")
    except (ValidationError, StrongroomError) as exc:
        status = exc.status if isinstance(exc, StrongroomError) else 422
        return await _users_page(request, services, admin, status=status, error=_problem(exc))
    return redirect("/ui/users", "user-updated")


def rules_text(role: RoleOut) -> str:
    return "\n".join(f"{rule.path}: {', '.join(rule.capabilities)}" for rule in role.rules)


def parse_rules(text: str) -> list[RuleIn]:
    """One rule a line: `team-a/*: read, list`."""
    rules: list[dict[str, Any]] = []
    for line in text.splitlines():
        if not line.strip():
            continue
        path, sep, caps = line.rpartition(":")
        if not sep or not path.strip():
            raise InvalidInput(
                f"a rule is 'path: capability, ...'; this line is not: {line.strip()[:60]!r}",
                loc=("body", "rules"),
            )
        capabilities = [c.strip() for c in caps.split(",") if c.strip()]
        rules.append({"path": path.strip(), "capabilities": capabilities})
    return [RuleIn.model_validate(rule) for rule in rules]


async def _roles_page(
    request: Request, services: ServicesDep, admin: UiAdmin, *, status: int = 200, **values: Any
) -> Response:
    records, _ = await roles.list_roles(services, limit=1000, cursor=None)
    return page(
        request,
        services,
        "roles.html",
        admin,
        status=status,
        title="Roles",
        roles=[RoleOut.of(r) for r in records],
        rules_text=rules_text,
        **values,
    )


@router.get("/ui/roles")
async def roles_page(request: Request, services: ServicesDep, admin: UiAdmin) -> Response:
    """Every role and its path rules; custom roles can be changed and deleted."""
    return await _roles_page(request, services, admin)


@router.post("/ui/roles/new")
async def create_role(request: Request, services: ServicesDep, admin: UiAdmin) -> Response:
    form = await form_of(request)
    try:
        body = RoleCreate(
            name=form.get("name", "")[:100],
            description=form.get("description", "")[:1000],
            rules=parse_rules(form.get("rules", "")[:100_000]),
        )
        await roles.create_role(services, body)
    except (ValidationError, StrongroomError) as exc:
        status = exc.status if isinstance(exc, StrongroomError) else 422
        return await _roles_page(
            request, services, admin, status=status, error=_problem(exc), draft=form
        )
    return redirect("/ui/roles", "role-saved")


@router.post("/ui/roles/{name}/{action}")
async def change_role(
    name: str, action: str, request: Request, services: ServicesDep, admin: UiAdmin
) -> Response:
    """update (description and rules) or delete a custom role."""
    form = await form_of(request)
    try:
        if action == "update":
            body = RoleUpdate(
                description=form.get("description", "")[:1000],
                rules=parse_rules(form.get("rules", "")[:100_000]),
            )
            await roles.update_role(services, name, body)
        elif action == "delete":
            await roles.delete_role(services, name)
            return redirect("/ui/roles", "role-deleted")
        else:
            raise InvalidInput(f"unknown action {action[:20]!r}")
    except (ValidationError, StrongroomError) as exc:
        status = exc.status if isinstance(exc, StrongroomError) else 422
        return await _roles_page(request, services, admin, status=status, error=_problem(exc))
    return redirect("/ui/roles", "role-saved")
