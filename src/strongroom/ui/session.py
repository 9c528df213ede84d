"""The browser's session: a strongroom session whose tokens live in the session cookie.

Every page authenticates the cookie's access token exactly as the API authenticates a bearer
token (same store, lifetimes, IP binding, use counting, revocation). When the access token has
expired, the refresh token renews the session (rotation and reuse detection as
`/auth/token/renew`) and the response carries the new pair. Requests of one browser racing on
the same expired token in one worker renew once and share the result, so the browser's own
parallel requests never look like a stolen refresh token.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass

from starlette.requests import Request
from starlette.responses import Response

from strongroom.auth import login
from strongroom.auth.dependencies import authenticate
from strongroom.auth.principal import Principal
from strongroom.auth.schemas import TokenResponse
from strongroom.crypto import ACCESS_PREFIX, REFRESH_PREFIX, token_hash
from strongroom.crypto.tokens import looks_like
from strongroom.errors import OAuthError, Unauthorized
from strongroom.http.context import get_context
from strongroom.services import Services
from strongroom.ui.security import SESSION_COOKIE, clear_cookie, set_cookie

RENEWAL_MEMORY = 30.0


@dataclass(frozen=True, slots=True)
class CookieTokens:
    access: str
    refresh: str | None

    def __repr__(self) -> str:
        return "CookieTokens(***)"


def read_cookie(request: Request) -> CookieTokens | None:
    raw = request.cookies.get(SESSION_COOKIE)
    if not raw:
        return None
    access, _, refresh = raw.partition(".")
    if not looks_like(access, ACCESS_PREFIX):
        return None
    return CookieTokens(access, refresh if looks_like(refresh, REFRESH_PREFIX) else None)


def store_tokens(response: Response, tokens: TokenResponse) -> None:
    value = tokens.access_token
    if tokens.refresh_token:
        value += "." + tokens.refresh_token
    max_age = tokens.refresh_expires_in or tokens.expires_in
    set_cookie(response, SESSION_COOKIE, value, max_age)


def forget_tokens(response: Response) -> None:
    clear_cookie(response, SESSION_COOKIE)


class _Renewals:
    """Per worker: one renewal per refresh token, its result kept briefly for the racers."""

    def __init__(self) -> None:
        self.locks: dict[str, asyncio.Lock] = {}
        self.done: dict[str, tuple[float, TokenResponse]] = {}

    async def renew(self, services: Services, request: Request, refresh: str) -> TokenResponse:
        key = token_hash(refresh)
        lock = self.locks.setdefault(key, asyncio.Lock())
        async with lock:
            at = time.monotonic()
            for stale in [k for k, (t, _) in self.done.items() if at - t > RENEWAL_MEMORY]:
                del self.done[stale]
                stale_lock = self.locks.get(stale)
                if stale != key and stale_lock is not None and not stale_lock.locked():
                    del self.locks[stale]
            if key in self.done:
                return self.done[key][1]
            tokens = await login.renew(services, refresh, get_context(request))
            self.done[key] = (at, tokens)
            return tokens


_renewals = _Renewals()


async def browser_principal(services: Services, request: Request) -> Principal | None:
    """The caller, or None when the browser has no live session. A renewal leaves the new
    tokens in `request.state.renewed` for the response."""
    tokens = read_cookie(request)
    if tokens is None:
        return None
    ctx = get_context(request)
    try:
        return await authenticate(services, request.scope, ctx, token=tokens.access)
    except Unauthorized:
        if tokens.refresh is None:
            return None
    try:
        renewed = await _renewals.renew(services, request, tokens.refresh)
    except OAuthError:
        return None
    ctx.auth_failed = False
    ctx.token_hmac = None
    request.state.renewed = renewed
    if ctx.principal is not None:
        return ctx.principal  # the renewal was this request's use of the session
    # Another request of this browser renewed it a moment ago: use the new token.
    return await authenticate(services, request.scope, ctx, token=renewed.access_token)
