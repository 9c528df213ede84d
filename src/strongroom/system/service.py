"""Changing runtime settings: validated as a whole, applied all or nothing, recorded, and in
force on every node for the next request (the config epoch changes with every write)."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from strongroom.db import now
from strongroom.errors import InvalidInput, NotFound
from strongroom.policy.rules import open_registration_problem
from strongroom.services import Services
from strongroom.system import repository as repo
from strongroom.system.registry import (
    CUSTOM_PREFIX,
    GROUPS,
    MAX_CUSTOM_VALUE_CHARS,
    MODULES_PREFIX,
    SETTINGS,
    RuntimeSettings,
    SecretText,
    SettingDef,
)
from strongroom.system.repository import HistoryEntry, StoredSetting
from strongroom.system.runtime import setting_binding

CUSTOM_KEY = re.compile(r"custom\.[a-z0-9][a-z0-9_.-]{0,99}")


@dataclass(frozen=True, slots=True)
class SettingView:
    key: str
    value: Any
    default: Any
    type: str
    group: str
    description: str
    minimum: int | None
    maximum: int | None
    updated_at: float | None
    updated_by: str | None


class SettingsService:
    def __init__(self, services: Services) -> None:
        self.services = services
        # What the last write changed (secret values masked), for the audit record.
        self.applied: list[dict[str, Any]] = []

    # Reading --------------------------------------------------------------------------------

    async def all(self) -> list[SettingView]:
        snapshot = await self.services.runtime.refresh()
        views = [self._view(definition, snapshot) for definition in SETTINGS.values()]
        views += [self._custom_view(key, value) for key, value in sorted(snapshot.custom.items())]
        return views

    async def one(self, key: str) -> SettingView:
        snapshot = await self.services.runtime.refresh()
        if key in SETTINGS:
            return self._view(SETTINGS[key], snapshot)
        if key in snapshot.custom:
            return self._custom_view(key, snapshot.custom[key])
        raise NotFound(f"no setting {key!r}")

    def _stored(self, key: str) -> StoredSetting | None:
        return self.services.runtime.stored.get(key)

    def _view(self, definition: SettingDef, snapshot: RuntimeSettings) -> SettingView:
        stored = self._stored(definition.key)
        spec = definition.spec
        return SettingView(
            key=definition.key,
            value=definition.public(snapshot.value(definition.key)),
            default=definition.public(definition.default),
            type=spec.kind.value,
            group=definition.group,
            description=spec.description,
            minimum=spec.minimum,
            maximum=spec.maximum,
            updated_at=stored.updated_at if stored else None,
            updated_by=stored.updated_by if stored else None,
        )

    def _custom_view(self, key: str, value: Any) -> SettingView:
        stored = self._stored(key)
        return SettingView(
            key, value, None, "custom", "custom", "Operator-defined value.", None, None,
            stored.updated_at if stored else None, stored.updated_by if stored else None,
        )  # fmt: skip

    async def history(
        self, key: str | None, before_id: int | None, limit: int
    ) -> list[HistoryEntry]:
        async with self.services.db.connect() as conn:
            return await repo.list_history(conn, key=key, before_id=before_id, limit=limit)

    # Writing --------------------------------------------------------------------------------

    async def set_one(self, key: str, value: Any, actor: str, request_id: str) -> SettingView:
        if key.startswith(CUSTOM_PREFIX):
            await self._apply({key: self._custom_value(key, value)}, actor, request_id)
        elif key in SETTINGS:
            await self.update({key: value}, actor, request_id, loc_prefix=("body", "value"))
        else:
            raise InvalidInput(
                f"unknown setting {key!r}; valid keys: {', '.join(SETTINGS)}, or custom.<name>",
                loc=("body", "key"),
            )
        return await self.one(key)

    async def update_group(
        self, group: str, changes: Mapping[str, Any], actor: str, request_id: str
    ) -> list[SettingView]:
        known = {definition.name for definition in SETTINGS.values() if definition.group == group}
        unknown = sorted(set(changes) - known)
        if unknown:
            raise InvalidInput(
                f"unknown {group} setting {unknown[0]!r}; valid: {', '.join(sorted(known))}",
                loc=("body", unknown[0]),
            )
        await self.update(
            {f"{group}.{name}": value for name, value in changes.items()}, actor, request_id
        )
        return [view for view in await self.all() if view.group == group]

    async def update(
        self,
        changes: Mapping[str, Any],
        actor: str,
        request_id: str,
        *,
        loc_prefix: tuple[str, ...] | None = None,
    ) -> None:
        """Validate every change, then the whole resulting configuration, then apply them all."""
        current = await self.services.runtime.refresh()
        roles = frozenset(self.services.runtime.roles)
        typed: dict[str, Any] = {}
        for key, raw in changes.items():
            definition = SETTINGS[key]
            try:
                typed[key] = definition.parse(raw, roles)
            except ValueError as exc:
                loc = loc_prefix or ("body", definition.name)
                raise InvalidInput(f"{key}: {exc}", loc=loc) from None
        typed = self._with_consequences(current, typed)
        merged = {key: current.value(key) for key in SETTINGS} | typed
        problems = RuntimeSettings.build(
            merged, current.custom, current.epoch, current.modules
        ).problems()
        registration = open_registration_problem(
            merged["auth.registration_open"],
            merged["auth.default_role"],
            self.services.runtime.roles,
        )
        if registration is not None:
            problems.append(registration)
        if problems:
            raise InvalidInput("; ".join(problems), loc=("body",))
        await self._apply(typed, actor, request_id)

    @staticmethod
    def _with_consequences(current: RuntimeSettings, typed: dict[str, Any]) -> dict[str, Any]:
        # A new organization name must be pinned again: its numeric id is resolved afresh.
        organization = typed.get("auth.github_organization")
        if (
            organization is not None
            and organization.lower() != current.auth.github_organization.lower()
            and "auth.github_organization_id" not in typed
        ):
            typed = {**typed, "auth.github_organization_id": 0}
        return typed

    @staticmethod
    def _custom_value(key: str, value: Any) -> Any:
        if not CUSTOM_KEY.fullmatch(key):
            raise InvalidInput(
                "custom keys are custom.<name>: a-z, 0-9, '_', '.', '-' (at most 100)",
                loc=("body", "key"),
            )
        if len(json.dumps(value)) > MAX_CUSTOM_VALUE_CHARS:
            raise InvalidInput(
                f"custom values are at most {MAX_CUSTOM_VALUE_CHARS} characters of JSON",
                loc=("body", "value"),
            )
        return value

    async def set_module_policy(
        self, module_id: str, old: Any, new: Any, actor: str, request_id: str
    ) -> None:
        """Store a module's policy (strongroom.modules.policy) as `modules.<module_id>`, with
        its history entry (`old`: the policy in force before, defaults included)."""
        await self._apply(
            {MODULES_PREFIX + module_id: new},
            actor,
            request_id,
            old={MODULES_PREFIX + module_id: old},
        )

    async def _apply(
        self,
        typed: Mapping[str, Any],
        actor: str,
        request_id: str,
        *,
        old: Mapping[str, Any] | None = None,
    ) -> None:
        current = self.services.runtime.settings
        stamp = now()
        rows, history = [], []
        for key, value in typed.items():
            definition = SETTINGS.get(key)
            if definition is not None and definition.secret:
                assert isinstance(value, SecretText)
                blob = self.services.barrier.encrypt(value.reveal().encode(), setting_binding(key))
                row = StoredSetting(key, None, blob, stamp, actor)
            else:
                stored = definition.to_json(value) if definition else value
                row = StoredSetting(key, json.dumps(stored), None, stamp, actor)
            rows.append(row)
            before = old[key] if old is not None and key in old else current.value(key)
            old_text, new = self._public(key, before), self._public(key, value)
            history.append(HistoryEntry(0, key, old_text, new, stamp, actor, request_id))
            self.applied.append({"key": key, "old": json.loads(old_text), "new": json.loads(new)})
        async with self.services.db.begin() as conn:
            for row in rows:
                await repo.upsert_setting(conn, row)
            await repo.add_history(conn, history)
        await self.services.runtime.changed()

    @staticmethod
    def _public(key: str, value: Any) -> str:
        definition = SETTINGS.get(key)
        shown = definition.public(value) if definition else value
        return json.dumps(shown)


def group_names() -> list[str]:
    return list(GROUPS)
