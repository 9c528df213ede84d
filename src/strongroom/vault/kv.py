"""KV v2 and KV v1 over strongroom secrets.

The KV path is the strongroom path (under `<mount>/` for mounts other than `secret/`); the
data map is the secret's value object; `custom_metadata` is the secret's metadata. Every
operation calls the native secrets services, so roles, audit, the barrier, versions, CAS and
soft delete are the same ones. Differences from Vault are in the README ("Migrating from
Vault"): soft delete applies to the latest version (the secret), and a path written again
after a delete starts a new secret at version 1.
"""

from __future__ import annotations

from typing import Any

import orjson
from sqlalchemy import select

from strongroom.auth.principal import Principal
from strongroom.errors import BadRequest, Conflict, NotFound
from strongroom.policy.rules import Capability
from strongroom.secrets import listing, reading, service
from strongroom.secrets import repository as repo
from strongroom.secrets.access import require
from strongroom.secrets.models import secrets as secrets_table
from strongroom.secrets.paths import normalize_path
from strongroom.secrets.schemas import DestroyRequest, SecretCreate, SecretUpdate
from strongroom.services import Services
from strongroom.timefmt import rfc3339
from strongroom.vault.http import NO_CONTENT, Reply, VaultCall, route
from strongroom.vault.mounts import Mount, find_mount

LIST_PAGE = 1000
LIST_PAGES = 20
_V2_OPERATIONS = frozenset({"data", "delete", "undelete", "destroy", "metadata", "subkeys"})


def strongroom_path(mount: Mount, kv_path: str) -> str:
    if not kv_path:
        raise NotFound("no path")
    return normalize_path(mount.prefix + kv_path, loc=("path", "path"))


def value_of(plaintext: bytes) -> Any:
    """The KV data map of a stored value: objects as they are, a string as {"value": ...}."""
    if plaintext[:1] == b"{":
        return orjson.Fragment(plaintext)
    return {"value": orjson.loads(plaintext)}


def _version_meta(created_at: float, version: int, metadata: str) -> dict[str, Any]:
    custom = orjson.loads(metadata)
    return {
        "created_time": rfc3339(created_at),
        "custom_metadata": custom or None,
        "deletion_time": "",
        "destroyed": False,
        "version": version,
    }


async def _latest(services: Services, path: str) -> repo.SecretRow | None:
    """The newest secret at `path` that is not destroyed: live or soft-deleted."""
    s = secrets_table.c
    query = (
        select(*repo.SECRET_COLUMNS)
        .where(s.path == path, s.destroyed.is_(False))
        .order_by(s.created_at.desc())
        .limit(1)
    )
    async with services.db.read() as conn:
        row = (await conn.execute(query)).first()
    return repo.secret_row(row) if row else None


async def _live(services: Services, path: str) -> repo.SecretRow | None:
    row = await repo.hot_reads(services.db).by_path(path)
    return row.secret if row is not None else None


def _versions(body: dict[str, Any]) -> list[int]:
    versions = body.get("versions")
    if isinstance(versions, int) and not isinstance(versions, bool):
        versions = [versions]
    if isinstance(versions, str):
        versions = versions.split(",")
    if isinstance(versions, list):
        # The CLIs send the numbers as strings (`bao kv destroy -versions=1,2`).
        versions = [
            int(v.strip()) if isinstance(v, str) and v.strip().isdigit() and len(v) < 10 else v
            for v in versions
        ]
    if (
        not isinstance(versions, list)
        or not versions
        or not all(
            isinstance(v, int) and not isinstance(v, bool) and 0 < v < 2**31 for v in versions
        )
    ):
        raise BadRequest("no versions provided")
    return versions


def _cas(body: dict[str, Any]) -> int | None:
    options = body.get("options") or {}
    if not isinstance(options, dict):
        raise BadRequest("options must be an object")
    cas = options.get("cas")
    if cas is None:
        return None
    if isinstance(cas, float) and cas.is_integer():
        cas = int(cas)
    if not isinstance(cas, int) or isinstance(cas, bool) or not 0 <= cas < 2**31:
        raise BadRequest("cas must be a non-negative integer")
    return cas


async def _write(
    call: VaultCall, principal: Principal, path: str, data: dict[str, Any], cas: int | None
) -> service.Written:
    """Create the secret, or write its next version; `cas` 0: only if none exists."""
    services, ctx = call.services, call.ctx
    for _ in range(2):
        live = await _live(services, path)
        if live is not None:
            if cas == 0:
                raise Conflict("exists", code="cas_mismatch")
            update = SecretUpdate(value=data, cas=cas)
            return await service.update_secret(services, principal, live.id, update, ctx)
        if cas not in (None, 0):
            raise Conflict("missing", code="cas_mismatch")
        try:
            return await service.create_secret(
                services, principal, SecretCreate(path=path, value=data), ctx
            )
        except Conflict as exc:
            if exc.code != "path_taken" or cas == 0:
                raise Conflict("exists", code="cas_mismatch") from None
    raise Conflict("the secret changed while it was written; try again")


