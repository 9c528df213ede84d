"""Token endpoints (login, renew, revoke, introspect), logout, token check and sessions."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from pydantic import SecretStr

from strongroom.auth import login
from strongroom.auth.dependencies import CurrentPrincipal, ServicesDep, bearer_token
from strongroom.auth.identify import login_name
from strongroom.auth.principal import Principal
from strongroom.auth.schemas import (
    CheckTokenRequest,
    CheckTokenResponse,
    IntrospectRequest,
    RenewRequest,
    Revoked,
    RevokeRequest,
    SessionOut,
    SessionPageOut,
    TokenRequest,
    TokenResponse,
)
from strongroom.auth.sessions import introspect, list_sessions, revoke_session_of
from strongroom.crypto import KeyPurpose
from strongroom.errors import Forbidden, OAuthError
from strongroom.http.body import document_body, parse_body
from strongroom.http.context import get_context
from strongroom.http.strict_json import StrictJsonRoute
from strongroom.timefmt import rfc3339
from strongroom.users.validation import normalise_username

router = APIRouter(route_class=StrictJsonRoute, tags=["auth"])

OAUTH_ERRORS: dict[int | str, dict[str, object]] = {
    400: {"description": "RFC 6749 error: {error, error_description}"},
    401: {"description": "invalid_grant: bad credentials (same body for every cause)"},
    429: {"description": "too many failed logins; Retry-After says when to retry"},
}


def _reveal(secret: SecretStr | None) -> str | None:
    return None if secret is None else secret.get_secret_value()


async def create_token(request: Request, services: ServicesDep) -> TokenResponse:
    """Log in (OAuth2 token endpoint). `grant_type` password (`username` may be the account's
    email address), refresh_token or github_token; JSON or form-encoded. Session options (ttl,
    bind_ip, max_uses, one_time) are bounded by the security settings. Bad credentials: 401
    invalid_grant, the same for every cause."""
    form = await parse_body(request, TokenRequest)
    ctx = get_context(request)
    user_agent = request.headers.get("user-agent")
    if form.grant_type == "password":
        if form.username:
            form = form.model_copy(update={"username": await login_name(services, form.username)})
        return await login.password_login(services, form, ctx, user_agent)
    if form.grant_type == "refresh_token":
        if form.refresh_token is None:
            raise OAuthError("invalid_request", "the refresh_token grant needs refresh_token")
        return await login.renew(
            services, form.refresh_token.get_secret_value(), ctx, _reveal(form.github_token)
        )
    from strongroom.github.service import github_token_login

    if form.github_token is None:
        raise OAuthError("invalid_request", "the github_token grant needs github_token")
    return await github_token_login(
        services, form.github_token.get_secret_value(), form, ctx, user_agent
    )


async def renew_token(request: Request, services: ServicesDep) -> TokenResponse:
    """Exchange a refresh token for a new access and refresh token; the old pair dies. An
    already-used refresh token: 400 invalid_grant, and the whole session is revoked."""
    body = await parse_body(request, RenewRequest)
    return await login.renew(
        services,
        body.refresh_token.get_secret_value(),
        get_context(request),
        _reveal(body.github_token),
    )


async def revoke_token(request: Request, services: ServicesDep) -> Revoked:
    """Revoke an access or refresh token (RFC 7009): the session ends. Always 200 with the
    same body, whether or not the token existed."""
    body = await parse_body(request, RevokeRequest)
    token = body.revoke_token or body.token
    revoked = token.get_secret_value() if token else None
    # Revocations are recorded whoever sends them: which token (as an HMAC), when, from where.
    ctx = get_context(request)
    ctx.audit_anyway = True
    if revoked and not services.barrier.sealed:
        ctx.token_hmac = services.barrier.keyring.mac(KeyPurpose.audit, revoked.encode())
    await login.revoke(services, revoked)
    return Revoked()


for prefix in ("/auth", ""):
    alias = prefix == ""  # the seed's /api/v1/token/* paths, kept as aliases
    router.add_api_route(
        f"{prefix}/token/create",
        create_token,
        methods=["POST"],
        response_model=TokenResponse,
        responses=OAUTH_ERRORS,
        openapi_extra=document_body(TokenRequest),
        name=f"create_token{prefix.replace('/', '_')}",
        deprecated=alias,
    )
    router.add_api_route(
        f"{prefix}/token/renew",
        renew_token,
        methods=["POST"],
        response_model=TokenResponse,
        responses=OAUTH_ERRORS,
        openapi_extra=document_body(RenewRequest),
        name=f"renew_token{prefix.replace('/', '_')}",
        deprecated=alias,
    )
    router.add_api_route(
        f"{prefix}/token/revoke",
        revoke_token,
        methods=["POST"],
        response_model=Revoked,
        openapi_extra=document_body(RevokeRequest),
        name=f"revoke_token{prefix.replace('/', '_')}",
        deprecated=alias,
    )


@router.post("/auth/logout", response_model=Revoked)
async def logout(principal: CurrentPrincipal, services: ServicesDep) -> Revoked:
    """End the caller's session (both of its tokens)."""
    await services.store.revoke_session(principal.session_id)
    return Revoked()


@router.post("/auth/check_token", response_model=CheckTokenResponse)
async def check_token(body: CheckTokenRequest, principal: CurrentPrincipal) -> CheckTokenResponse:
    """Check that the bearer token is valid and belongs to `username` (403 if another user's)."""
    return check_token_response(body, principal)


def check_token_response(body: CheckTokenRequest, principal: Principal) -> CheckTokenResponse:
    if normalise_username(body.username) != principal.username:
        raise Forbidden("the token belongs to another user")
    return CheckTokenResponse(
        username=principal.username,
        role=principal.role,
        session_id=principal.session_id,
        expires_at=rfc3339(principal.access_expires_at) or "",
    )


@router.post(
    "/auth/token/introspect",
    openapi_extra=document_body(IntrospectRequest),
    responses={200: {"description": "RFC 7662: {active: true, ...} or exactly {active: false}"}},
)
async def introspect_token(
    request: Request, principal: CurrentPrincipal, services: ServicesDep
) -> dict[str, object]:
    """RFC 7662 introspection of an access or refresh token; needs a valid bearer token.
    Looking a token up consumes none of its uses."""
    body = await parse_body(request, IntrospectRequest)
    return await introspect(services, body.token.get_secret_value())


@router.get("/auth/sessions", response_model=SessionPageOut)
async def sessions(
    request: Request,
    principal: CurrentPrincipal,
    services: ServicesDep,
    username: Annotated[str | None, Query(max_length=200)] = None,
    all_users: Annotated[bool, Query(alias="all")] = False,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> SessionPageOut:
    """The caller's live sessions. Admins and auditors: `?username=` for one user, `?all=true`
    for everyone. Never a token."""
    return await list_sessions(
        services, principal, username=username, all_users=all_users, limit=limit, cursor=cursor
    )


@router.delete("/auth/sessions/{session_id}", response_model=Revoked)
async def revoke_session(
    session_id: str, principal: CurrentPrincipal, services: ServicesDep
) -> Revoked:
    """Revoke a session: your own, or anyone's as admin. 404 if it is not one you may see."""
    await revoke_session_of(services, principal, session_id)
    return Revoked()


__all__ = ["SessionOut", "bearer_token", "router"]
