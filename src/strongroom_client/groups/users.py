"""`client.users`: accounts (admins) and `me()`."""

from __future__ import annotations

import builtins
from typing import TYPE_CHECKING, Any

from strongroom_client._core import (
    Call,
    acollect,
    collect,
    copy_docs,
    paged,
    raw_json,
    route,
    segment,
)
from strongroom_client.models import Done, User, build

if TYPE_CHECKING:
    from strongroom_client.aio import AsyncClient
    from strongroom_client.client import Client


def _user(data: Any) -> User:
    return build(User, data)


def _done(data: Any) -> Done:
    return build(Done, data)


def create_call(username: str, password: str, email: str | None, role: str | None) -> Call[User]:
    body: dict[str, Any] = {"username": username, "password": password}
    if email is not None:
        body["email"] = email
    if role is not None:
        body["role"] = role
    return Call("POST", "/users/create", _user, json=body)


def update_call(username: str, email: str | None, role: str | None) -> Call[User]:
    body = {k: v for k, v in (("email", email), ("role", role)) if v is not None}
    return Call("POST", f"/users/{segment(username)}/update", _user, json=body)


def action(username: str, what: str, body: Any = None) -> Call[Done]:
    return Call("POST", f"/users/{segment(username)}/{what}", _done, json=body)


def me_call() -> Call[User]:
    return Call("GET", "/users/me", _user)


def get_call(username: str) -> Call[User]:
    return Call("GET", "/users/" + segment(username), _user)


def change_password_call(current: str, new: str) -> Call[Done]:
    body = {"current_password": current, "new_password": new}
    return Call("POST", "/users/me/password", _done, json=body)


def unlock_call(username: str) -> Call[Any]:
    return Call("POST", f"/users/{segment(username)}/unlock", raw_json, json={})


class Users:
    """User accounts. Every method but `me` and `change_password` needs an admin."""

    def __init__(self, client: Client) -> None:
        self._c = client

    @route("POST", "/users/create")
    def create(
        self, username: str, password: str, *, email: str | None = None, role: str | None = None
    ) -> User:
        """Create a user (role default: `auth.default_role`). `Conflict` if the username or
        email is taken; `ValidationError` if the password breaks the policy."""
        return self._c.call(create_call(username, password, email, role))

    @route("GET", "/users")
    def list(self) -> builtins.list[User]:
        """Every user, by username (all pages)."""
        return collect(self._c, paged("/users"), _user)

    @route("GET", "/users/me")
    def me(self) -> User:
        """Who am I: the user behind this client's token."""
        return self._c.call(me_call())

    @route("POST", "/users/me/password")
    def change_password(self, current_password: str, new_password: str) -> Done:
        """Change your own password; your other sessions end."""
        return self._c.call(change_password_call(current_password, new_password))

    @route("GET", "/users/{username}")
    def get(self, username: str) -> User:
        """One user."""
        return self._c.call(get_call(username))

    @route("POST", "/users/{username}/update")
    def update(self, username: str, *, email: str | None = None, role: str | None = None) -> User:
        """Change a user's email or role (a new role ends the user's sessions)."""
        return self._c.call(update_call(username, email, role))

    @route("POST", "/users/{username}/password")
    def set_password(self, username: str, new_password: str) -> Done:
        """Set a user's password; all the user's sessions end."""
        return self._c.call(action(username, "password", {"new_password": new_password}))

    @route("POST", "/users/{username}/disable")
    def disable(self, username: str) -> Done:
        """Disable a user: sessions end at once, logins fail."""
        return self._c.call(action(username, "disable"))

    @route("POST", "/users/{username}/enable")
    def enable(self, username: str) -> Done:
        """Enable a disabled user."""
        return self._c.call(action(username, "enable"))

    @route("POST", "/users/{username}/delete")
    def delete(self, username: str) -> Done:
        """Delete a user; all their sessions end."""
        return self._c.call(action(username, "delete"))

    @route("POST", "/users/{username}/unlock")
    def unlock(self, username: str) -> Any:
        """Lift a user's login lock-out (admin)."""
        return self._c.call(unlock_call(username))


class AsyncUsers:
    def __init__(self, client: AsyncClient) -> None:
        self._c = client

    @route("POST", "/users/create")
    async def create(
        self, username: str, password: str, *, email: str | None = None, role: str | None = None
    ) -> User:
        return await self._c.call(create_call(username, password, email, role))

    @route("GET", "/users")
    async def list(self) -> builtins.list[User]:
        return await acollect(self._c, paged("/users"), _user)

    @route("GET", "/users/me")
    async def me(self) -> User:
        return await self._c.call(me_call())

    @route("POST", "/users/me/password")
    async def change_password(self, current_password: str, new_password: str) -> Done:
        return await self._c.call(change_password_call(current_password, new_password))

    @route("GET", "/users/{username}")
    async def get(self, username: str) -> User:
        return await self._c.call(get_call(username))

    @route("POST", "/users/{username}/update")
    async def update(
        self, username: str, *, email: str | None = None, role: str | None = None
    ) -> User:
        return await self._c.call(update_call(username, email, role))

    @route("POST", "/users/{username}/password")
    async def set_password(self, username: str, new_password: str) -> Done:
        return await self._c.call(action(username, "password", {"new_password": new_password}))

    @route("POST", "/users/{username}/disable")
    async def disable(self, username: str) -> Done:
        return await self._c.call(action(username, "disable"))

    @route("POST", "/users/{username}/enable")
    async def enable(self, username: str) -> Done:
        return await self._c.call(action(username, "enable"))

    @route("POST", "/users/{username}/delete")
    async def delete(self, username: str) -> Done:
        return await self._c.call(action(username, "delete"))

    @route("POST", "/users/{username}/unlock")
    async def unlock(self, username: str) -> Any:
        return await self._c.call(unlock_call(username))


copy_docs(AsyncUsers, Users)
