"""The password grant, refresh rotation and revocation.

Every password check is an attempt reserved on the account's and the client's failure
counters before any hashing (auth/lockout.py), shared by every node through the session store.
Unknown user, wrong password and disabled account give the same 401 body after the same
Argon2id work (a dummy verification for unknown users); once a name or a client is locked,
or its attempts in flight fill the threshold, every attempt for it gets 429 with Retry-After —
the right password too, and an unknown name locks exactly like a real one.
"""

from __future__ import annotations

from strongroom.auth import lockout
from strongroom.auth.issue import open_session
from strongroom.auth.schemas import SessionOptions, TokenRequest, TokenResponse
from strongroom.crypto import ACCESS_PREFIX, REFRESH_PREFIX, KeyPurpose, new_token, token_hash
from strongroom.crypto.tokens import looks_like
from strongroom.db import now
from strongroom.errors import OAuthError, TooManyRequests
from strongroom.http.context import RequestContext
from strongroom.services import Services
from strongroom.sessions.store import RotateOutcome, RotateRequest
from strongroom.users import repository as users_repo
from strongroom.users.repository import UserRow
from strongroom.users.validation import normalise_username

BAD_CREDENTIALS = "invalid username or password"
LOCKED = lockout.LOCKED


def _locked_out(retry_after: int) -> OAuthError:
    return OAuthError("invalid_grant", LOCKED, status=429, retry_after=retry_after)


async def password_login(
    services: Services, form: TokenRequest, ctx: RequestContext, user_agent: str | None
) -> TokenResponse:
    settings = await services.runtime.refresh()
    if not settings.auth.password_login_enabled:
        raise OAuthError(
            "unsupported_grant_type", "password login is disabled on this server", status=400
        )
    if not form.username or form.password is None:
        raise OAuthError("invalid_request", "the password grant needs username and password")
    username = normalise_username(form.username)
    ctx.attempted_username = username
    counters = [
        lockout.account_counter(settings.security, username),
        lockout.client_counter(settings.security, ctx.client_ip),
    ]
    async with lockout.attempt(services, counters, ctx, _locked_out) as attempt:
        user = await users_repo.hot_users(services.db).by_username(username)
        password = form.password.get_secret_value()
        stored_hash = user.password_hash if user else None
        matches = await lockout.check_password(services, ctx, stored_hash, password)
        if not matches or user is None or user.disabled:
            attempt.failed = True
            ctx.auth_failed = True
            raise OAuthError("invalid_grant", BAD_CREDENTIALS, status=401)
        attempt.succeeded(counters[0].key)
    if user.password_hash and services.passwords.needs_rehash(user.password_hash):
        await _rehash(services, user, password)
    response = await open_session(
        services, user, "password", SessionOptions(**_options(form)), ctx, user_agent
    )
    await _end_if_user_gone(services, user, response.session_id)
    return response


def _options(form: TokenRequest) -> dict[str, object]:
    return form.model_dump(include=set(SessionOptions.model_fields))


async def _rehash(services: Services, user: UserRow, password: str) -> None:
    hashed = await services.passwords.hash(password)
    async with services.db.begin() as conn:
        await users_repo.update_user(conn, user.id, password_hash=hashed)


async def _end_if_user_gone(services: Services, user: UserRow, session_id: str) -> None:
    """Close the race with a concurrent delete/disable: it ends sessions after its commit; a
    session opened after that sweep is ended here."""
    current = await users_repo.hot_users(services.db).by_id(user.id)
    if current is None or current.disabled or current.role != user.role:
        await services.store.revoke_session(session_id)
        raise OAuthError("invalid_grant", BAD_CREDENTIALS, status=401)


