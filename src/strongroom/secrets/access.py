"""Who may do what to a secret: the caller's role, matched against the secret's path."""

from __future__ import annotations

from strongroom.auth.principal import Principal
from strongroom.errors import Forbidden, NotFound
from strongroom.policy.rules import Capability, Role
from strongroom.services import Services


def role_of(services: Services, principal: Principal) -> Role:
    return services.runtime.role(principal.role)


def require(services: Services, principal: Principal, capability: Capability, path: str) -> None:
    """403 unless the caller's role grants `capability` on `path` (default deny, deny wins)."""
    if not role_of(services, principal).allows(capability, path, principal.username):
        raise Forbidden(f"your role does not grant '{capability.value}' on this secret path")


def require_on_secret(
    services: Services,
    principal: Principal,
    capability: Capability,
    path: str,
    not_found: str = "no secret with this id",
) -> None:
    """`require` for a secret named by its id: when the caller's role grants nothing at all on
    its path, the answer is the unknown id's 404 (`not_found`, the same message), so an id
    tells nobody that a secret they may not see exists. A caller who may see it but lacks
    `capability` gets the 403."""
    if not role_of(services, principal).capabilities(path, principal.username):
        raise NotFound(not_found)
    require(services, principal, capability, path)