def _written(written: service.Written) -> dict[str, Any]:
    return _version_meta(written.secret.updated_at, written.version, written.secret.metadata)


def _data_map(body: dict[str, Any]) -> dict[str, Any]:
    data = body.get("data")
    if not isinstance(data, dict):
        raise BadRequest("no data provided")
    return data


# --- KV v2 ---------------------------------------------------------------------------------


async def _read_v2(call: VaultCall, principal: Principal, path: str) -> Reply:
    services, ctx = call.services, call.ctx
    raw_version = call.query.get("version", "")
    if raw_version in ("", "0"):
        revealed = await reading.read_by_path(services, principal, path, ctx)
    else:
        if not raw_version.isdigit() or len(raw_version) > 9:
            raise BadRequest("invalid version")
        require(services, principal, Capability.read, path)
        live = await _live(services, path)
        if live is None:
            raise NotFound("no live secret at this path")
        revealed = await reading.read_by_id(services, principal, live.id, int(raw_version), ctx)
    row = revealed.row
    return Reply(
        data={
            "data": value_of(revealed.plaintext),
            "metadata": _version_meta(row.version_created_at, row.version, row.secret.metadata),
        }
    )


def _merge(target: Any, patch: Any) -> Any:
    """RFC 7386 JSON merge patch."""
    if not isinstance(patch, dict):
        return patch
    merged = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            merged.pop(key, None)
        else:
            merged[key] = _merge(merged.get(key), value)
    return merged


async def _patch_v2(call: VaultCall, principal: Principal, path: str) -> Reply:
    services, ctx = call.services, call.ctx
    patch = _data_map(call.body)
    revealed = await reading.read_by_path(services, principal, path, ctx)
    current = orjson.loads(revealed.plaintext)
    if not isinstance(current, dict):
        current = {"value": current}
    cas = _cas(call.body)
    expected = revealed.row.version if cas is None else cas
    update = SecretUpdate(value=_merge(current, patch), cas=expected)
    written = await service.update_secret(services, principal, revealed.row.secret.id, update, ctx)
    return Reply(data=_written(written))


async def _metadata_v2(call: VaultCall, principal: Principal, path: str) -> Reply:
    services = call.services
    require(services, principal, Capability.read, path)
    secret = await _latest(services, path)
    if secret is None:
        raise NotFound("no secret at this path")
    _, rows, _ = await listing.list_versions(
        services, principal, secret.id, limit=LIST_PAGE, cursor=None
    )
    deleted = rfc3339(secret.deleted_at) or ""
    versions = {
        str(row.version): {
            "created_time": rfc3339(row.created_at),
            "deletion_time": deleted if row.version == secret.current_version else "",
            "destroyed": not row.has_ciphertext,
        }
        for row in rows
    }
    after = ""
    if secret.expires_at is not None:
        after = f"{max(0, round(secret.expires_at - secret.updated_at))}s"
    return Reply(
        data={
            "cas_required": False,
            "created_time": rfc3339(secret.created_at),
            "current_version": secret.current_version,
            "custom_metadata": orjson.loads(secret.metadata) or None,
            "delete_version_after": after or "0s",
            "max_versions": services.settings.secrets.max_versions,
            "oldest_version": min((row.version for row in rows), default=0),
            "updated_time": rfc3339(secret.updated_at),
            "versions": versions,
        }
    )


async def _list(call: VaultCall, principal: Principal, mount: Mount, kv_path: str) -> Reply:
    prefix = mount.prefix + kv_path.strip("/")
    if prefix and not prefix.endswith("/"):
        prefix += "/"
    keys: dict[str, None] = {}
    cursor = None
    for _ in range(LIST_PAGES):
        rows, cursor = await listing.list_secrets(
            call.services, principal, prefix=prefix, limit=LIST_PAGE, cursor=cursor, filters={}
        )
        for row in rows:
            first, separator, _ = row.path[len(prefix) :].partition("/")
            keys[first + "/" if separator else first] = None
        if cursor is None:
            break
    if not keys:
        raise NotFound("nothing under this path")
    return Reply(data={"keys": list(keys)})


async def _secret_or_404(services: Services, path: str) -> repo.SecretRow:
    secret = await _latest(services, path)
    if secret is None:
        raise NotFound("no secret at this path")
    return secret


