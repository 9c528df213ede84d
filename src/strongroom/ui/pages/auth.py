"""Login (password, GitHub), logout and the theme switch."""

from __future__ import annotations

from fastapi import APIRouter, Request
from pydantic import SecretStr
from starlette.responses import RedirectResponse, Response

from strongroom.auth import login
from strongroom.auth.identify import login_name
from strongroom.auth.schemas import TokenRequest
from strongroom.errors import OAuthError
from strongroom.github.oauth import CALLBACK_PATH, STATE_COOKIE, STATE_TTL, start_browser_login
from strongroom.http.context import get_context
from strongroom.ui.render import local_target, page, redirect
from strongroom.ui.routing import ServicesDep, UiOptionalUser, UiRoute, UiUser, form_of
from strongroom.ui.security import (
    THEME_COOKIE,
    THEMES,
    UI_GITHUB_COOKIE,
    rotate_csrf,
    set_cookie,
)
from strongroom.ui.session import forget_tokens, store_tokens

router = APIRouter(route_class=UiRoute)


def _github_ready(services: ServicesDep) -> bool:
    auth = services.settings.auth
    return bool(
        auth.github_enabled
        and auth.github_client_id
        and auth.github_client_secret
        and auth.github_redirect_url
    )


def _login_page(
    request: Request, services: ServicesDep, *, error: str | None = None, status: int = 200
) -> Response:
    return page(
        request,
        services,
        "login.html",
        None,
        status=status,
        title="Log in",
        banner=services.settings.general.login_banner,
        github=_github_ready(services),
        password_login=services.settings.auth.password_login_enabled,
        next=local_target(request.query_params.get("next")),
        error=error,
        username=request.query_params.get("username", "")[:200],
    )


@router.get("/ui/login")
async def login_form(request: Request, services: ServicesDep, user: UiOptionalUser) -> Response:
    """The login page (the login banner, password form, GitHub button)."""
    if user is not None:
        return redirect(local_target(request.query_params.get("next")))
    await services.runtime.refresh()
    return _login_page(request, services)


@router.post("/ui/login")
async def login_submit(request: Request, services: ServicesDep) -> Response:
    """Check the password and open a session: the same password grant as the token endpoint."""
    form = await form_of(request)
    username, password = form.get("username", "")[:200], form.get("password", "")[:2048]
    target = local_target(form.get("next"))
    if not username or not password:
        return _login_page(request, services, error="Enter your username and password.", status=400)
    try:
        tokens = await login.password_login(
            services,
            TokenRequest(
                grant_type="password",
                username=await login_name(services, username),
                password=SecretStr(password),
            ),
            get_context(request),
            request.headers.get("user-agent"),
        )
    except OAuthError as exc:
        status = exc.status if exc.status in (400, 401, 429) else 400
        return _login_page(request, services, error=exc.description, status=status)
    response = redirect(target)
    store_tokens(response, tokens)
    rotate_csrf(request, response)
    return response


@router.get("/ui/login/github")
async def github_start(services: ServicesDep) -> Response:
    """Start GitHub's OAuth web flow; the callback brings the browser back logged in."""
    start = await start_browser_login(services)
    response = RedirectResponse(start.url, status_code=302)
    for name, value in ((STATE_COOKIE, start.nonce), (UI_GITHUB_COOKIE, "1")):
        response.set_cookie(
            name,
            value,
            max_age=STATE_TTL,
            path=CALLBACK_PATH,
            secure=True,
            httponly=True,
            samesite="lax",
        )
    return response


@router.post("/ui/logout")
async def logout(request: Request, services: ServicesDep, user: UiUser) -> Response:
    """End this browser's session (both tokens) and forget the cookie."""
    await services.store.revoke_session(user.session_id)
    response = redirect("/ui/login", "logged-out")
    forget_tokens(response)
    rotate_csrf(request, response)
    return response


@router.post("/ui/theme")
async def switch_theme(request: Request) -> Response:
    """Light, dark, or the system's choice; kept in a cookie (no script needed)."""
    form = await form_of(request)
    theme = form.get("theme", "auto")
    back = local_target(form.get("back"), "/ui/secrets")
    response = redirect(back)
    set_cookie(response, THEME_COOKIE, theme if theme in THEMES else "auto", 365 * 86400)
    return response
