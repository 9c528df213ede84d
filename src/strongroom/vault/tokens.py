"""Vault's token auth (`auth/token/*`) on strongroom sessions.

A Vault token is a strongroom access token; its accessor is the session id. `num_uses` is
the session's `max_uses`, `bound_cidrs` (one address) its bound IP, the token's one policy
its role. Vault renews a token in place, strongroom rotates a refresh token: a session opened
through /v1/ holds a refresh token derived from its access token and a renewal counter (an
HMAC under the keyring's signing key), so `renew-self` rotates it while the access token stays
the same. Nothing but hashes is stored.
"""

from __future__ import annotations

import ipaddress
from typing import Any

from strongroom.auth.issue import check_session_options
from strongroom.auth.principal import Principal
from strongroom.auth.schemas import SessionOptions
from strongroom.crypto import ACCESS_PREFIX, KeyPurpose, new_token, token_hash
from strongroom.crypto.tokens import looks_like
from strongroom.db import now
from strongroom.db.base import new_id
from strongroom.errors import BadRequest, Forbidden, InvalidInput
from strongroom.policy.rules import ADMIN
from strongroom.services import Services
from strongroom.sessions.store import NewSession, RotateOutcome, RotateRequest, SessionInfo
from strongroom.system.values import parse_duration
from strongroom.timefmt import rfc3339
from strongroom.vault.http import NO_CONTENT, Reply, VaultCall, route

MAX_RENEWALS = 1024
# The client id of sessions opened through /v1/: only they hold a derived refresh token.
VAULT_CLIENT_ID = "vault-api"
RENEWAL_HINTS = 10_000
NO_ROLE = "no_role"
_PATHS = {
    "password": "auth/userpass/login",
    "github": "auth/github/login",
    "approle": "auth/approle/login",
    "token": "auth/token/create",
}


def duration(value: object, name: str) -> int:
    """Seconds from Vault's duration forms (int, "90", "90s", "1h30m"); 400 otherwise."""
    try:
        return parse_duration(value)
    except ValueError as exc:
        raise BadRequest(f"invalid {name}: {exc}") from None


def single_address(cidrs: object, name: str) -> str | None:
    """The one address a token may be bound to: strongroom binds a session to one IP."""
    if cidrs in (None, "", []):
        return None
    entries = [cidrs] if isinstance(cidrs, str) else cidrs
    if not isinstance(entries, list) or len(entries) != 1 or not isinstance(entries[0], str):
        raise BadRequest(f"{name}: strongroom binds a token to exactly one address")
    try:
        network = ipaddress.ip_network(entries[0].strip(), strict=False)
    except ValueError:
        raise BadRequest(f"{name}: {entries[0]!r} is not an address or CIDR") from None
    if network.num_addresses != 1:
        raise BadRequest(f"{name}: strongroom binds a token to one address (/32 or /128)")
    return str(network.network_address)


def renewal_hash(services: Services, access: str, counter: int) -> str:
    """The stored hash of the refresh token of a /v1/ session after `counter` renewals."""
    derived = services.barrier.keyring.mac(
        KeyPurpose.signing, f"vault-renew\0{access}\0{counter}".encode()
    )
    return token_hash(derived)


async def open_vault_session(
    services: Services,
    call: VaultCall,
    *,
    user_id: str,
    username: str,
    role: str,
    method: str,
    ttl: int | None,
    max_uses: int | None,
    bound_ip: str | None,
    not_after: float | None = None,
) -> tuple[str, SessionInfo]:
    """A session whose token Vault clients can renew in place; bounded by the same security
    settings as a native login, and never past `not_after` (a child token: its parent's end)."""
    security = services.settings.security
    options = SessionOptions(ttl=ttl, max_uses=max_uses, bind_ip=False)
    access_ttl, _, uses = check_session_options(options, security, call.ctx.client_ip)
    stamp = now()
    max_expires = stamp + security.max_session_lifetime
    if not_after is not None:
        max_expires = min(max_expires, not_after)
    access = new_token(ACCESS_PREFIX)
    session = NewSession(
        id=new_id(),
        user_id=user_id,
        username=username,
        role=role,
        auth_method=method,
        access_hash=token_hash(access),
        refresh_hash=renewal_hash(services, access, 0),
        created_at=stamp,
        access_ttl=access_ttl,
        access_expires_at=min(stamp + access_ttl, max_expires),
        refresh_expires_at=max_expires,
        max_expires_at=max_expires,
        idle_timeout=security.idle_timeout or None,
        bound_ip=bound_ip,
        max_uses=uses,
        client_id=VAULT_CLIENT_ID,
        ip=call.ctx.client_ip,
        user_agent=(call.request.headers.get("user-agent") or "")[:512] or None,
    )
    await services.store.create(session)
    call.ctx.principal = Principal(
        user_id, username, role, session.id, "", method, session.access_expires_at
    )
    return access, _info_of(session)


