"""Response wrapping: `X-Vault-Wrap-TTL` on a request puts its answer behind a single-use
wrapping token; `sys/wrapping/unwrap` hands it out once.

The wrapped answer is sealed by the barrier (bound to its accessor) and stored under the
SHA-256 of the wrapping token; unwrapping deletes the row, and only the request whose delete
took it gets the answer, so a second unwrap (even a concurrent one) fails.
"""

from __future__ import annotations

import secrets
from typing import Any

import orjson
from sqlalchemy import delete, insert, select

from strongroom.crypto import KeyPurpose, new_token, token_hash
from strongroom.db import now
from strongroom.errors import BadRequest
from strongroom.services import Services
from strongroom.timefmt import rfc3339
from strongroom.vault.http import Reply, VaultCall, envelope, route
from strongroom.vault.models import vault_wrapped
from strongroom.vault.tokens import duration

WRAP_PREFIX = "srw_"
DEFAULT_WRAP_TTL = 300
MAX_WRAP_TTL = 30 * 86400
INVALID_WRAPPING_TOKEN = "wrapping token is not valid or does not exist"


def wrap_ttl_of(call: VaultCall) -> int | None:
    raw = call.request.headers.get("x-vault-wrap-ttl")
    if raw is None or raw.strip() == "":
        return None
    ttl = duration(raw, "X-Vault-Wrap-TTL")
    if not 1 <= ttl <= MAX_WRAP_TTL:
        raise BadRequest(f"X-Vault-Wrap-TTL must be between 1 s and {MAX_WRAP_TTL} s")
    return ttl


def _binding(accessor: str) -> bytes:
    return f"wrapped:{accessor}".encode()


async def wrap_body(call: VaultCall, body: dict[str, Any], ttl: int) -> dict[str, Any]:
    """Store `body` (the answer's data and auth) behind a new wrapping token."""
    services = call.services
    token = new_token(WRAP_PREFIX)
    accessor = secrets.token_hex(12)
    plaintext = orjson.dumps(body, option=orjson.OPT_NON_STR_KEYS)
    sealed = services.barrier.seal_value(plaintext, _binding(accessor))
    stamp = now()
    path = call.path
    async with services.db.begin() as conn:
        await conn.execute(
            insert(vault_wrapped).values(
                token_hash=token_hash(token),
                accessor=accessor,
                ciphertext=sealed.ciphertext,
                wrapped_key=sealed.wrapped_key,
                creation_path=path,
                created_at=stamp,
                expires_at=stamp + ttl,
            )
        )
    wrapped = envelope(call.ctx, Reply())
    wrapped["wrap_info"] = {
        "token": token,
        "accessor": accessor,
        "ttl": ttl,
        "creation_time": rfc3339(stamp),
        "creation_path": path,
        "wrapped_accessor": "",
    }
    return wrapped


async def wrap_reply(call: VaultCall, reply: Reply, ttl: int) -> dict[str, Any]:
    # Fragments (values embedded as raw JSON) are encoded by orjson like any value.
    body = {"data": reply.data, "auth": reply.auth, "lease_duration": reply.lease_duration}
    return await wrap_body(call, body, ttl)


def _wrapping_token(call: VaultCall) -> tuple[str, bool]:
    """The wrapping token (from the body, else the request's token) and whether the
    request's own token must be checked (the body named a different one)."""
    given = call.body.get("token")
    own = call.token()
    if isinstance(given, str) and given:
        return given, own is not None and own != given
    if own is None:
        raise BadRequest(INVALID_WRAPPING_TOKEN)
    return own, False


async def _note(call: VaultCall, token: str, check_caller: bool) -> None:
    ctx, services = call.ctx, call.services
    ctx.audit_anyway = True
    if not services.barrier.sealed:
        ctx.token_hmac = services.barrier.keyring.mac(KeyPurpose.audit, token.encode())
    if check_caller:
        await call.caller()


async def _take(services: Services, token: str) -> tuple[str, bytes, bytes] | None:
    """The wrapped row, deleted: None if unknown, expired or already taken."""
    if not token.startswith(WRAP_PREFIX) or len(token) > 128:
        return None
    hashed = token_hash(token)
    stamp = now()
    async with services.db.begin() as conn:
        row = (
            await conn.execute(
                select(
                    vault_wrapped.c.accessor,
                    vault_wrapped.c.ciphertext,
                    vault_wrapped.c.wrapped_key,
                    vault_wrapped.c.expires_at,
                ).where(vault_wrapped.c.token_hash == hashed)
            )
        ).first()
        if row is None:
            return None
        taken = await conn.execute(
            delete(vault_wrapped).where(vault_wrapped.c.token_hash == hashed)
        )
        if taken.rowcount != 1 or row[3] <= stamp:
            return None
    return str(row[0]), bytes(row[1]), bytes(row[2])


@route("sys/wrapping/unwrap", "POST")
async def unwrap(call: VaultCall) -> Reply:
    token, check_caller = _wrapping_token(call)
    await _note(call, token, check_caller)
    taken = await _take(call.services, token)
    if taken is None:
        raise BadRequest(INVALID_WRAPPING_TOKEN)
    accessor, ciphertext, wrapped_key = taken
    plaintext = await call.services.barrier.open_value(ciphertext, wrapped_key, _binding(accessor))
    body = orjson.loads(plaintext)
    answer = envelope(call.ctx, Reply(data=body.get("data"), auth=body.get("auth")))
    answer["lease_duration"] = body.get("lease_duration", 0)
    return Reply(raw=answer)


@route("sys/wrapping/lookup", "GET", "POST")
async def lookup(call: VaultCall) -> Reply:
    token, check_caller = _wrapping_token(call)
    await _note(call, token, check_caller)
    if not token.startswith(WRAP_PREFIX):
        raise BadRequest(INVALID_WRAPPING_TOKEN)
    async with call.services.db.read() as conn:
        row = (
            await conn.execute(
                select(
                    vault_wrapped.c.creation_path,
                    vault_wrapped.c.created_at,
                    vault_wrapped.c.expires_at,
                ).where(vault_wrapped.c.token_hash == token_hash(token))
            )
        ).first()
    if row is None or row[2] <= now():
        raise BadRequest(INVALID_WRAPPING_TOKEN)
    return Reply(
        data={
            "creation_path": row[0],
            "creation_time": rfc3339(row[1]),
            "creation_ttl": round(row[2] - row[1]),
        }
    )


@route("sys/wrapping/wrap", "POST")
async def wrap(call: VaultCall) -> Reply:
    await call.caller()
    ttl = wrap_ttl_of(call) or DEFAULT_WRAP_TTL
    return Reply(raw=await wrap_body(call, {"data": call.body, "auth": None}, ttl))


async def sweep_wrapped(services: Services, at: float) -> int:
    """Delete expired wrapped answers (and AppRole secret ids)."""
    from strongroom.vault.approle_repository import sweep_secret_ids

    async with services.db.begin() as conn:
        result = await conn.execute(delete(vault_wrapped).where(vault_wrapped.c.expires_at <= at))
        ids = await sweep_secret_ids(conn, at)
    return int(result.rowcount or 0) + ids


__all__ = ["sweep_wrapped"]
