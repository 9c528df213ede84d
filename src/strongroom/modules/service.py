"""The module library: the caller's view of every module, enabling and disabling, and the
operator's side (policies, purging a user's data)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from strongroom.auth.principal import Principal
from strongroom.db import now
from strongroom.errors import InvalidInput, NotFound
from strongroom.modules import repository as repo
from strongroom.modules.access import check_use, module_info, policy_in_force, role_allows
from strongroom.modules.catalog import CATALOG, TOTP, TRANSIT, ModuleInfo
from strongroom.modules.errors import ModuleAlwaysEnabled
from strongroom.modules.policy import ModulePolicy
from strongroom.modules.totp import repository as totp_repo
from strongroom.modules.transit import repository as transit_repo
from strongroom.modules.transit.cache import changing_user as transit_changing_user
from strongroom.services import Services
from strongroom.system.registry import MODULES_PREFIX
from strongroom.system.service import SettingsService
from strongroom.users import repository as users_repo
from strongroom.users.validation import normalise_username

MAX_POLICY_ROLES = 64
# Deletes one user's data of a module; returns the number of keys deleted.
Purger = Callable[[AsyncConnection, str], Awaitable[int]]
PURGERS: dict[str, Purger] = {
    TRANSIT: transit_repo.purge_user,
    TOTP: totp_repo.purge_user,
}


@asynccontextmanager
async def _nothing_cached(_services: Services, _user_id: str) -> AsyncIterator[None]:
    yield


# Brackets a change of a module for one user, for the nodes' caches of its data.
CHANGE_BRACKETS: dict[str, Callable[[Services, str], AbstractAsyncContextManager[None]]] = {
    TRANSIT: transit_changing_user,
}


def _changing(
    services: Services, module_id: str, user_id: str
) -> AbstractAsyncContextManager[None]:
    return CHANGE_BRACKETS.get(module_id, _nothing_cached)(services, user_id)


@dataclass(frozen=True, slots=True)
class ModuleStatus:
    """A module as one caller sees it."""

    module: ModuleInfo
    policy: ModulePolicy
    enabled: bool
    allowed: bool


@dataclass(frozen=True, slots=True)
class ModuleAdminView:
    module: ModuleInfo
    policy: ModulePolicy
    enabled_users: int
    updated_at: float | None
    updated_by: str | None


def _status(
    services: Services, principal: Principal, module: ModuleInfo, enabled: set[str]
) -> ModuleStatus:
    policy = policy_in_force(services, module)
    if module.always_enabled:
        return ModuleStatus(module, policy, True, True)
    allowed = role_allows(services, principal, module, policy)
    return ModuleStatus(module, policy, module.id in enabled, allowed)


async def _enabled_set(services: Services, principal: Principal) -> set[str]:
    async with services.db.connect() as conn:
        return await repo.enabled_modules(conn, principal.user_id)


async def list_for(services: Services, principal: Principal) -> list[ModuleStatus]:
    enabled = await _enabled_set(services, principal)
    return [_status(services, principal, module, enabled) for module in CATALOG.values()]


async def status_of(services: Services, principal: Principal, module_id: str) -> ModuleStatus:
    module = module_info(module_id)
    return _status(services, principal, module, await _enabled_set(services, principal))


async def enable(services: Services, principal: Principal, module_id: str) -> ModuleStatus:
    """Enable for the caller: 404 unknown, 403 unavailable or not for the role; idempotent."""
    module = check_use(services, principal, module_id)
    if not module.always_enabled:
        try:
            async with (
                _changing(services, module.id, principal.user_id),
                services.db.begin() as conn,
            ):
                await repo.enable(conn, principal.user_id, module.id, now())
        except IntegrityError:
            pass  # a concurrent enable of the same module won: enabled all the same
    return await status_of(services, principal, module.id)


async def disable(services: Services, principal: Principal, module_id: str) -> ModuleStatus:
    """Disable for the caller; the module's data stays. `kv` cannot be disabled (409)."""
    module = module_info(module_id)
    if module.always_enabled:
        raise ModuleAlwaysEnabled(f"{module.id!r} is the secrets API itself and is always enabled")
    async with _changing(services, module.id, principal.user_id), services.db.begin() as conn:
        await repo.disable(conn, principal.user_id, module.id)
    return await status_of(services, principal, module.id)


# The operator's side ----------------------------------------------------------------------------


async def admin_list(services: Services) -> list[ModuleAdminView]:
    await services.runtime.refresh()
    async with services.db.connect() as conn:
        counts = await repo.enabled_counts(conn)
    return [_admin_view(services, module, counts.get(module.id, 0)) for module in CATALOG.values()]


def _admin_view(services: Services, module: ModuleInfo, enabled_users: int) -> ModuleAdminView:
    stored = services.runtime.stored.get(MODULES_PREFIX + module.id)
    return ModuleAdminView(
        module,
        policy_in_force(services, module),
        enabled_users,
        stored.updated_at if stored else None,
        stored.updated_by if stored else None,
    )


def _checked_roles(services: Services, roles: Sequence[str]) -> tuple[str, ...]:
    if len(roles) > MAX_POLICY_ROLES:
        raise InvalidInput(f"at most {MAX_POLICY_ROLES} roles", loc=("body", "roles"))
    known = services.runtime.roles
    for index, role in enumerate(roles):
        if role not in known:
            raise InvalidInput(
                f"unknown role {role!r}; roles: {', '.join(sorted(known))}",
                loc=("body", "roles", index),
            )
    return tuple(dict.fromkeys(roles))


async def set_policy(
    services: Services,
    module_id: str,
    available: bool | None,
    roles: Sequence[str] | None,
    actor: str,
    request_id: str,
) -> tuple[ModuleAdminView, list[dict[str, object]]]:
    """Change who may use a module; recorded in the settings history, in force on every node
    at its next request. Returns the module's view and what changed (for the audit record)."""
    module = module_info(module_id)
    if module.always_enabled:
        raise ModuleAlwaysEnabled(f"{module.id!r} is the secrets API itself: always available")
    await services.runtime.refresh()
    current = policy_in_force(services, module)
    new = ModulePolicy(
        current.available if available is None else available,
        current.roles if roles is None else _checked_roles(services, roles),
    )
    settings = SettingsService(services)
    await settings.set_module_policy(module.id, current.as_json(), new.as_json(), actor, request_id)
    async with services.db.connect() as conn:
        counts = await repo.enabled_counts(conn)
    return _admin_view(services, module, counts.get(module.id, 0)), settings.applied


async def purge(services: Services, module_id: str, username: str) -> int:
    """Delete one user's data of a module (its keys) and the user's enablement of it. Returns
    the number of keys deleted."""
    module = module_info(module_id)
    purger = PURGERS.get(module.id)
    if purger is None:
        raise ModuleAlwaysEnabled(
            f"{module.id!r} holds secrets: delete them through the secrets API"
        )
    name = normalise_username(username)
    async with services.db.connect() as conn:
        user = await users_repo.get_by_username(conn, name)
    if user is None:
        raise NotFound(f"no user {name!r}")
    async with _changing(services, module.id, user.id), services.db.begin() as conn:
        deleted = await purger(conn, user.id)
        await repo.disable(conn, user.id, module.id)
    return deleted
