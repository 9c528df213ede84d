"""Vault's auth methods: userpass (strongroom users), GitHub (strongroom's GitHub login) and
AppRole (machines).

userpass and GitHub logins run the native login services unchanged (lock-out, dummy hash,
audit), then give the session the renewable refresh token of /v1/ sessions (tokens.py).

An AppRole is a strongroom user without a password (`approle-<name>`) whose role is the
AppRole's policy; its `secret_id`s are 256-bit random values stored as HMAC-SHA256 under the
keyring's signing key (no Argon2: at that entropy slow hashing adds nothing), with their own
number of uses, TTL and CIDR binding. A login takes one use atomically and opens a session of
the role's user with the role's token TTL, uses and binding.
"""

from __future__ import annotations

import ipaddress
import secrets
import uuid
from typing import Any

import orjson
from pydantic import ValidationError
from sqlalchemy.exc import IntegrityError

from strongroom.auth import login
from strongroom.auth.principal import Principal
from strongroom.auth.schemas import TokenRequest
from strongroom.crypto import KeyPurpose, token_hash
from strongroom.db import now
from strongroom.db.base import new_id
from strongroom.errors import BadRequest, Forbidden, NotFound
from strongroom.policy.rules import ADMIN
from strongroom.services import Services
from strongroom.users import repository as users_repo
from strongroom.users.repository import UserRow
from strongroom.vault import approle_repository as repo
from strongroom.vault.http import NO_CONTENT, Reply, VaultCall, route
from strongroom.vault.tokens import (
    adopt_session,
    auth_block,
    duration,
    open_vault_session,
    single_address,
)

INVALID_APPROLE = "invalid role or secret ID"
ROLE_NAME_CHARS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789_-")
SECRET_ID_BYTES = 32


async def _session_reply(call: VaultCall, access: str, refresh: str | None) -> Reply:
    services = call.services
    await adopt_session(services, access, refresh)
    info = await services.store.lookup(token_hash(access), now())
    if info is None:
        raise Forbidden("permission denied")
    return Reply(auth=auth_block(access, info))


@route("auth/userpass/login/{username}", "POST")
async def userpass_login(call: VaultCall) -> Reply:
    password = call.body.get("password")
    if not isinstance(password, str) or not password:
        raise BadRequest("missing password")
    try:
        form = TokenRequest.model_validate(
            {"grant_type": "password", "username": call.params["username"], "password": password}
        )
    except ValidationError:
        raise BadRequest(login.BAD_CREDENTIALS) from None
    user_agent = call.request.headers.get("user-agent")
    response = await login.password_login(call.services, form, call.ctx, user_agent)
    return await _session_reply(call, response.access_token, response.refresh_token)


@route("auth/github/login", "POST")
async def github_login(call: VaultCall) -> Reply:
    from strongroom.auth.schemas import SessionOptions
    from strongroom.github.service import github_token_login

    token = call.body.get("token")
    if not isinstance(token, str) or not token:
        raise BadRequest("missing token")
    user_agent = call.request.headers.get("user-agent")
    response = await github_token_login(
        call.services, token, SessionOptions(), call.ctx, user_agent
    )
    return await _session_reply(call, response.access_token, response.refresh_token)


# --- AppRole -------------------------------------------------------------------------------


async def _admin(call: VaultCall) -> Principal:
    principal = await call.caller()
    if principal.role != ADMIN:
        raise Forbidden("permission denied")
    return principal


def _role_name(call: VaultCall) -> str:
    name = call.params["name"].lower()
    if not 1 <= len(name) <= 56 or not set(name) <= ROLE_NAME_CHARS:
        raise BadRequest("a role name is 1-56 characters of a-z, 0-9, '_', '-'")
    return name


def _cidrs(value: object, name: str) -> str:
    entries = [value] if isinstance(value, str) else (value or [])
    if isinstance(value, str):
        entries = [part for part in value.split(",") if part.strip()]
    if not isinstance(entries, list):
        raise BadRequest(f"{name} must be a list of CIDRs")
    checked = []
    for entry in entries:
        try:
            checked.append(str(ipaddress.ip_network(str(entry).strip(), strict=False)))
        except ValueError:
            raise BadRequest(f"{name}: {entry!r} is not a CIDR") from None
    return orjson.dumps(checked).decode()


