"""A small GitHub REST client: identity calls, organization lookup and the OAuth code exchange.

    GitHubError                  anything that stops a GitHub login
    ├── GitHubUnavailable        no answer, a timeout, a 5xx or an answer we cannot read (503)
    │   └── GitHubRateLimited    403/429 with `X-RateLimit-Remaining: 0` or `Retry-After`
    ├── GitHubBadCredentials     401, or a refused OAuth code: invalid, expired or revoked
    └── GitHubRefused            403/404: the token may not read this (scope, SAML SSO, no org)

One `httpx.AsyncClient` per node, made on first use and kept in `services.extras` (the app
closes it at shutdown), with 5 s timeouts. A GitHub token goes only into the Authorization
header of requests to the configured API origin: a pagination link to any other origin is
refused, so a hostile `Link` header cannot make the server send the token elsewhere. Nothing
here logs a token, a code or a client secret.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpx

from strongroom import __version__
from strongroom.services import Services

EXTRAS_KEY = "github.http"
TIMEOUT = httpx.Timeout(5.0)
PER_PAGE = 100
# 100 pages of 100: far past any real account, and a bound on a Link chain that never ends.
MAX_PAGES = 100
DEFAULT_RETRY_AFTER = 60
MAX_RETRY_AFTER = 3600
# Code-exchange errors that are the operator's to fix, not the user's.
_SERVER_SIDE_ERRORS = frozenset({"incorrect_client_credentials", "redirect_uri_mismatch"})


class GitHubError(Exception):
    """A GitHub login cannot go on; the message is safe to show (it never holds a token)."""


class GitHubUnavailable(GitHubError):
    pass


class GitHubRateLimited(GitHubUnavailable):
    def __init__(self, retry_after: int) -> None:
        super().__init__(f"GitHub's API rate limit is exhausted; retry in {retry_after} s")
        self.retry_after = retry_after


class GitHubBadCredentials(GitHubError):
    pass


class GitHubRefused(GitHubError):
    pass


def http_client(services: Services) -> httpx.AsyncClient:
    """The node's client for GitHub, made on first use."""
    client: httpx.AsyncClient | None = services.extras.get(EXTRAS_KEY)
    if client is None or client.is_closed:
        client = httpx.AsyncClient(
            timeout=TIMEOUT,
            follow_redirects=False,
            headers={"User-Agent": f"strongroom/{__version__}"},
        )
        services.extras[EXTRAS_KEY] = client
    return client


def _retry_after(response: httpx.Response) -> int | None:
    """Seconds until GitHub lets us call again, if the response is a rate-limit refusal."""
    headers = response.headers
    limited = headers.get("x-ratelimit-remaining") == "0" or "retry-after" in headers
    if response.status_code not in (403, 429) or not limited:
        return None
    seconds: float = DEFAULT_RETRY_AFTER
    try:
        if "retry-after" in headers:
            seconds = float(headers["retry-after"])
        elif "x-ratelimit-reset" in headers:
            seconds = float(headers["x-ratelimit-reset"]) - time.time()
    except ValueError:
        pass
    if not math.isfinite(seconds):
        seconds = DEFAULT_RETRY_AFTER
    return min(MAX_RETRY_AFTER, max(1, math.ceil(seconds)))


def check_response(response: httpx.Response, what: str) -> None:
    """Raise the `GitHubError` a non-2xx answer means."""
    status = response.status_code
    if 200 <= status < 300:
        return
    retry_after = _retry_after(response)
    if retry_after is not None:
        raise GitHubRateLimited(retry_after)
    if status == 401:
        raise GitHubBadCredentials("GitHub rejected the token: it is invalid, expired or revoked")
    if status in (403, 404):
        raise GitHubRefused(
            f"GitHub refused {what} (HTTP {status}): the token may lack the read:org scope "
            "or SAML single sign-on authorization for the organization"
        )
    raise GitHubUnavailable(f"GitHub answered {what} with HTTP {status}")


