"""Who is calling: bearer-token authentication and role requirements, as `Annotated` aliases.

CurrentPrincipal   any valid session
SystemReader       admin or auditor
AdminPrincipal     admin
"""

from __future__ import annotations

from typing import Annotated
from urllib.parse import parse_qsl

from fastapi import Depends, Request
from starlette.types import Scope

from strongroom.auth.principal import Principal
from strongroom.crypto import ACCESS_PREFIX, KeyPurpose, token_hash
from strongroom.crypto.tokens import looks_like
from strongroom.db import now
from strongroom.errors import Forbidden, ServiceUnavailable, Unauthorized
from strongroom.http.context import RequestContext, client_of, get_context
from strongroom.policy.rules import ADMIN, SYSTEM_READERS
from strongroom.services import Services, get_services
from strongroom.sessions.store import AuthOutcome, AuthResult, StoreUnavailable

ServicesDep = Annotated[Services, Depends(get_services)]
INVALID_TOKEN = "the access token is invalid, expired or revoked"


def header_value(scope: Scope, name: bytes) -> str | None:
    for key, value in scope["headers"]:
        if key == name:
            return str(value.decode("latin-1"))
    return None


def bearer_from_scope(scope: Scope) -> str | None:
    """The bearer token of the Authorization header. Tokens in the URL are never read."""
    header = header_value(scope, b"authorization")
    if not header:
        return None
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        return None
    return value.strip()


def bearer_token(request: Request) -> str | None:
    return bearer_from_scope(request.scope)


def _fail(ctx: RequestContext, services: Services, token: str | None, detail: str) -> Unauthorized:
    ctx.auth_failed = True
    _note_token(ctx, services, token)
    return Unauthorized(detail, code="invalid_token")


def _note_token(ctx: RequestContext, services: Services, token: str | None) -> None:
    """Which token a request presented, for its audit record: an HMAC, never the token."""
    if token and not services.barrier.sealed:
        ctx.token_hmac = services.barrier.keyring.mac(KeyPurpose.audit, token.encode())


def _recheck_transport(ctx: RequestContext, scope: Scope, services: Services) -> None:
    """After a settings reload mid-request, apply the new transport policy to this request."""
    settings = services.settings
    ctx.client_ip, ctx.scheme = client_of(scope, scope["scheme"], settings.trusted_networks)
    if settings.security.require_https and ctx.scheme != "https":
        raise Forbidden("HTTPS is required: send this request over TLS", code="https_required")


def _missing_token_detail(scope: Scope) -> str:
    names = {name for name, _ in parse_qsl(scope["query_string"].decode("latin-1"))}
    if names & {"token", "access_token"}:
        return "tokens are not accepted in the URL; send Authorization: Bearer <token>"
    return "missing bearer token (Authorization: Bearer <token>)"


async def authenticate(
    services: Services,
    scope: Scope,
    ctx: RequestContext,
    *,
    watch: str | None = None,
    mark: str | None = None,
    token: str | None = None,
) -> Principal:
    """The principal of a request's bearer token (or of `token`: the web UI's session cookie);
    consumes one use of its session. With `watch`, the name's current value lands in
    `ctx.watched` (see secrets/cache.py); with `mark` too, a change of that name begins
    (SessionStore.authenticate), and the caller owes its end once authentication succeeded."""
    if token is None:
        token = bearer_from_scope(scope)
    if token is None:
        raise _fail(ctx, services, None, _missing_token_detail(scope))
    if not looks_like(token, ACCESS_PREFIX):
        raise _fail(ctx, services, token, INVALID_TOKEN)
    hashed = token_hash(token)
    try:
        result = await services.store.authenticate(
            hashed, ctx.client_ip, now(), services.runtime.epoch, watch, mark
        )
        if result.outcome is AuthOutcome.stale:
            await services.runtime.reload(result.epoch)
            _recheck_transport(ctx, scope, services)
            result = await services.store.authenticate(
                hashed, ctx.client_ip, now(), services.runtime.epoch, watch, mark
            )
        ctx.watched = result.watched
    except StoreUnavailable:
        raise ServiceUnavailable(
            "the session store is unavailable", code="session_store_unavailable", retry_after=5
        ) from None
    return _principal(ctx, services, token, result)


async def identify_for_audit(services: Services, scope: Scope, ctx: RequestContext) -> None:
    """For the audit record of a request that presented a bearer token and ended before its
    session check (malformed JSON, an unknown route...): the token's session, looked up
    without consuming a use; or, for a token that is not a live one usable from this client,
    a failed authentication with the token's HMAC. Nothing when no bearer token was sent."""
    token = bearer_from_scope(scope)
    if token is None and scope["path"].startswith("/v1/"):
        token = header_value(scope, b"x-vault-token")  # the Vault-compatible API's header
    if token is None:
        return
    info = None
    if looks_like(token, ACCESS_PREFIX):
        try:
            info = await services.store.lookup(token_hash(token), now())
        except StoreUnavailable:  # nothing known either way: only which token it was
            _note_token(ctx, services, token)
            return
    if info is None or info.bound_ip not in (None, ctx.client_ip):
        ctx.auth_failed = True
        _note_token(ctx, services, token)
        return
    ctx.principal = Principal(
        info.user_id,
        info.username,
        info.role,
        info.id,
        info.scope,
        info.auth_method,
        info.access_expires_at,
    )


async def current_principal(request: Request, services: ServicesDep) -> Principal:
    return await authenticate(services, request.scope, get_context(request))


def _principal(
    ctx: RequestContext, services: Services, token: str, result: AuthResult
) -> Principal:
    session = result.session
    if result.outcome is not AuthOutcome.ok or session is None:
        if result.outcome is AuthOutcome.stale:
            raise ServiceUnavailable("configuration is changing; retry", retry_after=1)
        raise _fail(ctx, services, token, INVALID_TOKEN)
    principal = Principal(
        session.user_id,
        session.username,
        session.role,
        session.id,
        session.scope,
        session.auth_method,
        session.access_expires_at,
    )
    ctx.principal = principal
    return principal


async def system_reader(principal: Annotated[Principal, Depends(current_principal)]) -> Principal:
    if principal.role not in SYSTEM_READERS:
        raise Forbidden("this needs the admin or auditor role")
    return principal


async def admin_principal(principal: Annotated[Principal, Depends(current_principal)]) -> Principal:
    if principal.role != ADMIN:
        raise Forbidden("this needs the admin role")
    return principal


async def optional_principal(request: Request, services: ServicesDep) -> Principal | None:
    """The caller if a bearer token is presented (and valid), None if none is presented."""
    if bearer_token(request) is None:
        return None
    return await current_principal(request, services)


CurrentPrincipal = Annotated[Principal, Depends(current_principal)]
OptionalPrincipal = Annotated[Principal | None, Depends(optional_principal)]
SystemReader = Annotated[Principal, Depends(system_reader)]
AdminPrincipal = Annotated[Principal, Depends(admin_principal)]
