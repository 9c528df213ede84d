"""Cookies, CSRF protection and the headers of the web interface.

- The session cookie holds the session's access and refresh tokens:
  `__Host-strongroom-session`, HttpOnly, Secure, SameSite=Strict, Path=/ (the `__Host-` prefix
  makes the browser refuse it unless it is Secure, host-only and for the whole origin, so no
  sibling subdomain can plant or shadow it).
- CSRF, two independent checks on every POST under /ui/: the `Origin` header (or, when a
  browser sends none, `Sec-Fetch-Site`) must be this origin; and the request must carry the
  token of the `__Host-strongroom-csrf` cookie (double submit: the form field `csrf` or the
  header `X-CSRF-Token`). Another origin can neither read the cookie nor set a `__Host-` one.
"""

from __future__ import annotations

import secrets
from urllib.parse import urlsplit

from starlette.requests import Request
from starlette.responses import Response

from strongroom.crypto import constant_time_equal
from strongroom.errors import Forbidden
from strongroom.http.context import get_context

SESSION_COOKIE = "__Host-strongroom-session"
CSRF_COOKIE = "__Host-strongroom-csrf"
THEME_COOKIE = "__Host-strongroom-theme"
# Set beside GitHub's state cookie by /ui/login/github: the API's OAuth callback then puts the
# session into the UI's cookie instead of answering JSON.
UI_GITHUB_COOKIE = "strongroom_github_ui"
CSRF_FIELD = "csrf"
CSRF_HEADER = "x-csrf-token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
THEMES = ("auto", "light", "dark")

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; "
    "connect-src 'self'; font-src 'self'; form-action 'self'; frame-ancestors 'none'; "
    "base-uri 'none'; object-src 'none'"
)
# Added by the transport guard to every response under /ui/ (and the / redirect).
UI_HEADERS = [
    (b"content-security-policy", CONTENT_SECURITY_POLICY.encode()),
    (b"referrer-policy", b"same-origin"),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"cross-origin-resource-policy", b"same-origin"),
    (b"permissions-policy", b"camera=(), microphone=(), geolocation=(), clipboard-write=(self)"),
]


class CsrfRefused(Forbidden):
    code = "csrf_refused"


def set_cookie(response: Response, name: str, value: str, max_age: int | None) -> None:
    response.set_cookie(
        name, value, max_age=max_age, path="/", secure=True, httponly=True, samesite="strict"
    )


def clear_cookie(response: Response, name: str) -> None:
    response.delete_cookie(name, path="/", secure=True, httponly=True, samesite="strict")


def csrf_token(request: Request) -> str:
    """This browser's CSRF token: the cookie's, or a new one (set by `remember_csrf`)."""
    existing = request.cookies.get(CSRF_COOKIE)
    if existing and 20 <= len(existing) <= 100:
        return existing
    token: str | None = getattr(request.state, "new_csrf", None)
    if token is None:
        token = secrets.token_urlsafe(32)
        request.state.new_csrf = token
    return token


def remember_csrf(request: Request, response: Response) -> None:
    token = getattr(request.state, "new_csrf", None)
    if token is not None:
        set_cookie(response, CSRF_COOKIE, token, None)


def rotate_csrf(request: Request, response: Response) -> None:
    """A new token at login and logout (a token seen before the login is not the session's)."""
    request.state.new_csrf = secrets.token_urlsafe(32)
    set_cookie(response, CSRF_COOKIE, request.state.new_csrf, None)


def own_origin(request: Request) -> str:
    ctx = get_context(request)
    host = request.headers.get("host") or ""
    if not host and request.scope.get("server"):
        server_host, port = request.scope["server"]
        host = f"{server_host}:{port}"
    return f"{ctx.scheme}://{host.lower()}"


def _same_origin(request: Request) -> bool:
    origin = request.headers.get("origin")
    if origin is not None:
        parts = urlsplit(origin.lower())
        return origin != "null" and f"{parts.scheme}://{parts.netloc}" == own_origin(request)
    site = request.headers.get("sec-fetch-site")
    return site is None or site in ("same-origin", "none")


async def check_csrf(request: Request) -> None:
    """Refuse a state-changing request that is not from one of our own pages (403)."""
    if request.method in SAFE_METHODS:
        return
    if not _same_origin(request):
        raise CsrfRefused("cross-site request refused: this form must be sent from this site")
    expected = request.cookies.get(CSRF_COOKIE) or ""
    sent = request.headers.get(CSRF_HEADER)
    if sent is None:
        content_type = request.headers.get("content-type", "")
        if content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
            value = (await request.form()).get(CSRF_FIELD)
            sent = value if isinstance(value, str) else None
    if not expected or not sent or not constant_time_equal(expected, sent):
        raise CsrfRefused(
            "the form's security token is missing or stale: reload the page and try again"
        )