def json_of(response: httpx.Response, what: str) -> Any:
    try:
        return response.json()
    except ValueError:
        raise GitHubUnavailable(f"GitHub's answer to {what} is not JSON") from None


def _origin(url: str) -> tuple[str, str]:
    parts = urlsplit(url)
    return parts.scheme.lower(), parts.netloc.lower()


@dataclass(frozen=True, slots=True)
class GitHubApi:
    """The REST API at `base_url` (github.com: https://api.github.com; GitHub Enterprise
    Server: https://HOST/api/v3) and the web site at `web_base_url` (OAuth)."""

    http: httpx.AsyncClient
    base_url: str
    web_base_url: str

    async def _send(self, request: httpx.Request, what: str) -> httpx.Response:
        try:
            response = await self.http.send(request)
        except httpx.TimeoutException:
            raise GitHubUnavailable(f"GitHub did not answer {what} in time") from None
        except (httpx.HTTPError, httpx.InvalidURL) as exc:
            raise GitHubUnavailable(
                f"GitHub could not be reached for {what} ({type(exc).__name__})"
            ) from None
        check_response(response, what)
        return response

    def _request(self, method: str, url: str, token: str, **kwargs: Any) -> httpx.Request:
        headers = {"Authorization": f"Bearer {token}", "Accept": "application/vnd.github+json"}
        return self.http.build_request(method, url, headers=headers, **kwargs)

    async def get(self, path: str, token: str) -> httpx.Response:
        """GET `{base_url}{path}` as the token's owner; raises `GitHubError` unless 2xx."""
        return await self._send(self._request("GET", self.base_url + path, token), path)

    async def get_json(self, path: str, token: str) -> Any:
        return json_of(await self.get(path, token), path)

    async def get_all(self, path: str, token: str) -> list[Any]:
        """Every item of a paginated list, following `Link: rel="next"` on the same origin."""
        items: list[Any] = []
        url: str | None = self.base_url + path
        params: dict[str, int] | None = {"per_page": PER_PAGE}
        for _ in range(MAX_PAGES):
            if url is None:
                return items
            if _origin(url) != _origin(self.base_url):
                raise GitHubUnavailable(f"GitHub's next page of {path} is on another host")
            response = await self._send(self._request("GET", url, token, params=params), path)
            page = json_of(response, path)
            if not isinstance(page, list):
                raise GitHubUnavailable(f"GitHub's answer to {path} is not a list")
            items.extend(page)
            url = response.links.get("next", {}).get("url")
            params = None  # the next link carries its own query
        raise GitHubUnavailable(f"GitHub's list {path} did not end after {MAX_PAGES} pages")

    async def exchange_code(
        self, client_id: str, client_secret: str, code: str, redirect_uri: str
    ) -> str:
        """The user's GitHub token for an OAuth authorization code (used once, never kept)."""
        what = "the OAuth code exchange"
        request = self.http.build_request(
            "POST",
            f"{self.web_base_url}/login/oauth/access_token",
            headers={"Accept": "application/json"},
            data={
                "client_id": client_id,
                "client_secret": client_secret,
                "code": code,
                "redirect_uri": redirect_uri,
            },
        )
        body = json_of(await self._send(request, what), what)
        if not isinstance(body, dict):
            raise GitHubUnavailable(f"GitHub's answer to {what} is not an object")
        token = body.get("access_token")
        if isinstance(token, str) and token:
            return token
        error = body.get("error")
        reason = error[:60] if isinstance(error, str) and error.isidentifier() else "no token"
        if reason in _SERVER_SIDE_ERRORS:
            raise GitHubUnavailable(
                f"GitHub refused this server's OAuth app ({reason}): check auth.github_client_id, "
                "auth.github_client_secret and auth.github_redirect_url"
            )
        raise GitHubBadCredentials(f"GitHub refused the authorization code ({reason})")
