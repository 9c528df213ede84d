"""Bodies of the system endpoints. The partial-update models are generated from the registry,
so the OpenAPI document always lists exactly the settings that exist."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, JsonValue, create_model

from strongroom.system.registry import SETTINGS, Kind
from strongroom.system.service import SettingView
from strongroom.timefmt import rfc3339

_TYPES: dict[Kind, Any] = {
    Kind.duration: int | str,
    Kind.integer: int,
    Kind.boolean: bool,
    Kind.string: str,
    Kind.url: str,
    Kind.networks: list[str],
    Kind.role: str,
    Kind.role_map: dict[str, str],
    Kind.secret: str,
}


def _group_model(group: str, name: str) -> type[BaseModel]:
    fields: dict[str, Any] = {
        definition.name: (
            _TYPES[definition.kind] | None,
            Field(None, description=definition.spec.description),
        )
        for definition in SETTINGS.values()
        if definition.group == group
    }
    model: type[BaseModel] = create_model(
        name, __config__=ConfigDict(extra="forbid", strict=True), **fields
    )
    return model


SecurityUpdate = _group_model("security", "SecurityUpdate")
AuthUpdate = _group_model("auth", "AuthUpdate")


class SettingSet(BaseModel):
    model_config = ConfigDict(extra="forbid")

    key: str = Field(max_length=200)
    value: JsonValue


class SettingOut(BaseModel):
    key: str
    value: JsonValue
    default: JsonValue
    type: str
    group: str
    description: str
    minimum: int | None
    maximum: int | None
    updated_at: str | None
    updated_by: str | None

    @classmethod
    def of(cls, view: SettingView) -> SettingOut:
        return cls(
            key=view.key,
            value=view.value,
            default=view.default,
            type=view.type,
            group=view.group,
            description=view.description,
            minimum=view.minimum,
            maximum=view.maximum,
            updated_at=rfc3339(view.updated_at),
            updated_by=view.updated_by,
        )


class SettingsOut(BaseModel):
    settings: list[SettingOut]


class HistoryItem(BaseModel):
    id: int
    key: str
    old_value: JsonValue
    new_value: JsonValue
    changed_at: str
    changed_by: str | None
    request_id: str | None


class HistoryPage(BaseModel):
    items: list[HistoryItem]
    next_cursor: str | None


class Rotated(BaseModel):
    data_key_version: int
