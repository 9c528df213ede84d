"""HTTP routes of GitHub login: a GitHub token, or the browser's OAuth web flow."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from starlette.responses import RedirectResponse, Response

from strongroom.auth.dependencies import ServicesDep
from strongroom.auth.schemas import TokenResponse
from strongroom.github.oauth import (
    CALLBACK_PATH,
    STATE_COOKIE,
    STATE_TTL,
    Callback,
    finish_browser_login,
    start_browser_login,
)
from strongroom.github.schemas import GitHubLoginRequest
from strongroom.github.service import github_token_login
from strongroom.http.context import get_context
from strongroom.http.responses import JsonResponse
from strongroom.http.strict_json import StrictJsonRoute
from strongroom.ui.security import UI_GITHUB_COOKIE
from strongroom.ui.session import store_tokens

router = APIRouter(route_class=StrictJsonRoute, tags=["github"])

GITHUB_ERRORS: dict[int | str, dict[str, object]] = {
    400: {"description": "RFC 6749 error: GitHub login disabled or not configured, bad state"},
    401: {"description": "invalid_grant: GitHub rejected the token or the code"},
    403: {"description": "invalid_grant: not a member, no role mapped, or account disabled"},
    409: {"description": "invalid_grant: the username belongs to an account not linked to it"},
    429: {"description": "too many failed logins from this IP; Retry-After says when"},
    503: {"description": "github_unavailable: GitHub unreachable or rate-limited (Retry-After)"},
}
QueryText = Annotated[str | None, Query(max_length=512)]


@router.post("/auth/github/login", response_model=TokenResponse, responses=GITHUB_ERRORS)
async def github_login(
    body: GitHubLoginRequest, request: Request, services: ServicesDep
) -> TokenResponse:
    """Log in with a GitHub token: `{"token": "<GitHub token>"}` plus the session options of
    the token endpoint (scope, client_id, ttl, bind_ip, max_uses, one_time). The server asks
    GitHub who the token belongs to, requires membership of the configured organization, maps
    teams and users to a role, creates or updates the local user and opens a session. The
    GitHub token is used for this request only and never stored; renewing the session needs
    it again (`github_token` beside `refresh_token`)."""
    return await github_token_login(
        services,
        body.token.get_secret_value(),
        body,
        get_context(request),
        request.headers.get("user-agent"),
    )


@router.get(
    "/auth/github/authorize",
    status_code=302,
    response_class=RedirectResponse,
    responses={302: {"description": "To GitHub's authorize page, with a state cookie set"}},
)
async def github_authorize(services: ServicesDep) -> Response:
    """Start a browser login: a redirect to GitHub's authorize page (scope read:org) with a
    `state` bound to this browser by an HttpOnly, Secure, SameSite=Lax cookie."""
    start = await start_browser_login(services)
    response = RedirectResponse(start.url, status_code=302)
    response.set_cookie(
        STATE_COOKIE,
        start.nonce,
        max_age=STATE_TTL,
        path=CALLBACK_PATH,
        secure=True,
        httponly=True,
        samesite="lax",
    )
    return response


@router.get("/auth/github/callback", response_model=TokenResponse, responses=GITHUB_ERRORS)
async def github_callback(
    request: Request,
    services: ServicesDep,
    code: QueryText = None,
    state: QueryText = None,
    error: QueryText = None,
) -> Response:
    """Where GitHub sends the browser back: checks `state` against this browser's cookie and
    its expiry (400 if missing, forged or expired), exchanges `code` for a GitHub token, then
    logs in exactly as `/auth/github/login` does and answers the token response."""
    callback = Callback(code, state, error, request.cookies.get(STATE_COOKIE))
    tokens = await finish_browser_login(
        services, callback, get_context(request), request.headers.get("user-agent")
    )
    response: Response
    if request.cookies.get(UI_GITHUB_COOKIE):
        # Started from the web interface (/ui/login/github): the session goes into its cookie.
        response = RedirectResponse("/ui/secrets", status_code=303)
        store_tokens(response, tokens)
        response.delete_cookie(
            UI_GITHUB_COOKIE, path=CALLBACK_PATH, secure=True, httponly=True, samesite="lax"
        )
    else:
        response = JsonResponse(tokens.model_dump())
    response.delete_cookie(
        STATE_COOKIE, path=CALLBACK_PATH, secure=True, httponly=True, samesite="lax"
    )
    return response
