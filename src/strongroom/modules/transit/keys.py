"""A transit key version ready for use: its row from the database, its material through the
barrier, unwrapped once per node.

Every use reads the key's row (one statement, with the owner's enablement of the module), so
a rotation, a new min_decryption_version, a deletion or a disabled module on any node is in
force at the next request. What a node keeps is only the unwrapped form of a material blob,
keyed by (key id, version) and valid for that exact blob: a rewrapped blob is unwrapped again.
The cache belongs to one keyring object: a reload (rotation of the barrier's data keys) or a
seal drops it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from strongroom.auth.principal import Principal
from strongroom.crypto import DecryptionError, Keyring
from strongroom.crypto.transit import TransitCipher, TransitSigner
from strongroom.modules.access import not_enabled
from strongroom.modules.catalog import TRANSIT
from strongroom.modules.errors import InvalidCiphertext, KeyNotFound, ModuleIntegrityError
from strongroom.modules.repository import hot_enablements
from strongroom.modules.stored import transit_binding
from strongroom.modules.transit import repository as repo
from strongroom.modules.transit.cache import key_cache
from strongroom.modules.transit.repository import KeyRow, VersionRow
from strongroom.services import Services

log = logging.getLogger(__name__)
CACHE_SIZE = 4096
Primitive = TransitCipher | TransitSigner


@dataclass(slots=True)  # built per use: a frozen __init__ costs 8x; never mutated
class UsableVersion:
    key: KeyRow
    version: int
    primitive: Primitive

    def __repr__(self) -> str:
        return f"UsableVersion({self.key.name!r}, v{self.version})"


class MaterialCache:
    """Unwrapped key versions of this node (see the module docstring)."""

    __slots__ = ("_entries", "_keyring")

    def __init__(self) -> None:
        self._entries: dict[tuple[str, int], tuple[bytes, Primitive]] = {}
        self._keyring: Keyring | None = None

    def __repr__(self) -> str:
        return f"MaterialCache({len(self._entries)} entries)"

    async def primitive(self, services: Services, row: VersionRow) -> Primitive:
        keyring = services.barrier.keyring  # Sealed (503) while sealed
        if keyring is not self._keyring:
            self._entries.clear()
            self._keyring = keyring
        slot = (row.key.id, row.version)
        found = self._entries.get(slot)
        if found is not None and found[0] == row.material:
            return found[1]
        made = await _unwrap(services, row)
        if len(self._entries) >= CACHE_SIZE:
            self._entries.clear()
        self._entries[slot] = (row.material, made)
        return made


async def unwrap_material(services: Services, key: KeyRow, version: int, blob: bytes) -> bytes:
    """The material of a key version, out of the barrier (503 integrity_error if damaged)."""
    try:
        return await services.barrier.decrypt(blob, transit_binding(key.id, version))
    except DecryptionError:
        log.error(
            "transit key %s version %d failed decryption: stored data altered or moved",
            key.id,
            version,
        )
        raise ModuleIntegrityError() from None


async def _unwrap(services: Services, row: VersionRow) -> Primitive:
    material = await unwrap_material(services, row.key, row.version, row.material)
    if row.key.type.encrypts:
        return TransitCipher(row.key.type, material)
    return TransitSigner(row.key.type, material)


def material_cache(services: Services) -> MaterialCache:
    cache = services.extras.get("transit.materials")
    if cache is None:
        cache = services.extras["transit.materials"] = MaterialCache()
    assert isinstance(cache, MaterialCache)
    return cache


async def use_version(
    services: Services,
    principal: Principal,
    name: str,
    version: int | None = None,
    watched: str | None = None,
) -> UsableVersion:
    """A version of the caller's key `name` (None: the latest), for use. 403 when the caller
    has not enabled transit, 404 for an unknown key, `InvalidCiphertext` for an unknown version
    (it can only come from a ciphertext or signature). `watched`: the value of the key name's
    watch that the session check read (transit/cache.py), if it did."""
    cache = key_cache(services)
    row = cache.get(principal.user_id, name, watched) if version is None else None
    if row is None:
        row = await repo.hot_transit(services.db).for_use(principal.user_id, name, version)
        if row is not None and version is None:
            cache.put(principal.user_id, name, watched, row)
    if row is None or not row.enabled:
        raise await _why_missing(services, principal, name, row)
    primitive = await material_cache(services).primitive(services, row)
    return UsableVersion(row.key, row.version, primitive)


async def _why_missing(
    services: Services, principal: Principal, name: str, row: VersionRow | None
) -> Exception:
    """Why no usable row came back (the slow path of `use_version`)."""
    if row is not None or not await hot_enablements(services.db).is_enabled(
        principal.user_id, TRANSIT
    ):
        return not_enabled(TRANSIT)
    async with services.db.connect() as conn:
        key = await repo.get_key(conn, principal.user_id, name)
    return KeyNotFound("no transit key of that name") if key is None else InvalidCiphertext()