def _info_of(session: NewSession) -> SessionInfo:
    return SessionInfo(
        id=session.id,
        user_id=session.user_id,
        username=session.username,
        role=session.role,
        auth_method=session.auth_method,
        created_at=session.created_at,
        last_used_at=session.created_at,
        access_expires_at=session.access_expires_at,
        refresh_expires_at=session.refresh_expires_at,
        max_expires_at=session.max_expires_at,
        idle_timeout=session.idle_timeout,
        bound_ip=session.bound_ip,
        uses=0,
        max_uses=session.max_uses,
        one_time=False,
        scope="",
        client_id=None,
        ip=session.ip,
        user_agent=session.user_agent,
    )


async def adopt_session(
    services: Services, access: str, refresh: str | None, client_ip: str | None
) -> None:
    """Give a session opened by a native login the derived refresh token of /v1/ sessions."""
    if refresh is None:
        return
    security = services.settings.security
    await services.store.rotate(
        RotateRequest(
            old_refresh_hash=token_hash(refresh),
            new_access_hash=token_hash(access),
            new_refresh_hash=renewal_hash(services, access, 0),
            now=now(),
            client_ip=client_ip,
            max_access_ttl=security.max_token_ttl,
            refresh_ttl=security.max_session_lifetime,
        )
    )


def auth_block(
    token: str, info: SessionInfo, metadata: dict[str, str] | None = None
) -> dict[str, Any]:
    """Vault's `auth` object of a login or token creation."""
    at = now()
    return {
        "client_token": token,
        "accessor": info.id,
        "policies": [info.role],
        "token_policies": [info.role],
        "metadata": metadata or {"username": info.username},
        "lease_duration": max(0, round(info.access_expires_at - at)),
        "renewable": True,
        "entity_id": "",
        "token_type": "service",
        "orphan": True,
        "mfa_requirement": None,
        "num_uses": 0 if info.max_uses is None else info.max_uses - info.uses,
    }


def token_data(info: SessionInfo, token: str | None) -> dict[str, Any]:
    """Vault's token lookup answer for a session."""
    at = now()
    return {
        "accessor": info.id,
        "creation_time": int(info.created_at),
        "creation_ttl": max(0, round(info.access_expires_at - info.created_at)),
        "display_name": f"{info.auth_method}-{info.username}",
        "entity_id": "",
        "expire_time": rfc3339(info.access_expires_at),
        "explicit_max_ttl": max(0, round(info.max_expires_at - info.created_at)),
        "id": token or "",
        "issue_time": rfc3339(info.created_at),
        "meta": {"username": info.username},
        "num_uses": 0 if info.max_uses is None else max(0, info.max_uses - info.uses),
        "orphan": True,
        "path": _PATHS.get(info.auth_method, "auth/token/create"),
        "policies": [info.role],
        "renewable": True,
        "ttl": max(0, round(info.access_expires_at - at)),
        "type": "service",
        "bound_cidrs": [info.bound_ip] if info.bound_ip else [],
    }


async def _session_of_token(services: Services, token: object) -> tuple[str, SessionInfo]:
    if not isinstance(token, str) or not looks_like(token, ACCESS_PREFIX):
        raise BadRequest("bad token")
    info = await services.store.lookup(token_hash(token), now())
    if info is None:
        raise BadRequest("bad token")
    return token, info