def _count(value: object, name: str) -> int:
    if value in (None, ""):
        return 0
    if isinstance(value, str) and value.isdigit():
        value = int(value)
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value < 2**31:
        raise BadRequest(f"{name} must be a non-negative integer")
    return value


def _policy(call: VaultCall, body: dict[str, Any]) -> str:
    policies = body.get("token_policies", body.get("policies"))
    names = [policies] if isinstance(policies, str) else (policies or [])
    wanted = [n for n in names if isinstance(n, str) and n not in ("default", "")]
    if len(set(wanted)) != 1:
        raise BadRequest("an AppRole carries exactly one policy (a strongroom role)")
    role = wanted[0]
    if role == ADMIN or role not in call.services.runtime.roles:
        raise BadRequest(f"policy {role!r} is not a strongroom role an AppRole may hold")
    return role


def _role_settings(call: VaultCall, existing: repo.AppRole | None, user_id: str) -> repo.AppRole:
    body = call.body

    def pick(name: str, parse: Any, default: Any) -> Any:
        return parse(body[name], name) if name in body else default

    return repo.AppRole(
        name=_role_name(call),
        role_id=existing.role_id if existing else str(uuid.uuid4()),
        user_id=user_id,
        secret_id_num_uses=pick(
            "secret_id_num_uses", _count, existing.secret_id_num_uses if existing else 0
        ),
        secret_id_ttl=pick("secret_id_ttl", duration, existing.secret_id_ttl if existing else 0),
        token_ttl=pick("token_ttl", duration, existing.token_ttl if existing else 0),
        token_num_uses=pick("token_num_uses", _count, existing.token_num_uses if existing else 0),
        secret_id_bound_cidrs=pick(
            "secret_id_bound_cidrs", _cidrs, existing.secret_id_bound_cidrs if existing else "[]"
        ),
        token_bound_cidrs=pick(
            "token_bound_cidrs", _cidrs, existing.token_bound_cidrs if existing else "[]"
        ),
        created_at=existing.created_at if existing else now(),
    )


@route("auth/approle/role/{name}", "POST")
async def write_role(call: VaultCall) -> Reply:
    await _admin(call)
    name = _role_name(call)
    services = call.services
    async with services.db.begin() as conn:
        existing = await repo.role_by_name(conn, name)
        if existing is None:
            policy = _policy(call, call.body)
            user = await _machine_user(conn, name, policy)
            await repo.insert_role(conn, _role_settings(call, None, user.id))
        else:
            role = _role_settings(call, existing, existing.user_id)
            single_address(orjson.loads(role.token_bound_cidrs) or None, "token_bound_cidrs")
            await repo.update_role(conn, role)
            if "token_policies" in call.body or "policies" in call.body:
                await users_repo.update_user(
                    conn, existing.user_id, role=_policy(call, call.body), updated_at=now()
                )
    return NO_CONTENT


async def _machine_user(conn: Any, name: str, policy: str) -> UserRow:
    username = f"approle-{name}"
    if await users_repo.get_by_username(conn, username) is not None:
        raise BadRequest(f"a user named {username!r} already exists")
    stamp = now()
    user = UserRow(new_id(), username, None, policy, None, None, None, False, stamp, stamp)
    try:
        await users_repo.insert_user(conn, user)
    except IntegrityError:
        raise BadRequest(f"a user named {username!r} already exists") from None
    return user


@route("auth/approle/role/{name}", "GET")
async def read_role(call: VaultCall) -> Reply:
    await _admin(call)
    async with call.services.db.read() as conn:
        role = await repo.role_by_name(conn, _role_name(call))
        user = await users_repo.get_by_id(conn, role.user_id) if role else None
    if role is None or user is None:
        raise NotFound("no such role")
    return Reply(
        data={
            "token_policies": [user.role],
            "policies": [user.role],
            "secret_id_num_uses": role.secret_id_num_uses,
            "secret_id_ttl": role.secret_id_ttl,
            "token_ttl": role.token_ttl,
            "token_num_uses": role.token_num_uses,
            "secret_id_bound_cidrs": orjson.loads(role.secret_id_bound_cidrs),
            "token_bound_cidrs": orjson.loads(role.token_bound_cidrs),
            "bind_secret_id": True,
        }
    )


