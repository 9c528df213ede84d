"""GitHub login: membership and role from GitHub, then a normal strongroom session.

Login (`POST /auth/github/login`, grant_type `github_token`, and the browser callback):
`GET /user`, then `GET /user/orgs` and `GET /user/teams` (every page) with the caller's token.
The caller must belong to the configured organization, compared by its pinned numeric id
(see `organization`); teams count only when they belong to it; the role comes from the maps
(see `mapping`); the local user is created or updated (see `accounts`) and a session opened
with the usual options. Nothing is written before GitHub has answered every call.

Re-checking at renew — the decision. The GitHub token is never stored (not even encrypted),
so the server cannot ask GitHub about a user on its own. Renewing a session opened by GitHub
login therefore needs the GitHub token again: `github_token` beside `refresh_token` on
`/auth/token/renew` (or the `refresh_token` grant). The server repeats the login checks with
it: the token must belong to the session's GitHub account; a user who left the organization
(or no longer maps to any role) has every session ended and gets `invalid_grant`; otherwise
the session continues with the role GitHub gives now. A renew without the GitHub token is
refused (400 `invalid_request`) without consuming the refresh token. Access that GitHub takes
away thus ends at the latest when the current access token expires (`access_token_ttl`), as
with Vault's GitHub method, and no long-lived GitHub credential sits on the server. Browser
sessions, whose GitHub token the browser never sees, renew by going through
`/auth/github/authorize` again (GitHub answers at once for a user who already authorized).

Failures are answered in the token endpoint's shape (`OAuthError`): GitHub unreachable or
unreadable, 503 `github_unavailable` (with `Retry-After` for a rate limit); a token GitHub
rejects, 401 `invalid_grant` (counted against the client IP like failed password logins); not
a member, no role, a disabled account, 403; a username taken by an unlinked account, 409.
The token never reaches a log line, an error, the database or the audit log: at most its
HMAC under the audit key, in the audit record.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager

from strongroom.auth import lockout
from strongroom.auth.issue import check_session_options, open_session
from strongroom.auth.schemas import SessionOptions, TokenResponse
from strongroom.crypto import KeyPurpose
from strongroom.errors import OAuthError
from strongroom.github import accounts
from strongroom.github.client import (
    GitHubApi,
    GitHubBadCredentials,
    GitHubError,
    GitHubRateLimited,
    GitHubRefused,
    GitHubUnavailable,
    http_client,
    json_of,
)
from strongroom.github.mapping import (
    GitHubIdentity,
    parse_org_ids,
    parse_teams,
    parse_user,
    role_for,
)
from strongroom.github.organization import pinned_organization_id
from strongroom.http.context import RequestContext
from strongroom.services import Services
from strongroom.system.registry import AuthSettings
from strongroom.users.repository import UserRow

METHOD = "github"
ORG_SCOPES = frozenset({"read:org", "write:org", "admin:org"})
NOT_MEMBER = "this GitHub account is not a member of the organization this server requires"
NO_ROLE = "no strongroom role is mapped to this GitHub account and there is no default role"
# GitHub tokens are printable ASCII; anything else cannot go into an Authorization header.
TOKEN_SHAPE = re.compile(r"[\x21-\x7e]{1,512}")
RENEW_NEEDS_TOKEN = (
    "renewing a session opened by GitHub login needs github_token (a current GitHub token of "
    "the same account) beside refresh_token, so that membership can be checked again"
)


async def enabled_settings(services: Services) -> AuthSettings:
    """The auth settings, current; 400 when GitHub login is off or not configured."""
    auth = (await services.runtime.refresh()).auth
    if not auth.github_enabled:
        raise OAuthError(
            "unsupported_grant_type",
            "GitHub login is disabled on this server (auth.github_enabled)",
        )
    if not auth.github_organization:
        raise OAuthError(
            "unsupported_grant_type",
            "GitHub login is not configured: auth.github_organization is empty",
        )
    return auth


def github_api(services: Services, auth: AuthSettings) -> GitHubApi:
    return GitHubApi(http_client(services), auth.github_base_url, auth.github_web_base_url)


def _oauth_error(exc: GitHubError) -> OAuthError:
    message = str(exc)
    if isinstance(exc, GitHubRateLimited):
        return OAuthError("github_unavailable", message, status=503, retry_after=exc.retry_after)
    if isinstance(exc, GitHubUnavailable):
        return OAuthError("github_unavailable", message, status=503)
    if isinstance(exc, GitHubBadCredentials):
        return OAuthError("invalid_grant", message, status=401)
    return OAuthError("invalid_grant", message, status=403)


def _locked_out(retry_after: int) -> OAuthError:
    return OAuthError("invalid_grant", lockout.LOCKED, status=429, retry_after=retry_after)


@contextmanager
def login_attempt(ctx: RequestContext) -> Iterator[None]:
    """Turn GitHub failures into token-endpoint errors and mark the audit record failed."""
    try:
        yield
    except GitHubError as exc:
        ctx.auth_failed = True
        raise _oauth_error(exc) from None
    except OAuthError:
        ctx.auth_failed = True
        raise


def _require_org_scope(scopes: str | None) -> None:
    """Classic tokens list their scopes; without read:org GitHub hides private memberships,
    which would look like "not a member". Other tokens send no list and are not judged here."""
    granted = {scope.strip() for scope in (scopes or "").split(",") if scope.strip()}
    if granted and not granted & ORG_SCOPES:
        raise GitHubRefused("the GitHub token lacks the read:org scope")


async def _refuse(services: Services, github_id: int, message: str, status: int) -> OAuthError:
    """Access is gone: end every session of the linked user, then the error to raise."""
    await accounts.end_sessions_of(services, github_id)
    return OAuthError("invalid_grant", message, status=status)


async def _verified_identity(
    services: Services,
    auth: AuthSettings,
    token: str,
    ctx: RequestContext,
    *,
    expected_github_id: int | None = None,
    refusal_status: int = 403,
) -> tuple[GitHubIdentity, str]:
    """The token's owner as a member of the organization, with the role the maps give."""
    api = github_api(services, auth)
    response = await api.get("/user", token)
    github_id, login = parse_user(json_of(response, "/user"))
    ctx.attempted_username = login.lower()
    if expected_github_id is not None and github_id != expected_github_id:
        raise OAuthError("invalid_grant", "the GitHub token belongs to another GitHub account")
    _require_org_scope(response.headers.get("x-oauth-scopes"))
    org_id = await pinned_organization_id(services, api, auth, token, ctx.request_id)
    org_ids = parse_org_ids(await api.get_all("/user/orgs", token))
    if org_id not in org_ids:
        raise await _refuse(services, github_id, NOT_MEMBER, refusal_status)
    identity = GitHubIdentity(
        github_id, login, org_ids, parse_teams(await api.get_all("/user/teams", token))
    )
    role = role_for(auth, identity, org_id)
    if role is None:
        raise await _refuse(services, github_id, NO_ROLE, refusal_status)
    return identity, role


