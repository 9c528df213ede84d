"""Looking at sessions: introspection, listing, revoking one."""

from __future__ import annotations

from strongroom.auth.principal import Principal
from strongroom.auth.schemas import SessionOut, SessionPageOut
from strongroom.crypto import ACCESS_PREFIX, REFRESH_PREFIX, token_hash
from strongroom.crypto.tokens import looks_like
from strongroom.db import now
from strongroom.errors import BadRequest, Forbidden, NotFound
from strongroom.policy.rules import ADMIN, SYSTEM_READERS
from strongroom.services import Services
from strongroom.sessions.store import SessionInfo
from strongroom.timefmt import rfc3339
from strongroom.users import repository as users_repo
from strongroom.users.validation import normalise_username

INACTIVE: dict[str, object] = {"active": False}


async def introspect(services: Services, token: str) -> dict[str, object]:
    stamp = now()
    info: SessionInfo | None = None
    kind = "access_token"
    if looks_like(token, ACCESS_PREFIX):
        info = await services.store.lookup(token_hash(token), stamp)
        expires = info.access_expires_at if info else 0.0
    elif looks_like(token, REFRESH_PREFIX):
        kind = "refresh_token"
        info = await services.store.peek_refresh(token_hash(token), stamp)
        expires = (info.refresh_expires_at or 0.0) if info else 0.0
    if info is None:
        return INACTIVE
    return {
        "active": True,
        "token_type": kind,
        "username": info.username,
        "sub": info.user_id,
        "role": info.role,
        "scope": info.scope,
        "client_id": info.client_id,
        "session_id": info.id,
        "iat": int(info.created_at),
        "exp": int(expires),
    }


def session_out(info: SessionInfo, current_id: str) -> SessionOut:
    return SessionOut(
        id=info.id,
        username=info.username,
        role=info.role,
        auth_method=info.auth_method,
        created_at=rfc3339(info.created_at) or "",
        last_used_at=rfc3339(info.last_used_at) or "",
        expires_at=rfc3339(info.access_expires_at) or "",
        refresh_expires_at=rfc3339(info.refresh_expires_at),
        max_expires_at=rfc3339(info.max_expires_at) or "",
        ip=info.ip,
        bound_ip=info.bound_ip,
        uses=info.uses,
        max_uses=info.max_uses,
        one_time=info.one_time,
        scope=info.scope,
        client_id=info.client_id,
        user_agent=info.user_agent,
        current=info.id == current_id,
    )


async def list_sessions(
    services: Services,
    principal: Principal,
    *,
    username: str | None,
    all_users: bool,
    limit: int,
    cursor: str | None,
) -> SessionPageOut:
    user_id: str | None = principal.user_id
    if username is not None or all_users:
        if principal.role not in SYSTEM_READERS and (
            all_users or normalise_username(username or "") != principal.username
        ):
            raise Forbidden("only admins and auditors see other users' sessions")
        if username is not None:
            async with services.db.connect() as conn:
                user = await users_repo.get_by_username(conn, normalise_username(username))
            if user is None:
                raise NotFound(f"no user {normalise_username(username)!r}")
            user_id = user.id
        else:
            user_id = None
    try:
        page = await services.store.list_sessions(user_id, now(), limit=limit, cursor=cursor)
    except ValueError:
        raise BadRequest("invalid cursor", code="invalid_cursor") from None
    return SessionPageOut(
        items=[session_out(info, principal.session_id) for info in page.items],
        next_cursor=page.next_cursor,
    )


async def revoke_session_of(services: Services, principal: Principal, session_id: str) -> None:
    info = await services.store.get_session(session_id, now())
    if info is None or (principal.role != ADMIN and info.user_id != principal.user_id):
        raise NotFound("no such session")
    await services.store.revoke_session(session_id)
