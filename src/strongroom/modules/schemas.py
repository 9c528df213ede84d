"""Bodies of the module library API."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from strongroom.modules.service import ModuleAdminView, ModuleStatus
from strongroom.timefmt import rfc3339


class ModuleOut(BaseModel):
    """A module as the caller sees it."""

    id: str
    name: str
    description: str
    version: str
    available: bool = Field(description="The operator allows it on this server.")
    enabled: bool = Field(description="Enabled by the caller (kv: always).")
    allowed: bool = Field(description="The caller's role may use it.")
    always_enabled: bool = Field(description="kv: the secrets API itself, cannot be disabled.")

    @classmethod
    def of(cls, status: ModuleStatus) -> ModuleOut:
        module = status.module
        return cls(
            id=module.id,
            name=module.name,
            description=module.description,
            version=module.version,
            available=status.policy.available,
            enabled=status.enabled,
            allowed=status.allowed,
            always_enabled=module.always_enabled,
        )


class ModulePage(BaseModel):
    items: list[ModuleOut]
    next_cursor: str | None = None


class ModulePolicyIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    available: bool | None = Field(None, description="Offer the module on this server.")
    roles: list[Annotated[str, Field(max_length=64)]] | None = Field(
        None,
        max_length=64,
        description="Roles that may enable and use it (admins always may; role rules can "
        "grant `module:<id>` to more roles or deny it, see the README).",
    )


class ModuleAdminOut(BaseModel):
    id: str
    name: str
    description: str
    version: str
    available: bool
    roles: list[str]
    always_enabled: bool
    enabled_users: int = Field(description="Users who have enabled it.")
    updated_at: str | None
    updated_by: str | None

    @classmethod
    def of(cls, view: ModuleAdminView) -> ModuleAdminOut:
        module = view.module
        return cls(
            id=module.id,
            name=module.name,
            description=module.description,
            version=module.version,
            available=view.policy.available,
            roles=list(view.policy.roles),
            always_enabled=module.always_enabled,
            enabled_users=view.enabled_users,
            updated_at=rfc3339(view.updated_at),
            updated_by=view.updated_by,
        )


class ModuleAdminPage(BaseModel):
    items: list[ModuleAdminOut]
    next_cursor: str | None = None


class PurgeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    username: str = Field(max_length=200)


class Purged(BaseModel):
    module_id: str
    username: str
    keys_deleted: int
