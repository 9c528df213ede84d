"""Typed answers of the server: plain dataclasses, built from the JSON the API returns.

Fields the server adds later are ignored, and fields missing from an older server default to
None, so a client and a server of neighbouring versions still understand each other. Times are
RFC 3339 UTC strings, as the API sends them. Secret material (values, tokens) is kept out of
every `repr`.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any, TypeVar

T = TypeVar("T")
_FIELDS: dict[type, tuple[str, ...]] = {}


def build(cls: type[T], data: Any) -> T:
    """An instance of the dataclass `cls` from a JSON object (unknown keys ignored)."""
    names = _FIELDS.get(cls)
    if names is None:
        names = _FIELDS[cls] = tuple(f.name for f in fields(cls))  # type: ignore[arg-type]
    if not isinstance(data, dict):
        raise TypeError(f"expected a JSON object for {cls.__name__}")
    return cls(**{name: data.get(name) for name in names})


def as_dict(obj: Any) -> dict[str, Any]:
    """The fields of a model as a dict (values included: only for output the caller asked for)."""
    return {f.name: getattr(obj, f.name) for f in fields(obj)}


@dataclass(frozen=True)
class Tokens:
    """The tokens of one session. The tokens are credentials: never shown in a repr."""

    access_token: str = field(repr=False)
    refresh_token: str | None = field(default=None, repr=False)
    expires_in: int | None = None
    refresh_expires_in: int | None = None
    session_id: str | None = None
    scope: str | None = None
    token_type: str | None = "Bearer"


@dataclass(frozen=True)
class Secret:
    """A secret read with its value (a string or a JSON object)."""

    id: str
    path: str
    version: int
    value: Any = field(repr=False)
    metadata: dict[str, str]
    created_at: str
    updated_at: str
    expires_at: str | None
    reads: int | None
    max_reads: int | None


@dataclass(frozen=True)
class SecretInfo:
    """A secret without its value (listings, metadata)."""

    id: str
    path: str
    version: int
    metadata: dict[str, str]
    created_at: str
    updated_at: str | None
    expires_at: str | None
    reads: int | None
    max_reads: int | None


@dataclass(frozen=True)
class SecretWritten:
    """The outcome of a write: the version it created."""

    id: str
    path: str
    version: int
    created_at: str
    expires_at: str | None
    metadata: dict[str, str]


@dataclass(frozen=True)
class SecretState:
    """The outcome of delete, undelete and destroy."""

    id: str
    path: str
    version: int
    deleted_at: str | None
    destroyed: bool
    destroyed_versions: list[int]


@dataclass(frozen=True)
class Version:
    """One version of a secret, without its value."""

    version: int
    created_at: str
    created_by: str | None
    destroyed: bool
    destroyed_at: str | None
    current: bool


@dataclass(frozen=True)
class User:
    id: str
    username: str
    email: str | None
    role: str
    disabled: bool
    auth_method: str
    github_login: str | None
    created_at: str
    updated_at: str


@dataclass(frozen=True)
class Done:
    """The outcome of a change to a user: how many of its sessions ended."""

    ok: bool
    sessions_ended: int


@dataclass(frozen=True)
class Session:
    id: str
    username: str
    role: str
    auth_method: str
    created_at: str
    last_used_at: str
    expires_at: str
    refresh_expires_at: str | None
    max_expires_at: str
    ip: str | None
    bound_ip: str | None
    uses: int
    max_uses: int | None
    one_time: bool
    scope: str
    client_id: str | None
    user_agent: str | None
    current: bool


@dataclass(frozen=True)
class TokenCheck:
    username: str
    active: bool
    role: str
    session_id: str
    expires_at: str


@dataclass(frozen=True)
class Rule:
    path: str
    capabilities: list[str]


@dataclass(frozen=True)
class Role:
    name: str
    description: str
    rules: list[Rule]
    builtin: bool
    created_at: str | None
    updated_at: str | None


def role_from(data: Any) -> Role:
    role = build(Role, data)
    rules = [build(Rule, rule) for rule in role.rules or []]
    return Role(role.name, role.description, rules, role.builtin, role.created_at, role.updated_at)


@dataclass(frozen=True)
class Setting:
    key: str
    value: Any
    default: Any
    type: str
    group: str
    description: str
    minimum: int | None
    maximum: int | None
    updated_at: str | None
    updated_by: str | None


@dataclass(frozen=True)
class SettingChange:
    id: int
    key: str
    old_value: Any
    new_value: Any
    changed_at: str
    changed_by: str | None
    request_id: str | None


@dataclass(frozen=True)
class Health:
    status: str
    sealed: bool
    version: str
    database: str
    session_store: str
    cluster_name: str | None
    initialized: bool | None = None


@dataclass(frozen=True)
class SealStatus:
    """`sys/seal-status` (issue 21); older servers only say `sealed`."""

    sealed: bool
    type: str | None = None
    initialized: bool | None = None
    t: int | None = None
    n: int | None = None
    progress: int | None = None
    nonce: str | None = None
    version: str | None = None
    cluster_name: str | None = None


@dataclass(frozen=True)
class InitResult:
    """`sys/init`: the key shares (shown once) and, when it made one, the first admin."""

    keys: list[str] = field(repr=False)
    keys_base64: list[str] = field(repr=False)
    admin_username: str | None = None
    admin_password: str | None = field(default=None, repr=False)


@dataclass(frozen=True)
class RewrapStatus:
    """A rewrap job (`sys/rewrap`): `state` none, running or done."""

    state: str
    id: str | None = None
    data_version: int | None = None
    stage: str | None = None
    done: int = 0
    total: int = 0
    started_at: str | None = None
    finished_at: str | None = None


@dataclass(frozen=True)
class RekeyStatus:
    """Progress of a rekey; `keys` (the new shares) once it completes."""

    nonce: str | None = None
    started: bool | None = None
    t: int | None = None
    n: int | None = None
    progress: int | None = None
    required: int | None = None
    complete: bool | None = None
    keys: list[str] | None = field(default=None, repr=False)
    keys_base64: list[str] | None = field(default=None, repr=False)


@dataclass(frozen=True)
class Module:
    """A module of the library and its status for the caller (issue 18)."""

    id: str
    name: str
    description: str
    version: str | None = None
    available: bool | None = None
    enabled: bool | None = None
    allowed: bool | None = None
    roles: list[str] | None = None


@dataclass(frozen=True)
class Page:
    """One page of a listing: the raw items and the cursor of the next page."""

    items: list[Any]
    next_cursor: str | None


def page_from(data: Any) -> Page:
    return Page(list(data.get("items") or []), data.get("next_cursor"))
