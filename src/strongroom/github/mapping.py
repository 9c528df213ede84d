"""Who a GitHub token belongs to, and which strongroom role that earns.

The role of a GitHub user, first match wins:

1. `auth.github_user_roles[login]` (GitHub login, case-insensitive): the user map beats teams.
2. The highest role among `auth.github_team_roles[team]` for the user's teams *in the pinned
   organization* (team name or slug, case-insensitive; teams of other organizations never
   count). Rank: admin > auditor > user > custom roles > no_role; between two custom roles
   the first by name wins, so the result never depends on the order GitHub lists teams in.
3. `auth.github_default_role`; when that is empty the user is refused.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from strongroom.github.client import GitHubUnavailable
from strongroom.policy.rules import ADMIN, AUDITOR, NO_ROLE, USER
from strongroom.system.registry import AuthSettings

# Custom roles rank 1: above no_role, below every built-in role that grants something.
_RANK = {ADMIN: 4, AUDITOR: 3, USER: 2, NO_ROLE: 0}
CUSTOM_RANK = 1


@dataclass(frozen=True, slots=True)
class Team:
    name: str
    slug: str
    org_id: int


@dataclass(frozen=True, slots=True)
class GitHubIdentity:
    """What GitHub says about a token's owner. Never holds the token."""

    id: int
    login: str
    org_ids: frozenset[int]
    teams: tuple[Team, ...]


def _id(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise GitHubUnavailable("GitHub's answer lacks a numeric id")
    return value


def _text(value: Any, what: str) -> str:
    if not isinstance(value, str) or not value or len(value) > 200:
        raise GitHubUnavailable(f"GitHub's answer lacks a valid {what}")
    return value


def parse_user(data: Any) -> tuple[int, str]:
    """(id, login) from `GET /user`."""
    if not isinstance(data, Mapping):
        raise GitHubUnavailable("GitHub's answer to /user is not an object")
    return _id(data.get("id")), _text(data.get("login"), "login")


def parse_org_id(data: Any) -> int:
    """The id from `GET /orgs/{org}`."""
    if not isinstance(data, Mapping):
        raise GitHubUnavailable("GitHub's answer about the organization is not an object")
    return _id(data.get("id"))


def parse_org_ids(items: Iterable[Any]) -> frozenset[int]:
    """Organization ids from `GET /user/orgs`."""
    found = set()
    for item in items:
        if not isinstance(item, Mapping):
            raise GitHubUnavailable("GitHub's list of organizations holds a non-object")
        found.add(_id(item.get("id")))
    return frozenset(found)


def parse_teams(items: Iterable[Any]) -> tuple[Team, ...]:
    """Teams from `GET /user/teams`, with the id of the organization each belongs to."""
    teams = []
    for item in items:
        organization = item.get("organization") if isinstance(item, Mapping) else None
        if not isinstance(organization, Mapping):
            raise GitHubUnavailable("GitHub's list of teams holds a team without organization")
        teams.append(
            Team(
                _text(item.get("name"), "team name"),
                _text(item.get("slug"), "team slug"),
                _id(organization.get("id")),
            )
        )
    return tuple(teams)


def role_rank(role: str) -> int:
    return _RANK.get(role, CUSTOM_RANK)


def highest_role(roles: Iterable[str]) -> str | None:
    """The highest-ranked role; the first by name between roles of equal rank."""
    return min(roles, key=lambda role: (-role_rank(role), role), default=None)


def team_roles(auth: AuthSettings, teams: Iterable[Team], org_id: int) -> list[str]:
    """Roles the user's teams in organization `org_id` map to (map keys are lower case)."""
    found = []
    for team in teams:
        if team.org_id != org_id:
            continue
        for key in {team.name.lower(), team.slug.lower()}:
            role = auth.github_team_roles.get(key)
            if role is not None:
                found.append(role)
    return found


def role_for(auth: AuthSettings, identity: GitHubIdentity, org_id: int) -> str | None:
    """The role `identity` earns under the maps of `auth`; None when it earns none."""
    user_role = auth.github_user_roles.get(identity.login.lower())
    if user_role is not None:
        return user_role
    best = highest_role(team_roles(auth, identity.teams, org_id))
    if best is not None:
        return best
    return auth.github_default_role or None