def _may_manage(principal: Principal, info: SessionInfo) -> None:
    """A caller manages its own user's tokens; admins manage everyone's."""
    if principal.role != ADMIN and principal.user_id != info.user_id:
        raise Forbidden("permission denied")


@route("auth/token/lookup-self", "GET", "POST")
async def lookup_self(call: VaultCall) -> Reply:
    principal = await call.caller()
    token = call.token()
    assert token is not None
    info = await call.services.store.lookup(token_hash(token), now())
    if info is None:
        # This request was the session's last allowed use: it ended on answering.
        info = _last_use(principal)
    return Reply(data=token_data(info, token))


def _last_use(principal: Principal) -> SessionInfo:
    at = now()
    return SessionInfo(
        id=principal.session_id,
        user_id=principal.user_id,
        username=principal.username,
        role=principal.role,
        auth_method=principal.auth_method,
        created_at=at,
        last_used_at=at,
        access_expires_at=principal.access_expires_at,
        refresh_expires_at=None,
        max_expires_at=principal.access_expires_at,
        idle_timeout=None,
        bound_ip=None,
        uses=1,
        max_uses=1,
        one_time=False,
        scope=principal.scope,
        client_id=None,
        ip=None,
        user_agent=None,
    )


@route("auth/token/lookup", "GET", "POST")
async def lookup(call: VaultCall) -> Reply:
    principal = await call.caller()
    token, info = await _session_of_token(
        call.services, call.body.get("token") or call.query.get("token")
    )
    _may_manage(principal, info)
    return Reply(data=token_data(info, token))


@route("auth/token/lookup-accessor", "POST")
async def lookup_accessor(call: VaultCall) -> Reply:
    principal = await call.caller()
    info = await _session_by_accessor(call)
    _may_manage(principal, info)
    return Reply(data=token_data(info, None))


async def _session_by_accessor(call: VaultCall) -> SessionInfo:
    accessor = call.body.get("accessor")
    if not isinstance(accessor, str) or not accessor or len(accessor) > 64:
        raise BadRequest("missing accessor")
    info = await call.services.store.get_session(accessor, now())
    if info is None:
        raise BadRequest("invalid accessor")
    return info


@route("auth/token/revoke-self", "POST")
async def revoke_self(call: VaultCall) -> Reply:
    principal = await call.caller()
    await call.services.store.revoke_session(principal.session_id)
    return NO_CONTENT


@route("auth/token/revoke", "POST")
async def revoke(call: VaultCall) -> Reply:
    principal = await call.caller()
    token = call.body.get("token")
    if isinstance(token, str) and looks_like(token, ACCESS_PREFIX):
        info = await call.services.store.lookup(token_hash(token), now())
        if info is not None:
            _may_manage(principal, info)
            await call.services.store.revoke_session(info.id)
    elif not isinstance(token, str) or not token:
        raise BadRequest("missing token")
    return NO_CONTENT


@route("auth/token/revoke-accessor", "POST")
async def revoke_accessor(call: VaultCall) -> Reply:
    principal = await call.caller()
    info = await _session_by_accessor(call)
    _may_manage(principal, info)
    await call.services.store.revoke_session(info.id)
    return NO_CONTENT


@route("auth/token/renew-self", "POST")
async def renew_self(call: VaultCall) -> Reply:
    await call.caller()
    token = call.token()
    assert token is not None
    return await _renew(call, token)


@route("auth/token/renew", "POST")
async def renew(call: VaultCall) -> Reply:
    principal = await call.caller()
    token, info = await _session_of_token(call.services, call.body.get("token"))
    _may_manage(principal, info)
    return await _renew(call, token)