@route("auth/approle/role/{name}", "DELETE")
async def delete_role(call: VaultCall) -> Reply:
    await _admin(call)
    async with call.services.db.begin() as conn:
        role = await repo.role_by_name(conn, _role_name(call))
        if role is not None:
            await repo.delete_role(conn, role.name)
            await users_repo.delete_user(conn, role.user_id)
    if role is not None:
        await call.services.store.revoke_user_sessions(role.user_id)
    return NO_CONTENT


@route("auth/approle/role", "LIST")
async def list_roles(call: VaultCall) -> Reply:
    await _admin(call)
    async with call.services.db.read() as conn:
        names = await repo.role_names(conn)
    if not names:
        raise NotFound("no roles")
    return Reply(data={"keys": names})


@route("auth/approle/role/{name}/role-id", "GET")
async def read_role_id(call: VaultCall) -> Reply:
    await _admin(call)
    async with call.services.db.read() as conn:
        role = await repo.role_by_name(conn, _role_name(call))
    if role is None:
        raise NotFound("no such role")
    return Reply(data={"role_id": role.role_id})


def secret_hmac(services: Services, secret_id: str) -> str:
    return services.barrier.keyring.mac(KeyPurpose.signing, f"approle\0{secret_id}".encode())


@route("auth/approle/role/{name}/secret-id", "POST")
async def generate_secret_id(call: VaultCall) -> Reply:
    await _admin(call)
    services = call.services
    secret = secrets.token_hex(SECRET_ID_BYTES)
    accessor = secrets.token_hex(16)
    stamp = now()
    cidrs = _cidrs(call.body.get("cidr_list"), "cidr_list")
    async with services.db.begin() as conn:
        role = await repo.role_by_name(conn, _role_name(call))
        if role is None:
            raise NotFound("no such role")
        ttl = duration(call.body["ttl"], "ttl") if "ttl" in call.body else role.secret_id_ttl
        uses = _count(call.body.get("num_uses"), "num_uses") or role.secret_id_num_uses
        if cidrs == "[]":
            cidrs = role.secret_id_bound_cidrs
        await repo.insert_secret_id(
            conn,
            secret_hmac=secret_hmac(services, secret),
            accessor=accessor,
            role_name=role.name,
            uses_left=uses or None,
            expires_at=stamp + ttl if ttl else None,
            cidrs=cidrs,
            created_at=stamp,
        )
    return Reply(
        data={
            "secret_id": secret,
            "secret_id_accessor": accessor,
            "secret_id_ttl": ttl,
            "secret_id_num_uses": uses,
        }
    )


def _allowed_from(cidrs: str, client_ip: str | None) -> bool:
    networks = orjson.loads(cidrs)
    if not networks:
        return True
    if client_ip is None:
        return False
    address = ipaddress.ip_address(client_ip)
    return any(address in ipaddress.ip_network(n) for n in networks)


@route("auth/approle/login", "POST")
async def approle_login(call: VaultCall) -> Reply:
    services = call.services
    ctx = call.ctx
    role_id, secret = call.body.get("role_id"), call.body.get("secret_id")
    if not isinstance(role_id, str) or not role_id or len(role_id) > 64:
        raise BadRequest("missing role_id")
    if not isinstance(secret, str) or not secret or len(secret) > 256:
        raise BadRequest("missing secret_id")
    stamp = now()
    mac = secret_hmac(services, secret)
    async with services.db.begin() as conn:
        role = await repo.role_by_role_id(conn, role_id)
        row = await repo.secret_id(conn, mac, stamp)
        usable = (
            role is not None
            and row is not None
            and row.role_name == role.name
            and _allowed_from(row.cidrs, ctx.client_ip)
            and (row.uses_left is None or await repo.consume_use(conn, mac, stamp))
        )
        user = await users_repo.get_by_id(conn, role.user_id) if usable and role else None
    if not usable or role is None or user is None or user.disabled:
        ctx.auth_failed = True
        if role is not None:
            ctx.attempted_username = f"approle-{role.name}"
        raise BadRequest(INVALID_APPROLE)
    bound = orjson.loads(role.token_bound_cidrs)
    token, info = await open_vault_session(
        services,
        call,
        user_id=user.id,
        username=user.username,
        role=user.role,
        method="approle",
        ttl=role.token_ttl or None,
        max_uses=role.token_num_uses or None,
        bound_ip=single_address(bound or None, "token_bound_cidrs"),
    )
    return Reply(auth=auth_block(token, info, {"role_name": role.name}))