def _note_token(services: Services, ctx: RequestContext, token: str) -> None:
    """Correlate the attempt in the audit log by the token's HMAC, never the token."""
    ctx.token_hmac = services.barrier.keyring.mac(
        KeyPurpose.audit, token.encode("utf-8", "surrogatepass")
    )
    if not TOKEN_SHAPE.fullmatch(token):
        ctx.auth_failed = True
        raise OAuthError("invalid_request", "that is not a GitHub token (printable ASCII)")


async def github_token_login(
    services: Services,
    github_token: str,
    options: SessionOptions,
    ctx: RequestContext,
    user_agent: str | None,
) -> TokenResponse:
    """Log in with a GitHub token: membership and role from GitHub, then a normal session."""
    auth = await enabled_settings(services)
    # Bad options are the caller's mistake: refuse them before GitHub is asked or a user made.
    check_session_options(options, services.settings.security, ctx.client_ip)
    _note_token(services, ctx, github_token)
    # A token GitHub rejects counts on the client's counter of the password grant (both kinds
    # add up), reserved before GitHub is asked, like a password check (auth/lockout.py).
    counters = [lockout.client_counter(services.settings.security, ctx.client_ip)]
    with login_attempt(ctx):
        async with lockout.attempt(services, counters, ctx, _locked_out) as attempt:
            try:
                identity, role = await _verified_identity(services, auth, github_token, ctx)
            except GitHubBadCredentials:
                attempt.failed = True
                raise
        user = await accounts.link_user(services, identity, role)
        response = await open_session(services, user, METHOD, options, ctx, user_agent)
        await _end_if_user_gone(services, user, response.session_id)
    return response


async def _end_if_user_gone(services: Services, user: UserRow, session_id: str) -> None:
    """A delete or disable that committed while the session opened ends its sessions before
    this one existed: end this one too."""
    current = await accounts.current_user(services, user.id)
    if current is None or current.disabled:
        await services.store.revoke_session(session_id)
        raise OAuthError("invalid_grant", accounts.DISABLED, status=403)


async def recheck_github_user(
    services: Services, user: UserRow, github_token: str | None, ctx: RequestContext
) -> str:
    """At renew: the role the session carries from now on, after checking membership again
    with the GitHub token the client sent (see the module docstring). Access gone: every
    session of the user ends and `invalid_grant` is raised."""
    if github_token is None:
        raise OAuthError("invalid_request", RENEW_NEEDS_TOKEN)
    auth = await enabled_settings(services)
    if not TOKEN_SHAPE.fullmatch(github_token):
        raise OAuthError("invalid_request", "that is not a GitHub token (printable ASCII)")
    with login_attempt(ctx):
        if user.github_id is None:
            raise OAuthError("invalid_grant", "the session's user is not linked to GitHub")
        identity, role = await _verified_identity(
            services,
            auth,
            github_token,
            ctx,
            expected_github_id=user.github_id,
            refusal_status=400,
        )
        await accounts.sync_user(services, user, identity, role)
    return role
