"""Which public methods of the client a test called: every group class is wrapped for the
test, and the test compares what it called with what exists."""

from __future__ import annotations

import functools
import inspect
from collections.abc import Iterator
from typing import Any

import pytest

from strongroom_client.aio import AsyncClient
from strongroom_client.client import Client
from strongroom_client.groups import audit, kv, modules, roles, sessions, settings, sys, users

SYNC: dict[str, type] = {
    "client": Client,
    "kv": kv.KV,
    "users": users.Users,
    "roles": roles.Roles,
    "sessions": sessions.Sessions,
    "settings": settings.Settings,
    "audit": audit.Audit,
    "sys": sys.Sys,
    "modules": modules.Modules,
    "transit": modules.Transit,
    "totp": modules.Totp,
}
ASYNC: dict[str, type] = {
    "client": AsyncClient,
    "kv": kv.AsyncKV,
    "users": users.AsyncUsers,
    "roles": roles.AsyncRoles,
    "sessions": sessions.AsyncSessions,
    "settings": settings.AsyncSettings,
    "audit": audit.AsyncAudit,
    "sys": sys.AsyncSys,
    "modules": modules.AsyncModules,
    "transit": modules.AsyncTransit,
    "totp": modules.AsyncTotp,
}


def public_methods(cls: type) -> Iterator[tuple[str, Any]]:
    for name, member in vars(cls).items():
        if not name.startswith("_") and inspect.isfunction(member):
            yield name, member


def every_method(classes: dict[str, type]) -> set[str]:
    return {f"{label}.{name}" for label, cls in classes.items() for name, _ in public_methods(cls)}


def record(monkeypatch: pytest.MonkeyPatch, classes: dict[str, type]) -> set[str]:
    """Wrap every public method; the returned set fills with `group.method` as they run."""
    seen: set[str] = set()
    for label, cls in classes.items():
        for name, function in public_methods(cls):
            monkeypatch.setattr(cls, name, _wrapped(function, f"{label}.{name}", seen))
    return seen


def _wrapped(function: Any, key: str, seen: set[str]) -> Any:
    if inspect.isasyncgenfunction(function):

        @functools.wraps(function)
        async def agen(*args: Any, **kwargs: Any) -> Any:
            seen.add(key)
            async for item in function(*args, **kwargs):
                yield item

        return agen
    if inspect.iscoroutinefunction(function):

        @functools.wraps(function)
        async def coroutine(*args: Any, **kwargs: Any) -> Any:
            seen.add(key)
            return await function(*args, **kwargs)

        return coroutine

    @functools.wraps(function)
    def plain(*args: Any, **kwargs: Any) -> Any:
        seen.add(key)
        return function(*args, **kwargs)

    return plain
