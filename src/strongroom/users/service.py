"""Users: creation, deletion, roles, passwords. Ending sessions is part of every change that
takes rights away: deleting, disabling, a new role, a new password."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from strongroom.auth.lockout import unlock_account
from strongroom.auth.principal import Principal
from strongroom.db import now
from strongroom.db.base import new_id
from strongroom.errors import Conflict, Forbidden, InvalidInput, NotFound, Unauthorized
from strongroom.http.context import RequestContext
from strongroom.policy.rules import ADMIN, administrative_reason
from strongroom.secrets.personal import PersonalSpace
from strongroom.services import Services
from strongroom.users import repository as repo
from strongroom.users.repository import UserRow
from strongroom.users.schemas import UserCreate, UserUpdate
from strongroom.users.validation import (
    check_email,
    check_password,
    check_username,
    normalise_username,
)


class UserService:
    def __init__(self, services: Services) -> None:
        self.services = services

    @asynccontextmanager
    async def _write(self) -> AsyncIterator[AsyncConnection]:
        try:
            async with self.services.db.begin() as conn:
                yield conn
        except IntegrityError:
            raise Conflict("that username or email is already taken") from None
        except DBAPIError as exc:
            if "deadlock" in str(exc.orig).lower():
                raise Conflict("a concurrent change to users conflicted; retry") from None
            raise

    def _check_role(self, role: str) -> str:
        if role not in self.services.runtime.roles:
            known = ", ".join(sorted(self.services.runtime.roles))
            raise InvalidInput(f"unknown role {role!r}; roles: {known}", loc=("body", "role"))
        return role

    async def create(self, data: UserCreate, actor: Principal | None) -> UserRow:
        settings = await self.services.runtime.refresh()
        registering = actor is None or actor.role != ADMIN
        if registering and not settings.auth.registration_open:
            if actor is None:
                raise Unauthorized("registration is closed; an admin must create accounts")
            raise Forbidden("only admins create accounts (registration is closed)")
        username = check_username(data.username)
        role = settings.auth.default_role if registering or data.role is None else data.role
        self._check_role(role)
        if registering and administrative_reason(self.services.runtime.role(role)) is not None:
            # Settings stored before this rule existed (or changed concurrently): refuse.
            raise Forbidden(
                "registration is unavailable: the default role has administrative rights"
            )
        password = data.password.get_secret_value()
        check_password(password, username, settings.security.password_min_length)
        email = check_email(data.email)
        stamp = now()
        user = UserRow(
            new_id(), username, email, role, await self.services.passwords.hash(password),
            None, None, False, stamp, stamp,
        )  # fmt: skip
        async with self._write() as conn:
            if await repo.get_by_username(conn, username) is not None:
                raise Conflict(f"user {username!r} already exists")
            if email is not None and await repo.email_taken(conn, email):
                raise Conflict("that email is already in use")
            await repo.insert_user(conn, user)
        return user

    async def get(self, username: str) -> UserRow:
        async with self.services.db.connect() as conn:
            user = await repo.get_by_username(conn, normalise_username(username))
        if user is None:
            raise NotFound(f"no user {normalise_username(username)!r}")
        return user

    async def me(self, principal: Principal) -> UserRow:
        async with self.services.db.connect() as conn:
            user = await repo.get_by_id(conn, principal.user_id)
        if user is None:
            raise NotFound("your user no longer exists")
        return user

    async def list(self, after: str | None, limit: int) -> tuple[list[UserRow], str | None]:
        async with self.services.db.connect() as conn:
            rows = await repo.list_users(conn, after=after, limit=limit + 1)
        more = len(rows) > limit
        page = rows[:limit]
        return page, (page[-1].username if more and page else None)

    async def _end_sessions(self, user_id: str, keep: str | None = None) -> int:
        return await self.services.store.revoke_user_sessions(user_id, keep_session_id=keep)

    @staticmethod
    async def _require_admin_left(conn: AsyncConnection) -> None:
        if not await repo.lock_enabled_admins(conn):
            raise Conflict("this would leave no enabled admin; the last admin stays")

    async def delete(self, username: str) -> int:
        """Delete the user, end its sessions, and destroy its personal space in the same
        transaction (secrets/personal.py): a later user of that name starts empty."""
        user = await self.get(username)
        space = PersonalSpace(self.services, user.username)
        async with space.ending(), self._write() as conn:
            await repo.delete_user(conn, user.id)
            if user.role == ADMIN:
                await self._require_admin_left(conn)
            await space.destroy(conn)
        return await self._end_sessions(user.id)

    async def set_disabled(self, username: str, disabled: bool) -> int:
        user = await self.get(username)
        async with self._write() as conn:
            await repo.update_user(conn, user.id, disabled=disabled, updated_at=now())
            if disabled and user.role == ADMIN:
                await self._require_admin_left(conn)
        if not disabled:
            await unlock_account(self.services, user.username)  # a fresh start
        return await self._end_sessions(user.id) if disabled else 0

    async def unlock(self, username: str) -> tuple[UserRow, bool]:
        """Lift the account's login lock-out (an admin's decision); whether it was locked."""
        user = await self.get(username)
        return user, await unlock_account(self.services, user.username)

    async def update(self, username: str, data: UserUpdate) -> tuple[UserRow, int]:
        user = await self.get(username)
        values: dict[str, object] = {}
        if data.email is not None:
            email = check_email(data.email)
            values["email"] = email
        role_changed = data.role is not None and data.role != user.role
        if data.role is not None:
            values["role"] = self._check_role(data.role)
        if not values:
            return user, 0
        async with self._write() as conn:
            if values.get("email") and await repo.email_taken(
                conn, str(values["email"]), except_id=user.id
            ):
                raise Conflict("that email is already in use")
            await repo.update_user(conn, user.id, updated_at=now(), **values)
            if role_changed and user.role == ADMIN:
                await self._require_admin_left(conn)
            updated = await repo.get_by_id(conn, user.id)
        assert updated is not None
        # A new role takes effect at the next login: sessions carry the role they were opened with.
        return updated, await self._end_sessions(user.id) if role_changed else 0

    async def change_password(
        self, principal: Principal, current: str, new: str, ctx: RequestContext
    ) -> int:
        user = await self.me(principal)
        from strongroom.auth.login import verify_password_attempt

        if not await verify_password_attempt(self.services, user, current, ctx):
            raise InvalidInput("current password is wrong", loc=("body", "current_password"))
        return await self._set_password(user, new, keep=principal.session_id)

    async def reset_password(self, username: str, new: str) -> int:
        user = await self.get(username)
        ended = await self._set_password(user, new, keep=None)
        await unlock_account(self.services, user.username)  # the new password may be tried
        return ended

    async def _set_password(self, user: UserRow, new: str, *, keep: str | None) -> int:
        settings = await self.services.runtime.refresh()
        check_password(
            new, user.username, settings.security.password_min_length, field="new_password"
        )
        hashed = await self.services.passwords.hash(new)
        async with self._write() as conn:
            await repo.update_user(conn, user.id, password_hash=hashed, updated_at=now())
        return await self._end_sessions(user.id, keep=keep)
