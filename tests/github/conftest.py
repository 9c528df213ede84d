"""A fake GitHub server per test, and the app configured to log in against it."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from tests.github.fake_github import FakeGitHub, Org, Team, User
from tests.support import Api, make_user_session

LOGIN_URL = "/api/v1/auth/github/login"
TOKEN_URL = "/api/v1/auth/token/create"
RENEW_URL = "/api/v1/auth/token/renew"


@dataclass
class World:
    """acme with teams ops (→ admin) and devs (→ user); alice in ops, bob in devs, carol in
    acme with no team, mallory in another organization only."""

    github: FakeGitHub
    acme: Org
    ops: Team
    devs: Team
    alice: User
    bob: User
    carol: User
    mallory: User


@pytest.fixture
def github() -> Iterator[FakeGitHub]:
    fake = FakeGitHub().start()
    yield fake
    fake.stop()


@pytest.fixture
def world(github: FakeGitHub) -> World:
    acme = github.add_org("acme")
    other = github.add_org("other-corp")
    ops, devs = github.add_team(acme, "Ops"), github.add_team(acme, "Developers", "devs")
    return World(
        github,
        acme,
        ops,
        devs,
        alice=github.add_user("Alice", acme, teams=(ops,)),
        bob=github.add_user("bob", acme, teams=(devs,)),
        carol=github.add_user("carol", acme),
        mallory=github.add_user("mallory", other, teams=(github.add_team(other, "Ops"),)),
    )


async def configure(api: Api, github: FakeGitHub, **overrides: Any) -> None:
    """Turn GitHub login on against the fake (settings as the settings API stores them)."""
    values: dict[str, Any] = {
        "auth__github_enabled": True,
        "auth__github_organization": "acme",
        "auth__github_base_url": github.api_url,
        "auth__github_web_base_url": github.web_url,
        "auth__github_team_roles": {"ops": "admin", "devs": "user"},
        **overrides,
    }
    await api.set_settings(**values)


@pytest.fixture
async def gh(sqlite_api: Api, world: World) -> Api:
    """The app on SQLite with GitHub login configured against the fake."""
    await configure(sqlite_api, world.github)
    return sqlite_api


async def admin_headers(api: Api) -> dict[str, str]:
    token, _ = await make_user_session(api.services, "root", "admin")
    return api.auth(token)


async def github_login(api: Api, token: str, **options: Any) -> Any:
    return await api.client.post(LOGIN_URL, json={"token": token, **options})
