"""A fake GitHub: a real HTTP server (Starlette under uvicorn, in a thread, on a free port).

The REST API answers under /api/v3 (the GitHub Enterprise Server layout, so the base URL has a
path as on GHES) and the OAuth web endpoints at the root, as github.com has them. It holds
users, organizations, teams and tokens; paginates with `Link` headers like GitHub (per_page
up to 100); answers rate-limit refusals on demand; can fail with a status, or go down
altogether (the port refuses connections) and come back. Every API request is recorded
(method, path and query, never the Authorization header) for the tests to inspect.
"""

from __future__ import annotations

import itertools
import secrets
import threading
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from tests.support import free_port


@dataclass
class Org:
    id: int
    login: str


@dataclass
class Team:
    id: int
    org: Org
    name: str
    slug: str


@dataclass
class User:
    id: int
    login: str
    orgs: list[Org] = field(default_factory=list)
    teams: list[Team] = field(default_factory=list)


@dataclass
class Token:
    user: User
    scopes: str | None


class FakeGitHub:
    client_id = "Iv1.fake-client"
    client_secret = "fake-client-secret-7f1d"

    def __init__(self) -> None:
        self.port = free_port()
        self.users: dict[int, User] = {}
        self.orgs: dict[int, Org] = {}
        self.tokens: dict[str, Token] = {}
        self.codes: dict[str, tuple[User, str]] = {}
        self.requests: list[tuple[str, str]] = []
        self.browser_user: User | None = None  # who is "signed in" on the fake web site
        self.rate_limit: dict[str, str] | None = None
        self.rate_limit_status = 403
        self.fail_status: int | None = None
        self.link_base: str | None = None  # another origin for pagination links, on demand
        self._ids = itertools.count(1000)
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None

    # URLs ----------------------------------------------------------------------------------

    @property
    def web_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def api_url(self) -> str:
        return f"{self.web_url}/api/v3"

    # The world -------------------------------------------------------------------------------

    def add_org(self, login: str, org_id: int | None = None) -> Org:
        org = Org(org_id or next(self._ids), login)
        self.orgs[org.id] = org
        return org

    def add_team(self, org: Org, name: str, slug: str | None = None) -> Team:
        return Team(next(self._ids), org, name, slug or name.lower().replace(" ", "-"))

    def add_user(self, login: str, *orgs: Org, teams: tuple[Team, ...] = ()) -> User:
        user = User(next(self._ids), login, list(orgs), list(teams))
        self.users[user.id] = user
        return user

    def issue_token(self, user: User, scopes: str | None = "read:org, repo") -> str:
        token = "gho_" + secrets.token_urlsafe(27)
        self.tokens[token] = Token(user, scopes)
        return token

    def rename_org(self, org: Org, login: str) -> None:
        org.login = login

    def limit_primary(self, reset_in: int) -> None:
        """The primary rate limit: 403, X-RateLimit-Remaining 0 and the reset time."""
        self.rate_limit_status = 403
        self.rate_limit = {
            "X-RateLimit-Limit": "5000",
            "X-RateLimit-Remaining": "0",
            "X-RateLimit-Reset": str(int(time.time()) + reset_in),
        }

    def limit_secondary(self, retry_after: int) -> None:
        """A secondary rate limit: 429 with Retry-After."""
        self.rate_limit_status = 429
        self.rate_limit = {"Retry-After": str(retry_after)}

    def paths(self) -> list[str]:
        return [path for _, path in self.requests]

    # Serving ---------------------------------------------------------------------------------

    def _token(self, request: Request) -> Token | None:
        scheme, _, value = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() not in {"bearer", "token"}:
            return None
        return self.tokens.get(value.strip())

    def _refusal(self, request: Request) -> Response | None:
        self.requests.append((request.method, request.url.path + _query(request)))
        if self.fail_status is not None:
            return JSONResponse({"message": "Server Error"}, status_code=self.fail_status)
        if self.rate_limit is not None:
            return JSONResponse(
                {"message": "API rate limit exceeded"},
                status_code=self.rate_limit_status,
                headers=self.rate_limit,
            )
        return None

    def _authenticated(self, request: Request) -> Token | Response:
        refusal = self._refusal(request)
        if refusal is not None:
            return refusal
        token = self._token(request)
        if token is None:
            return JSONResponse({"message": "Bad credentials"}, status_code=401)
        return token

    def _page(self, request: Request, items: list[dict[str, Any]]) -> Response:
        per_page = min(int(request.query_params.get("per_page", "30")), 100)
        page = int(request.query_params.get("page", "1"))
        start = (page - 1) * per_page
        headers = {}
        last = max(1, -(-len(items) // per_page))
        if page < last:
            link = f"{self.link_base or self.api_url}{request.url.path.removeprefix('/api/v3')}"
            headers["Link"] = (
                f'<{link}?{urlencode({"per_page": per_page, "page": page + 1})}>; rel="next", '
                f'<{link}?{urlencode({"per_page": per_page, "page": last})}>; rel="last"'
            )
        return JSONResponse(items[start : start + per_page], headers=headers)

    async def user(self, request: Request) -> Response:
        token = self._authenticated(request)
        if isinstance(token, Response):
            return token
        headers = {} if token.scopes is None else {"X-OAuth-Scopes": token.scopes}
        body = {"id": token.user.id, "login": token.user.login, "type": "User"}
        return JSONResponse(body, headers=headers)

    async def user_orgs(self, request: Request) -> Response:
        token = self._authenticated(request)
        if isinstance(token, Response):
            return token
        return self._page(request, [{"id": o.id, "login": o.login} for o in token.user.orgs])

    async def user_teams(self, request: Request) -> Response:
        token = self._authenticated(request)
        if isinstance(token, Response):
            return token
        teams = [
            {
                "id": t.id,
                "name": t.name,
                "slug": t.slug,
                "organization": {"id": t.org.id, "login": t.org.login},
            }
            for t in token.user.teams
        ]
        return self._page(request, teams)

    async def org(self, request: Request) -> Response:
        token = self._authenticated(request)
        if isinstance(token, Response):
            return token
        login = request.path_params["org"].lower()
        for org in self.orgs.values():
            if org.login.lower() == login:
                return JSONResponse({"id": org.id, "login": org.login})
        return JSONResponse({"message": "Not Found"}, status_code=404)

    async def authorize(self, request: Request) -> Response:
        """The user approves at once (they are `browser_user`); back to redirect_uri."""
        params = request.query_params
        if params.get("client_id") != self.client_id or self.browser_user is None:
            return JSONResponse({"message": "not signed in or unknown app"}, status_code=400)
        code = secrets.token_hex(10)
        self.codes[code] = (self.browser_user, params["redirect_uri"])
        query = urlencode({"code": code, "state": params.get("state", "")})
        return RedirectResponse(f"{params['redirect_uri']}?{query}", status_code=302)

    async def access_token(self, request: Request) -> Response:
        refusal = self._refusal(request)
        if refusal is not None:
            return refusal
        form = await request.form()
        if (form.get("client_id"), form.get("client_secret")) != (
            self.client_id,
            self.client_secret,
        ):
            return JSONResponse({"error": "incorrect_client_credentials"})
        grant = self.codes.pop(str(form.get("code")), None)
        if grant is None or grant[1] != form.get("redirect_uri"):
            return JSONResponse(
                {"error": "bad_verification_code", "error_description": "The code is wrong."}
            )
        token = self.issue_token(grant[0], "read:org")
        return JSONResponse({"access_token": token, "token_type": "bearer", "scope": "read:org"})

    def app(self) -> Starlette:
        return Starlette(
            routes=[
                Route("/api/v3/user", self.user),
                Route("/api/v3/user/orgs", self.user_orgs),
                Route("/api/v3/user/teams", self.user_teams),
                Route("/api/v3/orgs/{org}", self.org),
                Route("/login/oauth/authorize", self.authorize),
                Route("/login/oauth/access_token", self.access_token, methods=["POST"]),
            ]
        )

    # Up and down -----------------------------------------------------------------------------

    def start(self) -> FakeGitHub:
        config = uvicorn.Config(
            self.app(),
            host="127.0.0.1",
            port=self.port,
            log_level="warning",
            access_log=False,
            lifespan="off",
            loop="asyncio",
            http="h11",
            ws="none",
            timeout_graceful_shutdown=2,
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 15
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError("the fake GitHub server did not start")
            time.sleep(0.01)
        return self

    def go_down(self) -> None:
        """Stop serving: connections to the port are refused until `start()` again."""
        if self._server is not None and self._thread is not None:
            self._server.should_exit = True
            self._thread.join(15)
        self._server = self._thread = None

    stop = go_down


def _query(request: Request) -> str:
    return f"?{request.url.query}" if request.url.query else ""
