"""Who may use a module: the one place these rules live.

A caller uses a module (its routes under /api/v1/modules/<id>/...) when, in this order:

1. the module exists                                   else 404 module_not_found
2. the operator made it available on the server         else 403 module_unavailable
3. the caller's role may use it                         else 403 module_not_allowed
4. the caller enabled it (POST /modules/<id>/enable)    else 403 module_not_enabled

Step 3: admins always may. Any other role may when the module's policy lists it
(`/sys/modules/<id>` `roles`) or when one of its rules grants `module:<id>` (any capability
but `deny`), and no rule denies it: a `deny` rule on `module:<id>` (or `module:*`) refuses the
module, on `module:<id>/<key name>` (or `module:<id>/*`) one key or all of them, and a deny
wins over every grant, as it does for secrets.
"""

from __future__ import annotations

from strongroom.auth.principal import Principal
from strongroom.modules import repository as repo
from strongroom.modules.catalog import CATALOG, ModuleInfo
from strongroom.modules.errors import (
    ModuleNotAllowed,
    ModuleNotEnabled,
    ModuleNotFound,
    ModuleUnavailable,
)
from strongroom.modules.policy import ModulePolicy, policy_of
from strongroom.policy.rules import MODULE_PREFIX
from strongroom.services import Services


def module_info(module_id: str) -> ModuleInfo:
    module = CATALOG.get(module_id)
    if module is None:
        raise ModuleNotFound(f"no module {module_id!r}; modules: {', '.join(CATALOG)}")
    return module


def policy_in_force(services: Services, module: ModuleInfo) -> ModulePolicy:
    return policy_of(module, services.settings.modules.get(module.id))


def resource(module_id: str, key: str | None = None) -> str:
    """How role rules name a module (`module:transit`) or a key of it (`module:transit/k`)."""
    return f"{MODULE_PREFIX}{module_id}" if key is None else f"{MODULE_PREFIX}{module_id}/{key}"


def role_allows(
    services: Services,
    principal: Principal,
    module: ModuleInfo,
    policy: ModulePolicy,
    key: str | None = None,
) -> bool:
    role = services.runtime.role(principal.role)
    verdict = role.module_verdict(resource(module.id), principal.username)
    if verdict is False:
        return False
    if (
        key is not None
        and role.module_verdict(resource(module.id, key), principal.username) is False
    ):
        return False
    return verdict is True or principal.role in policy.roles


def check_use(
    services: Services, principal: Principal, module_id: str, key: str | None = None
) -> ModuleInfo:
    """Steps 1-3 (no I/O); 404/403 as the module docstring says."""
    module = module_info(module_id)
    if module.always_enabled:
        return module
    policy = policy_in_force(services, module)
    if not policy.available:
        raise ModuleUnavailable(f"the module {module.id!r} is not available on this server")
    if not role_allows(services, principal, module, policy, key):
        what = f"the module {module.id!r}" if key is None else f"this key of {module.id!r}"
        raise ModuleNotAllowed(f"your role may not use {what}")
    return module


def not_enabled(module_id: str) -> ModuleNotEnabled:
    return ModuleNotEnabled(
        f"the module {module_id!r} is not enabled for you; "
        f"enable it with POST /api/v1/modules/{module_id}/enable"
    )


async def require_enabled(services: Services, principal: Principal, module_id: str) -> None:
    """Step 4, for routes that touch no key (those check it in the key's own query)."""
    if not await repo.hot_enablements(services.db).is_enabled(principal.user_id, module_id):
        raise not_enabled(module_id)


async def require_use(
    services: Services, principal: Principal, module_id: str, key: str | None = None
) -> ModuleInfo:
    """Steps 1-4."""
    module = check_use(services, principal, module_id, key)
    await require_enabled(services, principal, module_id)
    return module
