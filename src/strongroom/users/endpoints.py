"""User accounts."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request

from strongroom.auth.dependencies import (
    AdminPrincipal,
    CurrentPrincipal,
    OptionalPrincipal,
    ServicesDep,
)
from strongroom.auth.principal import Principal
from strongroom.errors import Unauthorized
from strongroom.http.context import get_context
from strongroom.http.strict_json import StrictJsonRoute
from strongroom.users.schemas import (
    Done,
    PasswordChange,
    PasswordReset,
    Unlocked,
    UserCreate,
    UserOut,
    UserPage,
    UserUpdate,
)
from strongroom.users.service import UserService

router = APIRouter(route_class=StrictJsonRoute, tags=["users"])


async def registration_gate(actor: OptionalPrincipal, services: ServicesDep) -> Principal | None:
    """Anonymous callers reach /users/create only while registration is open (checked before
    the body is even parsed, so a closed server says 401 to every anonymous request)."""
    if actor is None and not (await services.runtime.refresh()).auth.registration_open:
        raise Unauthorized(
            "registration is closed; an admin must create accounts", code="invalid_token"
        )
    return actor


Registrant = Annotated[Principal | None, Depends(registration_gate)]


@router.post("/users/create", response_model=UserOut)
async def create_user(body: UserCreate, actor: Registrant, services: ServicesDep) -> UserOut:
    """Create a user. Admins choose the role; when `auth.registration_open` is on anyone may
    register, and the role is then always `auth.default_role`. 409 if the username or email
    is taken; 422 if the password breaks the policy."""
    return UserOut.of(await UserService(services).create(body, actor))


@router.get("/users", response_model=UserPage)
async def list_users(
    _admin: AdminPrincipal,
    services: ServicesDep,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    cursor: Annotated[str | None, Query(max_length=64)] = None,
) -> UserPage:
    """All users, by username, a page at a time."""
    users, next_cursor = await UserService(services).list(cursor, limit)
    return UserPage(items=[UserOut.of(user) for user in users], next_cursor=next_cursor)


@router.get("/users/me", response_model=UserOut)
async def me(principal: CurrentPrincipal, services: ServicesDep) -> UserOut:
    """Who am I: the user behind the bearer token."""
    return UserOut.of(await UserService(services).me(principal))


@router.post("/users/me/password", response_model=Done)
async def change_password(
    body: PasswordChange, request: Request, principal: CurrentPrincipal, services: ServicesDep
) -> Done:
    """Change your password; every other session of yours ends. The current password is
    checked under the login lock-out (429 with Retry-After while it is in force)."""
    ended = await UserService(services).change_password(
        principal,
        body.current_password.get_secret_value(),
        body.new_password.get_secret_value(),
        get_context(request),
    )
    return Done(sessions_ended=ended)


@router.get("/users/{username}", response_model=UserOut)
async def get_user(username: str, _admin: AdminPrincipal, services: ServicesDep) -> UserOut:
    """One user."""
    return UserOut.of(await UserService(services).get(username))


@router.post("/users/{username}/update", response_model=UserOut)
async def update_user(
    username: str, body: UserUpdate, _admin: AdminPrincipal, services: ServicesDep
) -> UserOut:
    """Change a user's email or role. A new role ends the user's sessions (the next login
    carries the new role). The last enabled admin cannot lose the role (409)."""
    user, _ = await UserService(services).update(username, body)
    return UserOut.of(user)


@router.post("/users/{username}/password", response_model=Done)
async def reset_password(
    username: str, body: PasswordReset, _admin: AdminPrincipal, services: ServicesDep
) -> Done:
    """Set a user's password (admin); all the user's sessions end and a login lock-out of the
    account is lifted."""
    ended = await UserService(services).reset_password(
        username, body.new_password.get_secret_value()
    )
    return Done(sessions_ended=ended)


@router.post("/users/{username}/disable", response_model=Done)
async def disable_user(username: str, _admin: AdminPrincipal, services: ServicesDep) -> Done:
    """Disable a user: every session ends at once and logins fail. Not the last admin (409)."""
    return Done(sessions_ended=await UserService(services).set_disabled(username, True))


@router.post("/users/{username}/enable", response_model=Done)
async def enable_user(username: str, _admin: AdminPrincipal, services: ServicesDep) -> Done:
    """Enable a disabled user; a login lock-out of the account is lifted too."""
    return Done(sessions_ended=await UserService(services).set_disabled(username, False))


@router.post("/users/{username}/unlock", response_model=Unlocked)
async def unlock_user(
    username: str, request: Request, _admin: AdminPrincipal, services: ServicesDep
) -> Unlocked:
    """Lift the account's login lock-out and forget its failed logins (the lock-out of a
    client address ends on its own). 404 for an unknown user."""
    user, was_locked = await UserService(services).unlock(username)
    get_context(request).extra["audit"] = {"unlocked": user.username, "was_locked": was_locked}
    return Unlocked(username=user.username, was_locked=was_locked)


@router.post("/users/{username}/delete", response_model=Done)
async def delete_user(username: str, _admin: AdminPrincipal, services: ServicesDep) -> Done:
    """Delete a user; all their sessions end at once, and every secret of their personal space
    (`users/{username}/`) is destroyed with them. The last admin cannot be deleted (409)."""
    return Done(sessions_ended=await UserService(services).delete(username))
