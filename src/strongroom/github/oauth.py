"""The browser login: GitHub's OAuth web flow (authorize → callback → code exchange).

`state` binds the callback to the browser that started the login (RFC 9700 §4.7, login CSRF):
`/authorize` sets a random nonce in an HttpOnly, Secure, SameSite=Lax cookie scoped to the
callback path, and sends GitHub `state = "<expiry>.<HMAC(signing key, nonce, expiry)>"`. The
callback recomputes the HMAC from the cookie's nonce and compares in constant time, then checks
the expiry. A callback from another browser (no cookie, another nonce), a forged or altered
state and an expired one are refused with 400 before GitHub is asked anything. The code is
exchanged server to server with the OAuth app's client secret; the GitHub token it yields goes
through the same checks as a token login and is then dropped.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urlencode

from strongroom.auth.schemas import SessionOptions, TokenResponse
from strongroom.crypto import KeyPurpose, Keyring, constant_time_equal
from strongroom.crypto.tokens import random_id
from strongroom.db import now
from strongroom.errors import OAuthError
from strongroom.github.service import (
    enabled_settings,
    github_api,
    github_token_login,
    login_attempt,
)
from strongroom.http.context import RequestContext
from strongroom.services import Services
from strongroom.system.registry import AuthSettings

STATE_COOKIE = "strongroom_github_state"
STATE_TTL = 600
CALLBACK_PATH = "/api/v1/auth/github/callback"
SCOPE = "read:org"
RESTART = "start again at /api/v1/auth/github/authorize"
_EXPIRY = re.compile(r"[0-9]{1,12}")
_ERROR_CODE = re.compile(r"[a-z_]{1,40}")


@dataclass(frozen=True, slots=True)
class BrowserStart:
    """Where to send the browser, and the nonce its state cookie must hold."""

    url: str
    nonce: str


@dataclass(frozen=True, slots=True)
class Callback:
    """The query of GitHub's redirect back to us."""

    code: str | None
    state: str | None
    error: str | None
    cookie_nonce: str | None


def sign_state(keyring: Keyring, nonce: str, expires_at: int) -> str:
    mac = keyring.mac(KeyPurpose.signing, f"github-oauth-state\0{nonce}\0{expires_at}".encode())
    return f"{expires_at}.{mac}"


def check_state(keyring: Keyring, state: str | None, nonce: str | None, at: float) -> None:
    """Raise 400 unless `state` was signed for this browser's `nonce` and has not expired."""
    if not state:
        raise OAuthError("invalid_request", f"the OAuth state is missing; {RESTART}")
    if not nonce:
        raise OAuthError(
            "invalid_request",
            "the login's state cookie is missing: the callback must reach the browser that "
            f"started the login; {RESTART}",
        )
    expiry, _, _ = state.partition(".")
    if not _EXPIRY.fullmatch(expiry) or not constant_time_equal(
        sign_state(keyring, nonce, int(expiry)), state
    ):
        raise OAuthError(
            "invalid_request", f"the OAuth state does not match this browser's login; {RESTART}"
        )
    if int(expiry) < at:
        raise OAuthError("invalid_request", f"the OAuth state has expired; {RESTART}")


def _require_oauth_app(auth: AuthSettings) -> None:
    if not (auth.github_client_id and auth.github_client_secret and auth.github_redirect_url):
        raise OAuthError(
            "unsupported_grant_type",
            "browser login with GitHub is not configured: set auth.github_client_id, "
            "auth.github_client_secret and auth.github_redirect_url",
        )


async def start_browser_login(services: Services) -> BrowserStart:
    """The GitHub authorize URL for a new browser login, and its nonce."""
    auth = await enabled_settings(services)
    _require_oauth_app(auth)
    nonce = random_id(32)
    state = sign_state(services.barrier.keyring, nonce, int(now()) + STATE_TTL)
    query = urlencode(
        {
            "client_id": auth.github_client_id,
            "redirect_uri": auth.github_redirect_url,
            "state": state,
            "scope": SCOPE,
        }
    )
    return BrowserStart(f"{auth.github_web_base_url}/login/oauth/authorize?{query}", nonce)


async def finish_browser_login(
    services: Services, callback: Callback, ctx: RequestContext, user_agent: str | None
) -> TokenResponse:
    """Check the state, exchange the code, then log in as with a GitHub token."""
    auth = await enabled_settings(services)
    _require_oauth_app(auth)
    check_state(services.barrier.keyring, callback.state, callback.cookie_nonce, now())
    if callback.error is not None:
        reason = callback.error if _ERROR_CODE.fullmatch(callback.error) else "error"
        raise OAuthError("access_denied", f"GitHub did not authorize the login ({reason})")
    if not callback.code:
        raise OAuthError("invalid_request", f"GitHub's callback carries no code; {RESTART}")
    with login_attempt(ctx):
        token = await github_api(services, auth).exchange_code(
            auth.github_client_id,
            auth.github_client_secret.reveal(),
            callback.code,
            auth.github_redirect_url,
        )
    return await github_token_login(services, token, SessionOptions(), ctx, user_agent)
