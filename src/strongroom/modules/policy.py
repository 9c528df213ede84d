"""An operator's policy of a module: whether it is available on the server, and to which roles.

Policies are stored as runtime settings under `modules.<module_id>` (JSON
`{"available": bool, "roles": [...]}`), so a change is recorded in the settings history and
is in force on every node at its next request (the config epoch, see system/runtime.py).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from strongroom.modules.catalog import DEFAULT_ROLES, ModuleInfo


@dataclass(frozen=True, slots=True)
class ModulePolicy:
    available: bool
    roles: tuple[str, ...]

    def as_json(self) -> dict[str, Any]:
        return {"available": self.available, "roles": list(self.roles)}


def policy_of(module: ModuleInfo, stored: Mapping[str, Any] | None) -> ModulePolicy:
    """The policy in force: the stored one, else the default (available to admin and user)."""
    if module.always_enabled:
        return ModulePolicy(True, ())
    if not stored:
        return ModulePolicy(True, DEFAULT_ROLES)
    roles = stored.get("roles", DEFAULT_ROLES)
    return ModulePolicy(
        bool(stored.get("available", True)),
        tuple(str(role) for role in roles) if isinstance(roles, list | tuple) else DEFAULT_ROLES,
    )
