"""The node's view of runtime configuration: settings and roles, tagged with the config epoch.

Reads use the cached snapshot. Whatever must be exact checks the store's epoch: the session
check does it in the same atomic step as token validation (see `SessionStore.authenticate`),
public routes call `refresh()`. When the epoch differs the node reloads settings, roles and the
keyring from the database before it answers, so no node serves a request on stale policy.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Mapping
from typing import Any

from strongroom.barrier.service import Barrier
from strongroom.crypto import DecryptionError
from strongroom.db import Database
from strongroom.policy.repository import load_roles
from strongroom.policy.rules import Role, builtin_roles
from strongroom.sessions.store import SessionStore
from strongroom.system.registry import (
    CUSTOM_PREFIX,
    MODULES_PREFIX,
    SETTINGS,
    RuntimeSettings,
    SecretText,
)
from strongroom.system.repository import StoredSetting, load_settings

log = logging.getLogger(__name__)


def setting_binding(key: str) -> bytes:
    """Associated data binding an encrypted setting to its key."""
    return f"setting:{key}".encode()


class Runtime:
    def __init__(self, db: Database, store: SessionStore, barrier: Barrier) -> None:
        self._db = db
        self._store = store
        self._barrier = barrier
        self.settings = RuntimeSettings()
        self.roles: dict[str, Role] = builtin_roles()
        self.stored: dict[str, StoredSetting] = {}
        self._lock = asyncio.Lock()

    @property
    def epoch(self) -> str:
        return self.settings.epoch

    def role(self, name: str) -> Role:
        """The role of that name; an unknown (deleted) role grants nothing."""
        return self.roles.get(name) or Role(name, "", ())

    async def refresh(self) -> RuntimeSettings:
        """Make the snapshot current with the store's epoch (one store round trip)."""
        epoch = await self._store.get_epoch()
        if epoch != self.settings.epoch:
            await self.reload(epoch)
        return self.settings

    async def reload(self, epoch: str) -> None:
        async with self._lock:
            if epoch == self.settings.epoch and self.stored:
                return
            async with self._db.connect() as conn:
                stored = await load_settings(conn)
                roles = await load_roles(conn)
            if not self._barrier.sealed:
                await self._barrier.reload()
            self.stored = {row.key: row for row in stored}
            self.settings = await self._build(stored, epoch)
            self.roles = roles

    async def changed(self) -> None:
        """Announce a change to every node (new epoch) and reload here at once."""
        await self.reload(await self._store.bump_epoch())

    async def _build(self, stored: list[StoredSetting], epoch: str) -> RuntimeSettings:
        values: dict[str, Any] = {}
        custom: dict[str, Any] = {}
        modules: dict[str, Any] = {}
        role_names = frozenset(self.roles) | frozenset(builtin_roles())
        for row in stored:
            if row.key.startswith(CUSTOM_PREFIX):
                custom[row.key] = json.loads(row.value) if row.value is not None else None
                continue
            if row.key.startswith(MODULES_PREFIX):
                modules[row.key[len(MODULES_PREFIX) :]] = json.loads(row.value or "null")
                continue
            definition = SETTINGS.get(row.key)
            if definition is None:
                log.warning("ignoring stored setting %s: no longer known", row.key)
                continue
            if definition.secret:
                values[row.key] = await self._decrypt_setting(row)
                continue
            try:
                values[row.key] = definition.parse(json.loads(row.value or "null"), role_names)
            except ValueError as exc:
                log.warning("stored setting %s is invalid (%s); using its default", row.key, exc)
        snapshot = RuntimeSettings.build(values, custom, epoch, modules)
        if snapshot.problems():
            log.warning("stored settings disagree (%s)", "; ".join(snapshot.problems()))
        return snapshot

    async def _decrypt_setting(self, row: StoredSetting) -> SecretText:
        if row.secret_value is None or self._barrier.sealed:
            return SecretText("")
        try:
            plaintext = await self._barrier.decrypt(row.secret_value, setting_binding(row.key))
        except DecryptionError:
            log.error("stored secret setting %s does not decrypt; treating it as empty", row.key)
            return SecretText("")
        return SecretText(plaintext.decode())


def public_values(snapshot: RuntimeSettings) -> Mapping[str, Any]:
    return {key: definition.public(snapshot.value(key)) for key, definition in SETTINGS.items()}