async def _v2(call: VaultCall, mount: Mount, rest: str) -> Reply:
    operation, _, kv_path = rest.partition("/")
    method = call.method
    if operation == "config" and not kv_path:
        await call.caller()
        max_versions = call.services.settings.secrets.max_versions
        return Reply(
            data={"cas_required": False, "delete_version_after": "0s", "max_versions": max_versions}
        )
    if operation not in _V2_OPERATIONS:
        raise NotFound("unknown KV v2 operation")
    principal = await call.caller()
    if operation == "metadata" and method == "LIST":
        return await _list(call, principal, mount, kv_path)
    path = strongroom_path(mount, kv_path)
    services, ctx = call.services, call.ctx
    if operation == "data":
        if method == "GET":
            return await _read_v2(call, principal, path)
        if method == "POST":
            written = await _write(call, principal, path, _data_map(call.body), _cas(call.body))
            return Reply(data=_written(written))
        if method == "PATCH":
            return await _patch_v2(call, principal, path)
        if method == "DELETE":
            live = await _live(services, path)
            if live is not None:
                await service.delete_secret(services, principal, live.id, ctx)
            return NO_CONTENT
    elif operation == "subkeys" and method == "GET":
        revealed = await reading.read_by_path(services, principal, path, ctx)
        row = revealed.row
        return Reply(
            data={
                "subkeys": _subkeys(orjson.loads(revealed.plaintext)),
                "metadata": _version_meta(row.version_created_at, row.version, row.secret.metadata),
            }
        )
    elif operation == "metadata":
        if method == "GET":
            return await _metadata_v2(call, principal, path)
        if method == "DELETE":
            secret = await _latest(services, path)
            if secret is not None:
                await service.destroy_secret(services, principal, secret.id, DestroyRequest(), ctx)
            return NO_CONTENT
        if method == "POST":
            return await _write_metadata(call, principal, path)
    elif method == "POST":
        return await _version_operation(call, principal, operation, path)
    raise _method_not_allowed()


def _method_not_allowed() -> Exception:
    from strongroom.vault.http import _MethodNotAllowed

    return _MethodNotAllowed()


async def _version_operation(
    call: VaultCall, principal: Principal, operation: str, path: str
) -> Reply:
    services, ctx = call.services, call.ctx
    versions = _versions(call.body)
    secret = await _latest(services, path)
    if secret is None:
        if operation == "destroy":
            return NO_CONTENT
        raise NotFound("no secret at this path")
    if operation == "delete":
        if secret.deleted_at is not None:
            return NO_CONTENT
        if secret.current_version not in versions:
            raise BadRequest(
                "strongroom soft-deletes the latest version only (the secret); "
                "destroy older versions instead"
            )
        await service.delete_secret(services, principal, secret.id, ctx)
    elif operation == "undelete":
        if secret.deleted_at is not None and secret.current_version in versions:
            await service.undelete_secret(services, principal, secret.id, ctx)
        else:
            require(services, principal, Capability.delete, secret.path)
    else:
        known = [v for v in versions if 0 < v <= secret.current_version]
        if known:
            request = DestroyRequest(versions=known)
            await service.destroy_secret(services, principal, secret.id, request, ctx)
    return NO_CONTENT


async def _write_metadata(call: VaultCall, principal: Principal, path: str) -> Reply:
    """Only what maps: `custom_metadata` needs a write of the value (a new version)."""
    unsupported = set(call.body) - {"custom_metadata", "max_versions", "cas_required"}
    if unsupported or call.body.get("max_versions") or call.body.get("cas_required"):
        raise BadRequest(
            "strongroom does not keep per-secret max_versions, cas_required or "
            "delete_version_after (set secrets.max_versions; use a TTL through /api/v1)"
        )
    require(call.services, principal, Capability.update, path)
    raise BadRequest(
        "custom_metadata is strongroom metadata: write it with the value through "
        "/api/v1/secrets (metadata is versioned with the value there)"
    )


def _subkeys(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _subkeys(v) if isinstance(v, dict) else None for k, v in value.items()}
    return {"value": None}


# --- KV v1 ---------------------------------------------------------------------------------


async def _v1(call: VaultCall, mount: Mount, kv_path: str) -> Reply:
    principal = await call.caller()
    services, ctx = call.services, call.ctx
    if call.method == "LIST":
        return await _list(call, principal, mount, kv_path)
    path = strongroom_path(mount, kv_path)
    if call.method == "GET":
        revealed = await reading.read_by_path(services, principal, path, ctx)
        return Reply(data=value_of(revealed.plaintext))
    if call.method == "POST":
        await _write(call, principal, path, call.body, None)
        return NO_CONTENT
    if call.method == "DELETE":
        live = await _live(services, path)
        if live is not None:
            await service.destroy_secret(services, principal, live.id, DestroyRequest(), ctx)
        return NO_CONTENT
    raise _method_not_allowed()


@route("{mount}", "LIST", "GET")
@route("{mount}/{rest:path}", "GET", "POST", "PATCH", "DELETE", "LIST")
async def kv(call: VaultCall) -> Reply:
    mount = await find_mount(call.services, call.params["mount"])
    if mount is None:
        raise NotFound("no handler for route")
    rest = call.params.get("rest", "")
    if mount.version == 1:
        return await _v1(call, mount, rest)
    if not rest:
        raise NotFound("no handler for route")
    return await _v2(call, mount, rest)
