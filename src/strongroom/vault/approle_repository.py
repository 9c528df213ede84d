"""SQL of AppRole roles and secret ids."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import delete, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from strongroom.vault.models import approle_roles, approle_secret_ids


@dataclass(frozen=True, slots=True)
class AppRole:
    name: str
    role_id: str
    user_id: str
    secret_id_num_uses: int
    secret_id_ttl: int
    token_ttl: int
    token_num_uses: int
    secret_id_bound_cidrs: str
    token_bound_cidrs: str
    created_at: float


@dataclass(frozen=True, slots=True)
class SecretIdRow:
    accessor: str
    role_name: str
    uses_left: int | None
    expires_at: float | None
    cidrs: str

    def __repr__(self) -> str:
        return f"SecretIdRow(accessor={self.accessor!r}, role_name={self.role_name!r})"


_ROLE = [approle_roles.c[name] for name in AppRole.__dataclass_fields__]
_SECRET = [approle_secret_ids.c[name] for name in SecretIdRow.__dataclass_fields__]


async def role_by_name(conn: AsyncConnection, name: str) -> AppRole | None:
    row = (await conn.execute(select(*_ROLE).where(approle_roles.c.name == name))).first()
    return AppRole(*row) if row else None


async def role_by_role_id(conn: AsyncConnection, role_id: str) -> AppRole | None:
    row = (await conn.execute(select(*_ROLE).where(approle_roles.c.role_id == role_id))).first()
    return AppRole(*row) if row else None


async def role_names(conn: AsyncConnection) -> list[str]:
    rows = await conn.execute(select(approle_roles.c.name).order_by(approle_roles.c.name))
    return [str(row[0]) for row in rows]


async def insert_role(conn: AsyncConnection, role: AppRole) -> None:
    await conn.execute(insert(approle_roles).values(**_values(role)))


def _values(role: AppRole) -> dict[str, object]:
    return {name: getattr(role, name) for name in AppRole.__dataclass_fields__}


async def update_role(conn: AsyncConnection, role: AppRole) -> None:
    values = _values(role)
    del values["name"], values["role_id"], values["user_id"], values["created_at"]
    await conn.execute(
        update(approle_roles).where(approle_roles.c.name == role.name).values(**values)
    )


async def delete_role(conn: AsyncConnection, name: str) -> bool:
    result = await conn.execute(delete(approle_roles).where(approle_roles.c.name == name))
    return result.rowcount > 0


async def insert_secret_id(
    conn: AsyncConnection,
    *,
    secret_hmac: str,
    accessor: str,
    role_name: str,
    uses_left: int | None,
    expires_at: float | None,
    cidrs: str,
    created_at: float,
) -> None:
    await conn.execute(
        insert(approle_secret_ids).values(
            secret_hmac=secret_hmac,
            accessor=accessor,
            role_name=role_name,
            uses_left=uses_left,
            expires_at=expires_at,
            cidrs=cidrs,
            created_at=created_at,
        )
    )


async def secret_id(conn: AsyncConnection, secret_hmac: str, at: float) -> SecretIdRow | None:
    query = select(*_SECRET).where(
        approle_secret_ids.c.secret_hmac == secret_hmac,
        or_(approle_secret_ids.c.expires_at.is_(None), approle_secret_ids.c.expires_at > at),
    )
    row = (await conn.execute(query)).first()
    return SecretIdRow(*row) if row else None


async def consume_use(conn: AsyncConnection, secret_hmac: str, at: float) -> bool:
    """Take one use of a limited secret id, atomically; the last one deletes it."""
    taken = await conn.execute(
        update(approle_secret_ids)
        .where(
            approle_secret_ids.c.secret_hmac == secret_hmac,
            approle_secret_ids.c.uses_left > 0,
            or_(approle_secret_ids.c.expires_at.is_(None), approle_secret_ids.c.expires_at > at),
        )
        .values(uses_left=approle_secret_ids.c.uses_left - 1)
    )
    if taken.rowcount != 1:
        return False
    await conn.execute(
        delete(approle_secret_ids).where(
            approle_secret_ids.c.secret_hmac == secret_hmac, approle_secret_ids.c.uses_left <= 0
        )
    )
    return True


async def sweep_secret_ids(conn: AsyncConnection, at: float) -> int:
    result = await conn.execute(
        delete(approle_secret_ids).where(approle_secret_ids.c.expires_at <= at)
    )
    return int(result.rowcount or 0)
