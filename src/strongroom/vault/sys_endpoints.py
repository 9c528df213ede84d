"""Vault's `sys/` paths: health, seal status, leader, mounts, the UI mount lookup that `bao kv`
asks first, policies (strongroom roles), capabilities, auth methods and audit devices."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from strongroom import __version__
from strongroom.errors import BadRequest, Forbidden, NotFound
from strongroom.policy.rules import ADMIN, SYSTEM_READERS
from strongroom.secrets.access import role_of
from strongroom.vault.http import NO_CONTENT, Reply, VaultCall, route
from strongroom.vault.mounts import (
    DEFAULT_MOUNT,
    Mount,
    all_mounts,
    check_mount_name,
    create_mount,
    delete_mount,
    find_mount,
)

AUTH_METHODS = {
    "token/": ("token", "token based credentials"),
    "userpass/": ("userpass", "strongroom users and passwords"),
    "approle/": ("approle", "machine logins with role_id and secret_id"),
    "github/": ("github", "strongroom's GitHub login"),
}


def _flag(call: VaultCall, name: str, default: int) -> int:
    raw = call.query.get(name)
    if raw is None:
        return default
    if not raw.isdigit() or not 100 <= int(raw) <= 599:
        raise BadRequest(f"invalid {name}")
    return int(raw)


@route("sys/health", "GET")
async def health(call: VaultCall) -> Reply:
    """Vault's codes: 200 active (every strongroom node is active), 501 not initialised,
    503 sealed; the query flags change the codes."""
    services = call.services
    sealed = services.barrier.sealed
    database, store = await asyncio.gather(services.db.ping(), services.store.ping())
    initialised = await services.barrier.refresh_initialised() if database else True
    if not initialised:
        status = _flag(call, "uninitcode", 501)
    elif sealed:
        status = _flag(call, "sealedcode", 503)
    elif not (database and store):
        status = 503
    else:
        status = _flag(call, "activecode", 200)
    body = {
        "initialized": initialised,
        "sealed": sealed,
        "standby": False,
        "performance_standby": False,
        "replication_performance_mode": "disabled",
        "replication_dr_mode": "disabled",
        "server_time_utc": int(time.time()),
        "version": __version__,
        "cluster_name": services.settings.general.cluster_name,
        "cluster_id": "",
    }
    return Reply(raw=body, status=status)


async def _seal_status(call: VaultCall) -> dict[str, Any]:
    from strongroom.seal.endpoints import keeper_of

    services = call.services
    state = await keeper_of(services).state()
    return {
        "type": state.seal_type,
        "initialized": state.initialised,
        "sealed": state.sealed,
        "t": state.threshold,
        "n": state.shares,
        "progress": state.progress,
        "nonce": state.nonce,
        "version": __version__,
        "build_date": "",
        "migration": False,
        "cluster_name": services.settings.general.cluster_name,
        "cluster_id": "",
        "recovery_seal": False,
        "storage_type": "sqlite" if services.db.is_sqlite else "postgresql",
    }


@route("sys/init", "GET")
async def init_status(call: VaultCall) -> Reply:
    """Whether a keyring exists (`strongroom operator init` makes one on production seals)."""
    return Reply(raw={"initialized": await call.services.barrier.refresh_initialised()})


@route("sys/seal-status", "GET")
async def seal_status(call: VaultCall) -> Reply:
    return Reply(raw=await _seal_status(call))


@route("sys/leader", "GET")
async def leader(call: VaultCall) -> Reply:
    return Reply(
        raw={
            "ha_enabled": False,
            "is_self": True,
            "active_time": "0001-01-01T00:00:00Z",
            "leader_address": "",
            "leader_cluster_address": "",
            "performance_standby": False,
            "performance_standby_last_remote_wal": 0,
        }
    )


def _mount_info(mount: Mount) -> dict[str, Any]:
    return {
        "type": "kv",
        "description": mount.description,
        "options": {"version": str(mount.version)},
        "config": {"default_lease_ttl": 0, "max_lease_ttl": 0, "force_no_cache": False},
        "local": False,
        "seal_wrap": False,
        "external_entropy_access": False,
        "accessor": f"kv_{mount.path}",
        "uuid": "",
        "plugin_version": "",
        "running_plugin_version": "",
        "running_sha256": "",
    }


@route("sys/mounts", "GET")
async def list_mounts(call: VaultCall) -> Reply:
    await call.caller()
    mounts = {f"{m.path}/": _mount_info(m) for m in await all_mounts(call.services)}
    return Reply(data=mounts)


async def _admin(call: VaultCall) -> None:
    if (await call.caller()).role != ADMIN:
        raise Forbidden("permission denied")


@route("sys/mounts/{path:path}", "POST")
async def enable_mount(call: VaultCall) -> Reply:
    await _admin(call)
    name = check_mount_name(call.params["path"])
    kind = call.body.get("type")
    options = call.body.get("options") or {}
    if not isinstance(options, dict):
        raise BadRequest("options must be an object")
    version = str(options.get("version", "1"))
    if kind == "kv-v2":
        version = "2"
    elif kind != "kv":
        raise BadRequest(f"strongroom mounts only KV secrets engines, not {kind!r}")
    if version not in ("1", "2"):
        raise BadRequest("options.version is 1 or 2")
    description = call.body.get("description") or ""
    if not isinstance(description, str):
        raise BadRequest("description must be a string")
    await create_mount(call.services, name, int(version), description)
    return NO_CONTENT


@route("sys/mounts/{path:path}", "DELETE")
async def disable_mount(call: VaultCall) -> Reply:
    await _admin(call)
    name = call.params["path"].strip("/").lower()
    if name == DEFAULT_MOUNT:
        raise BadRequest("secret/ is strongroom's own namespace and cannot be unmounted")
    await delete_mount(call.services, name)
    return NO_CONTENT


@route("sys/internal/ui/mounts/{path:path}", "GET")
async def ui_mount(call: VaultCall) -> Reply:
    """What `bao kv` asks first: which mount a path is under, and its KV version."""
    await call.caller()
    first = call.params["path"].strip("/").partition("/")[0]
    mount = await find_mount(call.services, first)
    if mount is None:
        raise Forbidden("preflight capability check returned 403")
    info = _mount_info(mount)
    info["path"] = f"{mount.path}/"
    return Reply(data=info)


@route("sys/internal/ui/mounts", "GET")
async def ui_mounts(call: VaultCall) -> Reply:
    await call.caller()
    mounts = {f"{m.path}/": _mount_info(m) for m in await all_mounts(call.services)}
    return Reply(data={"secret": mounts, "auth": _auth_methods()})


def _auth_methods() -> dict[str, Any]:
    return {
        path: {"type": kind, "description": text, "accessor": f"auth_{kind}", "local": False}
        for path, (kind, text) in AUTH_METHODS.items()
    }


@route("sys/auth", "GET")
async def auth_methods(call: VaultCall) -> Reply:
    await call.caller()
    return Reply(data=_auth_methods())


@route("sys/audit", "GET")
async def audit_devices(call: VaultCall) -> Reply:
    principal = await call.caller()
    if principal.role not in SYSTEM_READERS:
        raise Forbidden("permission denied")
    devices = {
        f"{sink}/": {"type": sink, "description": "", "options": {}, "local": False}
        for sink in (s.name for s in call.services.audit.sinks)
    }
    return Reply(data=devices)


@route("sys/policies/acl", "LIST")
@route("sys/policy", "GET")
async def list_policies(call: VaultCall) -> Reply:
    await call.caller()
    names = sorted(call.services.runtime.roles)
    return Reply(data={"keys": names, "policies": names})


def _hcl(rules: list[tuple[str, list[str]]]) -> str:
    blocks = []
    for path, capabilities in rules:
        caps = ", ".join(f'"{c}"' for c in capabilities)
        blocks.append(f'path "secret/data/{path}" {{\n  capabilities = [{caps}]\n}}')
    return "\n\n".join(blocks)


@route("sys/policies/acl/{name}", "GET")
@route("sys/policy/{name}", "GET")
async def read_policy(call: VaultCall) -> Reply:
    principal = await call.caller()
    name = call.params["name"]
    if principal.role not in SYSTEM_READERS and principal.role != name:
        raise Forbidden("permission denied")
    role = call.services.runtime.roles.get(name)
    if role is None:
        raise NotFound("no such policy")
    if role.is_admin:
        text = (
            'path "*" {\n  capabilities = ["create", "read", "update", "delete", "list", "sudo"]\n}'
        )
    else:
        text = _hcl([(r.path, sorted(c.value for c in r.capabilities)) for r in role.rules])
    return Reply(data={"name": name, "policy": text, "rules": text})


@route("sys/policies/acl/{name}", "POST", "DELETE")
@route("sys/policy/{name}", "POST", "DELETE")
async def write_policy(call: VaultCall) -> Reply:
    await _admin(call)
    raise BadRequest(
        "strongroom policies are roles: define them through /api/v1/roles "
        "(Vault HCL policies are not translated)"
    )


def _kv_secret_path(vault_path: str) -> str | None:
    """The strongroom path a Vault path names for capability checks (KV v2 under secret/)."""
    parts = vault_path.strip("/").split("/", 2)
    if len(parts) == 3 and parts[0] == DEFAULT_MOUNT and parts[1] in ("data", "metadata"):
        return parts[2]
    return None


@route("sys/capabilities-self", "POST")
async def capabilities_self(call: VaultCall) -> Reply:
    principal = await call.caller()
    paths = call.body.get("paths") or call.body.get("path")
    if isinstance(paths, str):
        paths = [paths]
    if not isinstance(paths, list) or not all(isinstance(p, str) for p in paths):
        raise BadRequest("paths must be a list of strings")
    role = role_of(call.services, principal)
    answer: dict[str, Any] = {}
    for path in paths[:100]:
        secret_path = _kv_secret_path(path)
        if role.is_admin:
            caps = ["root"]
        elif secret_path is None:
            caps = ["deny"]
        else:
            granted = role.capabilities(secret_path, principal.username)
            caps = sorted(c.value for c in granted) or ["deny"]
        answer[path] = caps
    if len(answer) == 1:
        answer["capabilities"] = next(iter(answer.values()))
    return Reply(data=answer)
