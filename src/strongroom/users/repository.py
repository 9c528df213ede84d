"""SQL for users."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import bindparam, delete, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from strongroom.db import Database
from strongroom.db.hot import PerDatabase
from strongroom.users.models import users


@dataclass(frozen=True, slots=True)
class UserRow:
    id: str
    username: str
    email: str | None
    role: str
    password_hash: str | None
    github_id: int | None
    github_login: str | None
    disabled: bool
    created_at: float
    updated_at: float

    def __repr__(self) -> str:
        return f"UserRow(id={self.id!r}, username={self.username!r}, role={self.role!r})"


_COLUMNS = [
    users.c.id,
    users.c.username,
    users.c.email,
    users.c.role,
    users.c.password_hash,
    users.c.github_id,
    users.c.github_login,
    users.c.disabled,
    users.c.created_at,
    users.c.updated_at,
]


def _row(row: Any) -> UserRow:
    return UserRow(*row)


async def get_by_username(conn: AsyncConnection, username: str) -> UserRow | None:
    row = (await conn.execute(select(*_COLUMNS).where(users.c.username == username))).first()
    return _row(row) if row else None


async def get_by_id(conn: AsyncConnection, user_id: str) -> UserRow | None:
    row = (await conn.execute(select(*_COLUMNS).where(users.c.id == user_id))).first()
    return _row(row) if row else None


class HotUsers:
    """The user lookups of every login, compiled once and run as one driver call each
    (db/hot.py): through SQLAlchemy's async layer each cost the event loop about half a
    millisecond, and a login makes two."""

    def __init__(self, db: Database) -> None:
        self._by_username = db.hot(select(*_COLUMNS).where(users.c.username == bindparam("name")))
        self._by_id = db.hot(select(*_COLUMNS).where(users.c.id == bindparam("uid")))

    async def by_username(self, username: str) -> UserRow | None:
        row = await self._by_username.first(name=username)
        return _row(row) if row else None

    async def by_id(self, user_id: str) -> UserRow | None:
        row = await self._by_id.first(uid=user_id)
        return _row(row) if row else None


hot_users = PerDatabase(HotUsers)


async def get_by_github_id(conn: AsyncConnection, github_id: int) -> UserRow | None:
    row = (await conn.execute(select(*_COLUMNS).where(users.c.github_id == github_id))).first()
    return _row(row) if row else None


async def email_taken(conn: AsyncConnection, email: str, *, except_id: str | None = None) -> bool:
    query = select(users.c.id).where(users.c.email == email)
    if except_id is not None:
        query = query.where(users.c.id != except_id)
    return (await conn.execute(query)).first() is not None


async def username_by_email(conn: AsyncConnection, email: str) -> str | None:
    found = (await conn.execute(select(users.c.username).where(users.c.email == email))).first()
    return str(found[0]) if found else None


async def insert_user(conn: AsyncConnection, user: UserRow) -> None:
    await conn.execute(
        insert(users).values(
            id=user.id,
            username=user.username,
            email=user.email,
            role=user.role,
            password_hash=user.password_hash,
            github_id=user.github_id,
            github_login=user.github_login,
            disabled=user.disabled,
            created_at=user.created_at,
            updated_at=user.updated_at,
        )
    )


async def update_user(conn: AsyncConnection, user_id: str, **values: Any) -> bool:
    result = await conn.execute(update(users).where(users.c.id == user_id).values(**values))
    return result.rowcount > 0


async def delete_user(conn: AsyncConnection, user_id: str) -> bool:
    result = await conn.execute(delete(users).where(users.c.id == user_id))
    return result.rowcount > 0


async def count_users(
    conn: AsyncConnection, *, role: str | None = None, enabled_only: bool = False
) -> int:
    query = select(func.count()).select_from(users)
    if role is not None:
        query = query.where(users.c.role == role)
    if enabled_only:
        query = query.where(users.c.disabled.is_(False))
    return int((await conn.execute(query)).scalar_one())


async def list_users(conn: AsyncConnection, *, after: str | None, limit: int) -> list[UserRow]:
    query = select(*_COLUMNS).order_by(users.c.username).limit(limit)
    if after is not None:
        query = query.where(users.c.username > after)
    return [_row(row) for row in await conn.execute(query)]


async def users_with_role(conn: AsyncConnection, role: str) -> list[UserRow]:
    return [_row(row) for row in await conn.execute(select(*_COLUMNS).where(users.c.role == role))]


async def lock_enabled_admins(conn: AsyncConnection) -> list[str]:
    """Ids of enabled admins, locked until the transaction ends (a plain read on SQLite, whose
    writers are serialised anyway)."""
    query = (
        select(users.c.id)
        .where(users.c.role == "admin", users.c.disabled.is_(False))
        .with_for_update()
    )
    return list((await conn.execute(query)).scalars())