async def verify_password_attempt(
    services: Services,
    user: UserRow,
    password: str,
    ctx: RequestContext,
) -> bool:
    """Check a password outside login (password change): the same reserved attempt on the
    account's and the client's counters, so the same lock-out (429 TooManyRequests)."""
    security = (await services.runtime.refresh()).security
    counters = [
        lockout.account_counter(security, user.username),
        lockout.client_counter(security, ctx.client_ip),
    ]

    def locked_out(retry_after: int) -> TooManyRequests:
        return TooManyRequests(LOCKED, retry_after=retry_after)

    async with lockout.attempt(services, counters, ctx, locked_out) as attempt:
        if not await lockout.check_password(services, ctx, user.password_hash, password):
            attempt.failed = True
            return False
        attempt.succeeded(counters[0].key)
        return True


async def renew(
    services: Services,
    refresh_token: str,
    ctx: RequestContext,
    github_token: str | None = None,
) -> TokenResponse:
    """Rotate a refresh token: a new pair; the old pair dies; a reused token kills the session.
    A session opened by GitHub login also needs `github_token` (see strongroom.github.service)."""
    invalid = OAuthError("invalid_grant", "the refresh token is invalid, expired or revoked")
    if not looks_like(refresh_token, REFRESH_PREFIX):
        _failed(services, ctx, refresh_token)
        raise invalid
    settings = await services.runtime.refresh()
    old_hash = token_hash(refresh_token)
    session = await services.store.peek_refresh(old_hash, now())
    role: str | None = None
    if session is not None:
        async with services.db.connect() as conn:
            user = await users_repo.get_by_id(conn, session.user_id)
        if user is None or user.disabled:
            await services.store.revoke_session(session.id)
            _failed(services, ctx, refresh_token)
            raise invalid
        role = await _current_role(services, user, session.auth_method, github_token, ctx)
    access, refresh = new_token(ACCESS_PREFIX), new_token(REFRESH_PREFIX)
    stamp = now()
    result = await services.store.rotate(
        RotateRequest(
            old_refresh_hash=old_hash,
            new_access_hash=token_hash(access),
            new_refresh_hash=token_hash(refresh),
            now=stamp,
            client_ip=ctx.client_ip,
            max_access_ttl=settings.security.max_token_ttl,
            refresh_ttl=settings.security.refresh_token_ttl,
            role=role,
        )
    )
    if result.outcome is RotateOutcome.reused:
        _failed(services, ctx, refresh_token)
        raise OAuthError(
            "invalid_grant", "the refresh token was already used; the session has been revoked"
        )
    if result.outcome is not RotateOutcome.ok or result.session is None:
        _failed(services, ctx, refresh_token)
        raise invalid
    info = result.session
    from strongroom.auth.principal import Principal

    ctx.principal = Principal(
        info.user_id,
        info.username,
        info.role,
        info.id,
        info.scope,
        info.auth_method,
        info.access_expires_at,
    )
    return TokenResponse(
        access_token=access,
        expires_in=round(info.access_expires_at - stamp),
        refresh_token=refresh,
        refresh_expires_in=round((info.refresh_expires_at or stamp) - stamp),
        scope=info.scope,
        session_id=info.id,
    )


def _failed(services: Services, ctx: RequestContext, refresh_token: str) -> None:
    """Mark the audit record of a renew that failed, with the presented token's HMAC."""
    ctx.auth_failed = True
    if not services.barrier.sealed:
        presented = refresh_token.encode("utf-8", "surrogatepass")
        ctx.token_hmac = services.barrier.keyring.mac(KeyPurpose.audit, presented)


async def _current_role(
    services: Services,
    user: UserRow,
    auth_method: str,
    github_token: str | None,
    ctx: RequestContext,
) -> str:
    """The role the session should carry from now on (GitHub sessions re-check membership)."""
    if auth_method == "github":
        from strongroom.github.service import recheck_github_user

        return await recheck_github_user(services, user, github_token, ctx)
    return user.role


async def revoke(services: Services, token: str | None) -> None:
    """RFC 7009: always succeeds from the caller's view; unknown or malformed tokens are no-ops."""
    if token and (looks_like(token, ACCESS_PREFIX) or looks_like(token, REFRESH_PREFIX)):
        await services.store.revoke_token(token_hash(token))