async def _renew(call: VaultCall, token: str) -> Reply:
    """Rotate the session's derived refresh token, keeping the access token: the token's TTL
    starts again (the session's own access TTL, within its absolute lifetime). The renewal
    counter is found by trying the derived tokens in turn, from this node's last known count
    of the session (so a renewal costs one look-up where it was last renewed)."""
    services = call.services
    store = services.store
    info = await store.lookup(token_hash(token), now())
    if info is None or info.client_id != VAULT_CLIENT_ID:
        raise BadRequest(_NOT_RENEWABLE)
    hints = _renewal_hints(services)
    start = hints.get(info.id, 0)
    for counter in [*range(start, MAX_RENEWALS), *range(min(start, MAX_RENEWALS))]:
        current = renewal_hash(services, token, counter)
        if await store.peek_refresh(current, now()) is None:
            continue
        result = await store.rotate(
            RotateRequest(
                old_refresh_hash=current,
                new_access_hash=token_hash(token),
                new_refresh_hash=renewal_hash(services, token, counter + 1),
                now=now(),
                client_ip=call.ctx.client_ip,
                max_access_ttl=services.settings.security.max_token_ttl,
                refresh_ttl=services.settings.security.max_session_lifetime,
            )
        )
        if result.outcome is not RotateOutcome.ok or result.session is None:
            break
        if len(hints) >= RENEWAL_HINTS:
            hints.clear()
        hints[info.id] = counter + 1
        return Reply(auth=auth_block(token, result.session))
    raise BadRequest(_NOT_RENEWABLE)


_NOT_RENEWABLE = (
    "this token cannot be renewed here: it was not issued through /v1/, its renewals are used "
    "up, or its session ended (native tokens renew through /api/v1/auth/token/renew)"
)


def _renewal_hints(services: Services) -> dict[str, int]:
    hints = services.extras.get("vault_renewals")
    if not isinstance(hints, dict):
        hints = services.extras["vault_renewals"] = {}
    return hints


def _child_role(services: Services, principal: Principal, policies: object) -> str:
    """A child token's role: the parent's, or a narrower one the parent may hand out."""
    if policies in (None, ""):
        return principal.role
    names = [policies] if isinstance(policies, str) else policies
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        raise BadRequest("policies must be a list of names")
    wanted = [n for n in names if n not in ("default", "")]
    if not wanted:
        return principal.role
    if len(set(wanted)) != 1:
        raise BadRequest("a strongroom token carries exactly one policy (its role)")
    role = str(wanted[0])
    if role in (principal.role, NO_ROLE):
        return role
    if principal.role != ADMIN:
        raise Forbidden("child tokens are limited to the parent's policy")
    if role not in services.runtime.roles:
        raise BadRequest(f"unknown policy {role!r}")
    return role


def _int_field(body: dict[str, Any], name: str) -> int | None:
    value = body.get(name)
    if value in (None, "", 0, "0"):
        return None
    if isinstance(value, str) and value.isdigit():
        value = int(value)
    if not isinstance(value, int) or isinstance(value, bool) or not 0 < value < 2**31:
        raise BadRequest(f"{name} must be a positive integer")
    return value


@route("auth/token/create", "POST")
@route("auth/token/create-orphan", "POST")
async def create(call: VaultCall) -> Reply:
    principal = await call.caller()
    body = call.body
    parent = await call.services.store.get_session(principal.session_id, now())
    if principal.role != ADMIN and (
        parent is None or parent.one_time or parent.max_uses is not None
    ):
        # A token with a use limit (one-time, num_uses, an AppRole's token_num_uses) would
        # otherwise spend one use on a child without that limit.
        raise Forbidden("a token with a use limit cannot create tokens")
    role = _child_role(call.services, principal, body.get("policies"))
    ttl_value = body.get("ttl") or body.get("period")
    ttl = duration(ttl_value, "ttl") if ttl_value not in (None, "") else None
    try:
        token, info = await open_vault_session(
            call.services,
            call,
            user_id=principal.user_id,
            username=principal.username,
            role=role,
            method="token",
            ttl=ttl or None,
            max_uses=_int_field(body, "num_uses"),
            bound_ip=single_address(body.get("bound_cidrs"), "bound_cidrs")
            or (parent.bound_ip if parent is not None else None),  # a bound parent binds
            # A child ends with its parent at the latest; an admin's orphan stands alone.
            not_after=parent.max_expires_at
            if parent is not None and (call.path == "auth/token/create" or principal.role != ADMIN)
            else None,
        )
    except InvalidInput as exc:
        raise BadRequest(exc.detail) from None
    finally:
        call.ctx.principal = principal  # the record is the parent's request
    return Reply(auth=auth_block(token, info, dict(body.get("meta") or {}) or None))
