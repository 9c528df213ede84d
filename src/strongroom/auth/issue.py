"""Opening sessions: tokens are made here, handed out once, and only their hashes are stored."""

from __future__ import annotations

from strongroom.auth.principal import Principal
from strongroom.auth.schemas import SessionOptions, TokenResponse
from strongroom.crypto import ACCESS_PREFIX, REFRESH_PREFIX, new_token, token_hash
from strongroom.db import now
from strongroom.db.base import new_id
from strongroom.db.intent import before_write
from strongroom.errors import InvalidInput
from strongroom.http.context import RequestContext
from strongroom.services import Services
from strongroom.sessions.store import NewSession
from strongroom.system.registry import SecuritySettings
from strongroom.users.repository import UserRow


def check_session_options(
    options: SessionOptions, security: SecuritySettings, client_ip: str | None
) -> tuple[int, str | None, int | None]:
    """(access ttl, bound ip, max uses) after checking every option against its bound."""
    ttl = security.access_token_ttl
    if options.ttl is not None:
        if not 1 <= options.ttl <= security.max_token_ttl:
            raise InvalidInput(
                f"ttl must be between 1 and security.max_token_ttl ({security.max_token_ttl} s)",
                loc=("body", "ttl"),
            )
        ttl = options.ttl
    bind = security.bind_ip_default if options.bind_ip is None else options.bind_ip
    if security.bind_ip_required and not bind:
        raise InvalidInput(
            "this server binds every session to its IP (security.bind_ip_required)",
            loc=("body", "bind_ip"),
        )
    if bind and client_ip is None:
        raise InvalidInput(
            "cannot bind the session: the client IP is unknown", loc=("body", "bind_ip")
        )
    max_uses = options.max_uses
    if max_uses is not None and max_uses > security.max_uses_limit:
        raise InvalidInput(
            f"max_uses must be at most security.max_uses_limit ({security.max_uses_limit})",
            loc=("body", "max_uses"),
        )
    if options.one_time:
        if not security.one_time_tokens_allowed:
            raise InvalidInput(
                "one-time tokens are disabled (security.one_time_tokens_allowed)",
                loc=("body", "one_time"),
            )
        if max_uses not in (None, 1):
            raise InvalidInput("a one-time session has max_uses 1", loc=("body", "max_uses"))
        max_uses = 1
    return ttl, (client_ip if bind else None), max_uses


async def open_session(
    services: Services,
    user: UserRow,
    method: str,
    options: SessionOptions,
    ctx: RequestContext,
    user_agent: str | None,
) -> TokenResponse:
    security = services.settings.security
    ttl, bound_ip, max_uses = check_session_options(options, security, ctx.client_ip)
    stamp = now()
    max_expires = stamp + security.max_session_lifetime
    access, refresh = (
        new_token(ACCESS_PREFIX),
        None if options.one_time else new_token(REFRESH_PREFIX),
    )
    access_expires = min(stamp + ttl, max_expires)
    refresh_expires = (
        None if refresh is None else min(stamp + security.refresh_token_ttl, max_expires)
    )
    session = NewSession(
        id=new_id(),
        user_id=user.id,
        username=user.username,
        role=user.role,
        auth_method=method,
        access_hash=token_hash(access),
        refresh_hash=None if refresh is None else token_hash(refresh),
        created_at=stamp,
        access_ttl=ttl,
        access_expires_at=access_expires,
        refresh_expires_at=refresh_expires,
        max_expires_at=max_expires,
        idle_timeout=security.idle_timeout or None,
        bound_ip=bound_ip,
        max_uses=max_uses,
        one_time=options.one_time,
        scope=options.scope,
        client_id=options.client_id,
        ip=ctx.client_ip,
        user_agent=(user_agent or "")[:512] or None,
    )
    await before_write()  # the session store may be Redis: the record comes first all the same
    await services.store.create(session)
    ctx.principal = Principal(
        user.id, user.username, user.role, session.id, session.scope, method, access_expires
    )
    return TokenResponse(
        access_token=access,
        expires_in=round(access_expires - stamp),
        refresh_token=refresh,
        refresh_expires_in=None if refresh_expires is None else round(refresh_expires - stamp),
        scope=session.scope,
        session_id=session.id,
    )
