"""Managing transit keys: create, read, list, rotate, configure, delete, export.

Every function first checks that the caller may use transit (and this key of it) and has
enabled it (modules/access.py). Keys belong to their creator: another user's key of the same
name is another key.
"""

from __future__ import annotations

import base64
import re

from sqlalchemy.exc import IntegrityError

from strongroom.auth.principal import Principal
from strongroom.crypto.transit import TransitKeyType, TransitSigner, new_key_material
from strongroom.db import now
from strongroom.db.base import new_id
from strongroom.errors import Conflict, Forbidden, InvalidInput
from strongroom.modules.access import require_use
from strongroom.modules.catalog import TRANSIT
from strongroom.modules.errors import KeyExists, KeyNotFound, UnsupportedOperation
from strongroom.modules.stored import transit_binding
from strongroom.modules.transit import repository as repo
from strongroom.modules.transit.cache import changing
from strongroom.modules.transit.keys import unwrap_material
from strongroom.modules.transit.repository import KeyRow
from strongroom.modules.transit.schemas import KEY_NAME_PATTERN, ExportType, KeyConfig, KeyCreate
from strongroom.services import Services

_KEY_NAME = re.compile(KEY_NAME_PATTERN)


def known_name(name: str) -> str:
    """A name no key can have is simply not found (and never reaches the database)."""
    if not _KEY_NAME.fullmatch(name):
        raise KeyNotFound("no transit key of that name")
    return name


async def _owned(services: Services, principal: Principal, name: str) -> KeyRow:
    await require_use(services, principal, TRANSIT, known_name(name))
    async with services.db.connect() as conn:
        key = await repo.get_key(conn, principal.user_id, name)
    if key is None:
        raise KeyNotFound("no transit key of that name")
    return key


async def versions_of(services: Services, key: KeyRow) -> list[tuple[int, float]]:
    async with services.db.connect() as conn:
        return await repo.version_times(conn, key.id)


async def create_key(services: Services, principal: Principal, body: KeyCreate) -> KeyRow:
    await require_use(services, principal, TRANSIT, body.name)
    stamp = now()
    key = KeyRow(new_id(), body.name, body.type, body.exportable, False, 1, 1, stamp, stamp)
    blob = services.barrier.encrypt(new_key_material(body.type), transit_binding(key.id, 1))
    try:
        async with changing(services, [body.name]), services.db.begin() as conn:
            if await repo.get_key(conn, principal.user_id, body.name) is not None:
                raise KeyExists(f"you already have a transit key named {body.name!r}")
            await repo.insert_key(conn, key, principal.user_id, blob)
    except IntegrityError:
        raise KeyExists(f"you already have a transit key named {body.name!r}") from None
    return key


async def read_key(services: Services, principal: Principal, name: str) -> KeyRow:
    return await _owned(services, principal, name)


async def list_keys(
    services: Services, principal: Principal, *, limit: int, cursor: str | None
) -> tuple[list[KeyRow], str | None]:
    await require_use(services, principal, TRANSIT)
    async with services.db.connect() as conn:
        rows = await repo.list_keys(conn, principal.user_id, after=cursor, limit=limit + 1)
    page = rows[:limit]
    return page, (page[-1].name if len(rows) > limit else None)


async def rotate(services: Services, principal: Principal, name: str) -> KeyRow:
    """A new version: encryptions and signatures use it; older ones still decrypt and verify
    (down to min_decryption_version)."""
    key = await _owned(services, principal, name)
    stamp = now()
    async with changing(services, [key.name]), services.db.begin() as conn:
        version = await repo.next_version(conn, key.id, stamp)
        if version is None:
            raise KeyNotFound("no transit key of that name")
        material = new_key_material(key.type)
        blob = services.barrier.encrypt(material, transit_binding(key.id, version))
        await repo.add_version(conn, key.id, version, blob, stamp)
    return await _owned(services, principal, name)


async def configure(services: Services, principal: Principal, name: str, body: KeyConfig) -> KeyRow:
    key = await _owned(services, principal, name)
    values: dict[str, object] = {}
    if body.min_decryption_version is not None:
        if body.min_decryption_version > key.latest_version:
            raise InvalidInput(
                f"min_decryption_version must be at most the latest version ({key.latest_version})",
                loc=("body", "min_decryption_version"),
            )
        values["min_decryption_version"] = body.min_decryption_version
    if body.exportable is not None:
        if key.exportable and not body.exportable:
            raise InvalidInput(
                "an exportable key stays exportable (it may have been exported)",
                loc=("body", "exportable"),
            )
        values["exportable"] = body.exportable
    if body.deletion_allowed is not None:
        values["deletion_allowed"] = body.deletion_allowed
    if values:
        async with changing(services, [key.name]), services.db.begin() as conn:
            await repo.update_key(conn, key.id, updated_at=now(), **values)
    return await _owned(services, principal, name)


async def delete_key(services: Services, principal: Principal, name: str) -> None:
    """Delete a key and every version (its ciphertexts can never be decrypted again): only
    once `deletion_allowed` was set (409 otherwise)."""
    key = await _owned(services, principal, name)
    if not key.deletion_allowed:
        raise Conflict(
            "deletion is not allowed for this key; set deletion_allowed in its config first",
            code="deletion_not_allowed",
        )
    async with changing(services, [key.name]), services.db.begin() as conn:
        await repo.delete_key(conn, key.id)


async def export(
    services: Services, principal: Principal, export_type: ExportType, name: str
) -> tuple[KeyRow, dict[str, str]]:
    """Every version (from min_decryption_version on) of the key in portable form. Private
    material only for keys created or configured exportable (403 otherwise); public keys of
    signing keys always."""
    key = await _owned(services, principal, name)
    wanted_signing = export_type != "encryption-key"
    if wanted_signing != key.type.signs:
        raise UnsupportedOperation(f"a {key.type} key has no {export_type}")
    if export_type != "public-key" and not key.exportable:
        raise Forbidden("this key is not exportable", code="key_not_exportable")
    async with services.db.connect() as conn:
        blobs = await repo.materials(conn, key.id, key.min_decryption_version)
    exported: dict[str, str] = {}
    for version, blob in blobs:
        material = await unwrap_material(services, key, version, blob)
        exported[str(version)] = _portable(key.type, export_type, material)
    return key, exported


def _portable(kind: TransitKeyType, export_type: ExportType, material: bytes) -> str:
    if export_type == "encryption-key":
        return base64.b64encode(material).decode()
    signer = TransitSigner(kind, material)
    return signer.public_key_pem() if export_type == "public-key" else signer.private_key_pem()
