"""`client.settings`: runtime settings (admins write; admins and auditors read)."""

from __future__ import annotations

import builtins
from typing import TYPE_CHECKING, Any

from strongroom_client._core import Call, acollect, collect, copy_docs, paged, route, segment
from strongroom_client.models import Setting, SettingChange, build

if TYPE_CHECKING:
    from strongroom_client.aio import AsyncClient
    from strongroom_client.client import Client


def _setting(data: Any) -> Setting:
    return build(Setting, data)


def _settings(data: Any) -> builtins.list[Setting]:
    return [_setting(item) for item in data.get("settings", [])]


def _change(data: Any) -> SettingChange:
    return build(SettingChange, data)


def list_call() -> Call[builtins.list[Setting]]:
    return Call("GET", "/sys/settings", _settings)


def get_call(key: str) -> Call[Setting]:
    return Call("GET", "/sys/setting/" + segment(key), _setting)


def set_call(key: str, value: Any) -> Call[Setting]:
    return Call("POST", "/sys/setting", _setting, json={"key": key, "value": value})


def group_call(group: str, changes: dict[str, Any]) -> Call[builtins.list[Setting]]:
    return Call("POST", f"/sys/{group}", _settings, json=changes)


def history_pages(key: str | None) -> Any:
    return paged("/sys/settings/history", [("key", key)] if key else [])


class Settings:
    """Runtime settings: in force on every node at its next request."""

    def __init__(self, client: Client) -> None:
        self._c = client

    @route("GET", "/sys/settings")
    def list(self) -> builtins.list[Setting]:
        """Every setting with its value, default, type and last change (secrets masked)."""
        return self._c.call(list_call())

    @route("GET", "/sys/setting/{setting_key}")
    def get(self, key: str) -> Setting:
        """One setting (`NotFound` for an unknown key)."""
        return self._c.call(get_call(key))

    @route("POST", "/sys/setting")
    def set(self, key: str, value: Any) -> Setting:
        """Set one setting (validated by its type and bounds) or a free `custom.*` key."""
        return self._c.call(set_call(key, value))

    @route("POST", "/sys/security")
    def update_security(self, **changes: Any) -> builtins.list[Setting]:
        """Change several `security.*` settings at once, validated together (all or nothing);
        names without the group, e.g. `access_token_ttl=600`."""
        return self._c.call(group_call("security", changes))

    @route("POST", "/sys/auth")
    def update_auth(self, **changes: Any) -> builtins.list[Setting]:
        """Change several `auth.*` settings at once, validated together (all or nothing)."""
        return self._c.call(group_call("auth", changes))

    @route("GET", "/sys/settings/history")
    def history(self, key: str | None = None) -> builtins.list[SettingChange]:
        """Who changed which setting when, newest first (secret values masked)."""
        return collect(self._c, history_pages(key), _change)


class AsyncSettings:
    def __init__(self, client: AsyncClient) -> None:
        self._c = client

    @route("GET", "/sys/settings")
    async def list(self) -> builtins.list[Setting]:
        return await self._c.call(list_call())

    @route("GET", "/sys/setting/{setting_key}")
    async def get(self, key: str) -> Setting:
        return await self._c.call(get_call(key))

    @route("POST", "/sys/setting")
    async def set(self, key: str, value: Any) -> Setting:
        return await self._c.call(set_call(key, value))

    @route("POST", "/sys/security")
    async def update_security(self, **changes: Any) -> builtins.list[Setting]:
        return await self._c.call(group_call("security", changes))

    @route("POST", "/sys/auth")
    async def update_auth(self, **changes: Any) -> builtins.list[Setting]:
        return await self._c.call(group_call("auth", changes))

    @route("GET", "/sys/settings/history")
    async def history(self, key: str | None = None) -> builtins.list[SettingChange]:
        return await acollect(self._c, history_pages(key), _change)


copy_docs(AsyncSettings, Settings)
