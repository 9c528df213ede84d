"""Bodies of the roles API."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from strongroom.policy.repository import RoleRecord
from strongroom.policy.rules import Capability
from strongroom.timefmt import rfc3339

MAX_RULES = 200


class RuleIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    path: str = Field(
        max_length=600,
        description="Pattern: '/'-separated segments; '+' is one whole segment, '*' only at the "
        "very end (any suffix), '{username}' is the caller's username.",
        examples=["team-a/*", "users/{username}/*", "apps/+/config"],
    )
    capabilities: list[Capability] = Field(
        min_length=1,
        max_length=len(Capability),
        description="create, read, update, delete, "
        "list, or deny (which beats every grant of any matching rule).",
    )


class _RoleBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    description: str = Field("", max_length=1000)
    rules: list[RuleIn] = Field(default_factory=list, max_length=MAX_RULES)


class RoleCreate(_RoleBody):
    name: str = Field(max_length=100, description="2-64 characters of a-z, 0-9, '_', '-'.")


class RoleUpdate(_RoleBody):
    """A full replacement of the description and the rules."""


class RuleOut(BaseModel):
    path: str
    capabilities: list[str]


class RoleOut(BaseModel):
    name: str
    description: str
    rules: list[RuleOut]
    builtin: bool
    created_at: str
    updated_at: str

    @classmethod
    def of(cls, record: RoleRecord) -> RoleOut:
        role = record.role
        return cls(
            name=role.name,
            description=role.description,
            rules=[
                RuleOut(path=rule.path, capabilities=sorted(c.value for c in rule.capabilities))
                for rule in role.rules
            ],
            builtin=role.builtin,
            created_at=rfc3339(record.created_at),
            updated_at=rfc3339(record.updated_at),
        )


class RolePage(BaseModel):
    items: list[RoleOut]
    next_cursor: str | None
