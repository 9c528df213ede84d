"""`client.roles`: roles and their path rules (admins)."""

from __future__ import annotations

import builtins
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from strongroom_client._core import Call, acollect, collect, copy_docs, paged, route, segment
from strongroom_client.models import Role, Rule, role_from

if TYPE_CHECKING:
    from strongroom_client.aio import AsyncClient
    from strongroom_client.client import Client

Rules = Sequence[Rule | Mapping[str, Any]]


def rules_json(rules: Rules) -> builtins.list[dict[str, Any]]:
    out = []
    for rule in rules:
        if isinstance(rule, Rule):
            out.append({"path": rule.path, "capabilities": list(rule.capabilities)})
        else:
            out.append({"path": rule["path"], "capabilities": list(rule["capabilities"])})
    return out


def get_call(name: str) -> Call[Role]:
    return Call("GET", "/roles/" + segment(name), role_from)


def create_call(name: str, rules: Rules, description: str) -> Call[Role]:
    body = {"name": name, "description": description, "rules": rules_json(rules)}
    return Call("POST", "/roles", role_from, json=body)


def put_call(name: str, rules: Rules, description: str) -> Call[Role]:
    body = {"description": description, "rules": rules_json(rules)}
    return Call("PUT", "/roles/" + segment(name), role_from, json=body)


def delete_call(name: str) -> Call[bool]:
    return Call("DELETE", "/roles/" + segment(name), lambda d: bool(d and d.get("deleted")))


class Roles:
    """Roles: path rules granting capabilities on secrets (default deny, `deny` wins).
    Rules are `Rule(path, capabilities)` or `{"path": ..., "capabilities": [...]}`."""

    def __init__(self, client: Client) -> None:
        self._c = client

    @route("GET", "/roles")
    def list(self) -> builtins.list[Role]:
        """Every role, built-in ones included, by name."""
        return collect(self._c, paged("/roles"), role_from)

    @route("GET", "/roles/{name}")
    def get(self, name: str) -> Role:
        """One role with its rules."""
        return self._c.call(get_call(name))

    @route("POST", "/roles")
    def create(self, name: str, rules: Rules, description: str = "") -> Role:
        """Define a role (`RoleExists` if the name is taken)."""
        return self._c.call(create_call(name, rules, description))

    @route("PUT", "/roles/{name}")
    def update(self, name: str, rules: Rules, description: str = "") -> Role:
        """Replace a custom role's rules and description."""
        return self._c.call(put_call(name, rules, description))

    def put(self, name: str, rules: Rules, description: str = "") -> Role:
        """Create the role, or replace its rules if it exists."""
        from strongroom_client.errors import NotFound

        try:
            return self.update(name, rules, description)
        except NotFound:
            return self.create(name, rules, description)

    @route("DELETE", "/roles/{name}")
    def delete(self, name: str) -> bool:
        """Delete a custom role that no user holds (`RoleInUse` otherwise)."""
        return self._c.call(delete_call(name))


class AsyncRoles:
    def __init__(self, client: AsyncClient) -> None:
        self._c = client

    @route("GET", "/roles")
    async def list(self) -> builtins.list[Role]:
        return await acollect(self._c, paged("/roles"), role_from)

    @route("GET", "/roles/{name}")
    async def get(self, name: str) -> Role:
        return await self._c.call(get_call(name))

    @route("POST", "/roles")
    async def create(self, name: str, rules: Rules, description: str = "") -> Role:
        return await self._c.call(create_call(name, rules, description))

    @route("PUT", "/roles/{name}")
    async def update(self, name: str, rules: Rules, description: str = "") -> Role:
        return await self._c.call(put_call(name, rules, description))

    async def put(self, name: str, rules: Rules, description: str = "") -> Role:
        from strongroom_client.errors import NotFound

        try:
            return await self.update(name, rules, description)
        except NotFound:
            return await self.create(name, rules, description)

    @route("DELETE", "/roles/{name}")
    async def delete(self, name: str) -> bool:
        return await self._c.call(delete_call(name))


copy_docs(AsyncRoles, Roles)
