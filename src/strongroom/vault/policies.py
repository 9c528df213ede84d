"""Writing Vault policies (`sys/policies/acl/:name`, `sys/policy/:name`): the subset that maps
onto a strongroom role is translated, the rest refused with a clear 400.

What maps: `path "..." { capabilities = [...] }` blocks (HCL, or the same in JSON) on KV paths:
`secret/data/P`, `secret/metadata/P`, `secret/delete|undelete|destroy/P` (the secret path P),
and the same under other KV mounts (`M/data/P` for KV v2, `M/P` for KV v1: the path `M/P`);
capabilities create, read, update, patch (update), delete, list, deny; globs `*` (at the end)
and `+` (one segment). Paths every token may use anyway (`auth/token/lookup-self`,
`renew-self`, `revoke-self`, `sys/capabilities-self`, `sys/wrapping/*`,
`sys/internal/ui/mounts*`) are accepted and need no rule. Anything else (other paths,
`sudo`, parameter constraints, wrapping TTL bounds...) is refused: a role never grants less
or more than the policy said.
"""

from __future__ import annotations

import re
from typing import Any

import orjson
from pydantic import ValidationError

from strongroom.errors import BadRequest, Conflict, InvalidInput, NotFound
from strongroom.policy import service
from strongroom.policy.schemas import RoleCreate, RoleUpdate, RuleIn
from strongroom.services import Services
from strongroom.vault.mounts import DEFAULT_MOUNT, find_mount

_COMMENT = re.compile(r"(#|//)[^\n]*")
_BLOCK = re.compile(r'path\s+"([^"]+)"\s*\{([^{}]*)\}')
_CAPS = re.compile(r"^\s*capabilities\s*=\s*\[([^\]]*)\]\s*$")
_CAPABILITY = {
    "create": "create",
    "read": "read",
    "update": "update",
    "patch": "update",
    "delete": "delete",
    "list": "list",
    "deny": "deny",
}
_SELF_SERVICE = (
    "auth/token/lookup-self",
    "auth/token/renew-self",
    "auth/token/revoke-self",
    "sys/capabilities-self",
    "sys/wrapping/",
    "sys/internal/ui/mounts",
)
_V2_OPERATIONS = {"data", "metadata", "delete", "undelete", "destroy", "subkeys"}


def parse_policy(text: str) -> list[tuple[str, list[str]]]:
    """(Vault path, capabilities) of each block, from HCL or JSON; 400 for anything else."""
    stripped = text.strip()
    if stripped.startswith("{"):
        return _parse_json(stripped)
    body = _COMMENT.sub("", text)
    blocks = []
    for match in _BLOCK.finditer(body):
        inner = match.group(2).strip()
        caps = _CAPS.match(inner) if inner else None
        if caps is None:
            raise BadRequest(
                f"path {match.group(1)!r}: only `capabilities = [...]` maps onto a strongroom "
                "role (parameter constraints and wrapping bounds do not)"
            )
        names = [c.strip().strip('"') for c in caps.group(1).split(",") if c.strip()]
        blocks.append((match.group(1), names))
    if _BLOCK.sub("", body).strip():
        raise BadRequest('the policy has text outside `path "..." { capabilities = [...] }`')
    return blocks


def _parse_json(text: str) -> list[tuple[str, list[str]]]:
    try:
        parsed = orjson.loads(text)
    except orjson.JSONDecodeError:
        raise BadRequest("the policy is neither HCL nor JSON") from None
    paths = parsed.get("path") if isinstance(parsed, dict) else None
    if not isinstance(paths, dict) or set(parsed) != {"path"}:
        raise BadRequest('a JSON policy is {"path": {"<path>": {"capabilities": [...]}}}')
    blocks = []
    for path, rule in paths.items():
        if not isinstance(rule, dict) or set(rule) != {"capabilities"}:
            raise BadRequest(f"path {path!r}: only capabilities map onto a strongroom role")
        caps = rule["capabilities"]
        if not isinstance(caps, list) or not all(isinstance(c, str) for c in caps):
            raise BadRequest(f"path {path!r}: capabilities is a list of names")
        blocks.append((path, caps))
    return blocks


async def _secret_pattern(services: Services, vault_path: str) -> str | None:
    """The strongroom path pattern of a Vault path; None for self-service paths."""
    if vault_path.startswith(_SELF_SERVICE):
        return None
    mount_name, _, rest = vault_path.partition("/")
    mount = await find_mount(services, mount_name)
    if mount is None or not rest:
        raise BadRequest(f"path {vault_path!r} does not map: only KV paths do")
    if mount.version == 1:
        return mount.prefix + rest
    operation, _, secret = rest.partition("/")
    if operation not in _V2_OPERATIONS or not secret:
        raise BadRequest(f"path {vault_path!r} does not map: use {mount_name}/data/<path>")
    return ("" if mount.path == DEFAULT_MOUNT else mount.prefix) + secret


async def policy_rules(services: Services, text: str) -> list[RuleIn]:
    rules: dict[str, set[str]] = {}
    for vault_path, names in parse_policy(text):
        pattern = await _secret_pattern(services, vault_path)
        if pattern is None:
            continue
        unknown = [n for n in names if n not in _CAPABILITY]
        if unknown:
            raise BadRequest(f"path {vault_path!r}: {', '.join(unknown)} does not map")
        rules.setdefault(pattern, set()).update(_CAPABILITY[n] for n in names)
    try:
        return [
            RuleIn.model_validate({"path": path, "capabilities": sorted(caps)})
            for path, caps in rules.items()
            if caps
        ]
    except ValidationError:
        raise BadRequest("a capability list does not map onto a strongroom rule") from None


async def write_policy(services: Services, name: str, body: dict[str, Any]) -> None:
    text = body.get("policy", body.get("rules"))
    if not isinstance(text, str) or not text.strip():
        raise BadRequest("missing policy")
    rules = await policy_rules(services, text)
    description = "from a Vault policy (sys/policies/acl)"
    try:
        try:
            await service.update_role(
                services, name, RoleUpdate(description=description, rules=rules)
            )
        except NotFound:
            await service.create_role(
                services, RoleCreate(name=name, description=description, rules=rules)
            )
    except (InvalidInput, Conflict) as exc:
        raise BadRequest(exc.detail) from None


async def delete_policy(services: Services, name: str) -> None:
    try:
        await service.delete_role(services, name)
    except NotFound:
        return
    except Conflict as exc:
        raise BadRequest(exc.detail) from None
