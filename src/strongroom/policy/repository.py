"""SQL for roles."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from strongroom.db import now
from strongroom.policy.models import roles
from strongroom.policy.rules import Role, builtin_roles, parse_rules


def _role(row: Any) -> Role:
    return Role(row.name, row.description, parse_rules(json.loads(row.rules)), row.builtin)


async def load_roles(conn: AsyncConnection) -> dict[str, Role]:
    """Every role; built-in roles always come from the code, whatever the table says."""
    found = {row.name: _role(row) for row in await conn.execute(select(roles))}
    found.update(builtin_roles())
    return found


async def get_role(conn: AsyncConnection, name: str) -> Role | None:
    row = (await conn.execute(select(roles).where(roles.c.name == name))).first()
    return _role(row) if row else None


async def ensure_builtin_roles(conn: AsyncConnection) -> None:
    existing = set((await conn.execute(select(roles.c.name))).scalars())
    stamp = now()
    for role in builtin_roles().values():
        if role.name not in existing:
            await conn.execute(
                insert(roles).values(**_columns(role), created_at=stamp, updated_at=stamp)
            )


async def insert_role(conn: AsyncConnection, role: Role) -> None:
    stamp = now()
    await conn.execute(insert(roles).values(**_columns(role), created_at=stamp, updated_at=stamp))


async def update_role(conn: AsyncConnection, role: Role) -> bool:
    result = await conn.execute(
        update(roles).where(roles.c.name == role.name).values(**_columns(role), updated_at=now())
    )
    return result.rowcount > 0


async def delete_role(conn: AsyncConnection, name: str) -> bool:
    result = await conn.execute(delete(roles).where(roles.c.name == name))
    return result.rowcount > 0


def _columns(role: Role) -> dict[str, Any]:
    return {
        "name": role.name,
        "description": role.description,
        "rules": json.dumps([rule.as_dict() for rule in role.rules]),
        "builtin": role.builtin,
    }


@dataclass(frozen=True, slots=True)
class RoleRecord:
    """A role as stored, with its timestamps (built-in roles: their definition from the code)."""

    role: Role
    created_at: float
    updated_at: float


def _record(row: Any) -> RoleRecord:
    role = builtin_roles().get(row.name) if row.builtin else None
    return RoleRecord(role or _role(row), row.created_at, row.updated_at)


async def get_role_record(conn: AsyncConnection, name: str) -> RoleRecord | None:
    row = (await conn.execute(select(roles).where(roles.c.name == name))).first()
    return _record(row) if row else None


async def list_role_records(
    conn: AsyncConnection, *, after: str | None, limit: int
) -> list[RoleRecord]:
    query = select(roles).order_by(roles.c.name).limit(limit)
    if after is not None:
        query = query.where(roles.c.name > after)
    return [_record(row) for row in await conn.execute(query)]
