"""Who may do what to a secret: the caller's role, matched against the secret's path."""

from __future__ import annotations

from strongroom.auth.principal import Principal
from strongroom.errors import Forbidden
from strongroom.policy.rules import Capability, Role
from strongroom.services import Services


def role_of(services: Services, principal: Principal) -> Role:
    return services.runtime.role(principal.role)


def require(services: Services, principal: Principal, capability: Capability, path: str) -> None:
    """403 unless the caller's role grants `capability` on `path` (default deny, deny wins)."""
    if not role_of(services, principal).allows(capability, path, principal.username):
        raise Forbidden(f"your role does not grant '{capability.value}' on this secret path")
