"""KV mounts: `secret/` (KV v2, always there, over the whole secret namespace) and the mounts
created with `sys/mounts` (KV v1 or v2, over the strongroom paths under `<mount>/`)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import delete, insert, select
from sqlalchemy.exc import IntegrityError

from strongroom.db import now
from strongroom.errors import BadRequest
from strongroom.services import Services
from strongroom.vault.models import vault_mounts

DEFAULT_MOUNT = "secret"
RESERVED = frozenset({"sys", "auth", "cubbyhole", "identity", DEFAULT_MOUNT})
MOUNT_CHARS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789_-")


@dataclass(frozen=True, slots=True)
class Mount:
    path: str
    version: int
    description: str = ""

    @property
    def prefix(self) -> str:
        """What the mount adds in front of a KV path to make the strongroom path."""
        return "" if self.path == DEFAULT_MOUNT else self.path + "/"


SECRET_MOUNT = Mount(DEFAULT_MOUNT, 2, "key/value secret storage")


async def find_mount(services: Services, name: str) -> Mount | None:
    if name == DEFAULT_MOUNT:
        return SECRET_MOUNT
    if not set(name) <= MOUNT_CHARS:
        return None
    async with services.db.read() as conn:
        row = (
            await conn.execute(
                select(vault_mounts.c.version, vault_mounts.c.description).where(
                    vault_mounts.c.path == name
                )
            )
        ).first()
    return Mount(name, int(row[0]), str(row[1])) if row else None


async def all_mounts(services: Services) -> list[Mount]:
    async with services.db.read() as conn:
        rows = await conn.execute(
            select(vault_mounts.c.path, vault_mounts.c.version, vault_mounts.c.description)
        )
        found = [Mount(str(r[0]), int(r[1]), str(r[2])) for r in rows]
    return [SECRET_MOUNT, *sorted(found, key=lambda m: m.path)]


def check_mount_name(raw: str) -> str:
    name = raw.strip("/").lower()
    if not 1 <= len(name) <= 64 or not set(name) <= MOUNT_CHARS:
        raise BadRequest("a mount path is one segment of a-z, 0-9, '_', '-'")
    if name in RESERVED:
        raise BadRequest(f"path is already in use at {name}/")
    return name


async def create_mount(services: Services, name: str, version: int, description: str) -> None:
    try:
        async with services.db.begin() as conn:
            await conn.execute(
                insert(vault_mounts).values(
                    path=name, version=version, description=description[:256], created_at=now()
                )
            )
    except IntegrityError:
        raise BadRequest(f"path is already in use at {name}/") from None


async def delete_mount(services: Services, name: str) -> None:
    """Unmount: the mount goes; its secrets stay under `<name>/` in the native API."""
    async with services.db.begin() as conn:
        await conn.execute(delete(vault_mounts).where(vault_mounts.c.path == name))
