"""GitHub login (built out in the GitHub issue)."""

from __future__ import annotations

from strongroom.auth.schemas import SessionOptions, TokenResponse
from strongroom.errors import OAuthError
from strongroom.http.context import RequestContext
from strongroom.services import Services
from strongroom.users.repository import UserRow


async def recheck_github_user(services: Services, user: UserRow) -> str:
    """The role a GitHub user's session carries after re-checking membership."""
    raise OAuthError("invalid_grant", "GitHub login is not available on this server")


async def github_token_login(
    services: Services,
    github_token: str,
    options: SessionOptions,
    ctx: RequestContext,
    user_agent: str | None,
) -> TokenResponse:
    """Log in with a GitHub token: membership and role from GitHub, then a normal session."""
    raise OAuthError("unsupported_grant_type", "GitHub login is not available on this server")
