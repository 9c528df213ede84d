"""Role mapping rules, and pagination that would send the token elsewhere."""

from __future__ import annotations

from types import MappingProxyType

from strongroom.github.mapping import GitHubIdentity, Team, highest_role, role_for
from strongroom.system.registry import AuthSettings
from tests.github.conftest import World, github_login
from tests.support import Api

ORG, OTHER = 10, 20


def _auth(
    teams: dict[str, str] | None = None, users: dict[str, str] | None = None, default: str = ""
) -> AuthSettings:
    return AuthSettings(
        github_team_roles=MappingProxyType(teams or {}),
        github_user_roles=MappingProxyType(users or {}),
        github_default_role=default,
    )


def _who(login: str, *teams: Team) -> GitHubIdentity:
    return GitHubIdentity(1, login, frozenset({ORG}), teams)


def test_rank_is_admin_auditor_user_custom_no_role() -> None:
    assert highest_role(["no_role", "readers", "user", "auditor", "admin"]) == "admin"
    assert highest_role(["no_role", "readers", "user", "auditor"]) == "auditor"
    assert highest_role(["no_role", "readers", "user"]) == "user"
    assert highest_role(["no_role", "writers", "readers"]) == "readers"  # first by name
    assert highest_role(["no_role"]) == "no_role"
    assert highest_role([]) is None


def test_teams_match_by_name_or_slug_in_any_case_and_only_in_the_org() -> None:
    auth = _auth({"site reliability": "auditor", "devs": "user"})
    by_name = _who("a", Team("Site Reliability", "sre", ORG))
    by_slug = _who("b", Team("Developers", "DEVS", ORG))
    elsewhere = _who("c", Team("Site Reliability", "site-reliability", OTHER))
    assert role_for(auth, by_name, ORG) == "auditor"
    assert role_for(auth, by_slug, ORG) == "user"
    assert role_for(auth, elsewhere, ORG) is None


def test_user_map_beats_teams_even_downwards_and_default_comes_last() -> None:
    auth = _auth({"ops": "admin"}, {"alice": "no_role"}, default="user")
    assert role_for(auth, _who("Alice", Team("ops", "ops", ORG)), ORG) == "no_role"
    assert role_for(auth, _who("bob", Team("ops", "ops", ORG)), ORG) == "admin"
    assert role_for(auth, _who("carol"), ORG) == "user"
    assert role_for(_auth(), _who("carol"), ORG) is None


async def test_pagination_link_to_another_host_is_not_followed(gh: Api, world: World) -> None:
    github = world.github
    orgs = [github.add_org(f"org-{n}") for n in range(120)]
    user = github.add_user("paula", *orgs, world.acme, teams=(world.ops,))
    github.link_base = f"http://localhost:{github.port}/api/v3"
    response = await github_login(gh, github.issue_token(user))
    assert response.status_code == 503
    assert "another host" in response.json()["error_description"]
    assert not any("page=2" in path for path in github.paths())
