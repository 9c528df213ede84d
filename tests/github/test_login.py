"""GitHub token login: membership, role mapping, the local user, session options."""

from __future__ import annotations

import re
from typing import Any

import pytest

from strongroom.db import now
from strongroom.users import repository as users_repo
from tests.github.conftest import TOKEN_URL, World, configure, github_login
from tests.support import Api, make_user_session

ME = "/api/v1/users/me"


async def _user(api: Api, username: str) -> users_repo.UserRow | None:
    async with api.services.db.connect() as conn:
        return await users_repo.get_by_username(conn, username)


async def _sessions(api: Api) -> list[Any]:
    return (await api.services.store.list_sessions(None, now(), limit=100, cursor=None)).items


async def _me(api: Api, access_token: str) -> dict[str, Any]:
    response = await api.client.get(ME, headers=api.auth(access_token))
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def test_member_logs_in_with_the_role_of_their_team(api: Api, world: World) -> None:
    github = world.github
    await configure(api, github)
    response = await github_login(api, github.issue_token(world.alice), scope="ci")
    assert response.status_code == 200, response.text
    body = response.json()
    assert re.fullmatch(r"sra_[A-Za-z0-9_-]{43}", body["access_token"])
    assert body["refresh_token"].startswith("srr_")
    assert body["scope"] == "ci"
    me = await _me(api, body["access_token"])
    assert (me["username"], me["role"]) == ("alice", "admin")
    user = await _user(api, "alice")
    assert user is not None
    assert (user.github_id, user.github_login, user.password_hash) == (
        world.alice.id, "Alice", None,
    )  # fmt: skip
    [session] = await _sessions(api)
    assert (session.auth_method, session.role, session.username) == ("github", "admin", "alice")
    # The organization got pinned by id at this first login.
    assert api.services.settings.auth.github_organization_id == world.acme.id
    assert github.paths() == [
        "/api/v3/user",
        "/api/v3/orgs/acme",
        "/api/v3/user/orgs?per_page=100",
        "/api/v3/user/teams?per_page=100",
    ]


async def test_token_endpoint_github_grant_returns_the_token_response(
    gh: Api, world: World
) -> None:
    token = world.github.issue_token(world.bob)
    response = await gh.client.post(
        TOKEN_URL, data={"grant_type": "github_token", "github_token": token, "max_uses": "2"}
    )
    assert response.status_code == 200, response.text
    access = response.json()["access_token"]
    assert (await _me(gh, access))["role"] == "user"
    await _me(gh, access)
    assert (await gh.client.get(ME, headers=gh.auth(access))).status_code == 401


async def test_user_map_beats_teams_and_the_default(gh: Api, world: World) -> None:
    github = world.github
    both = github.add_user("dave", world.acme, teams=(world.devs, world.ops))
    await configure(
        gh,
        github,
        auth__github_user_roles={"ALICE": "auditor"},
        auth__github_default_role="no_role",
    )
    roles = {}
    for user in (world.alice, world.bob, world.carol, both):
        response = await github_login(gh, github.issue_token(user))
        assert response.status_code == 200, response.text
        roles[user.login] = (await _me(gh, response.json()["access_token"]))["role"]
    # alice: user map over her team; bob: devs; carol: no team, the default; dave: the
    # highest of his teams.
    assert roles == {"Alice": "auditor", "bob": "user", "carol": "no_role", "dave": "admin"}


async def test_non_member_is_refused_even_with_a_team_of_the_same_name(
    gh: Api, world: World
) -> None:
    # mallory is in team "Ops" of another organization: neither membership nor team counts.
    response = await github_login(gh, world.github.issue_token(world.mallory))
    assert response.status_code == 403
    assert response.json()["error"] == "invalid_grant"
    assert "not a member" in response.json()["error_description"]
    assert await _user(gh, "mallory") is None
    assert await _sessions(gh) == []


async def test_member_without_mapping_is_refused_unless_a_default_role_is_set(
    gh: Api, world: World
) -> None:
    token = world.github.issue_token(world.carol)
    refused = await github_login(gh, token)
    assert refused.status_code == 403
    assert "no strongroom role" in refused.json()["error_description"]
    assert await _user(gh, "carol") is None
    await gh.set_settings(auth__github_default_role="user")
    accepted = await github_login(gh, token)
    assert accepted.status_code == 200
    assert (await _me(gh, accepted.json()["access_token"]))["role"] == "user"


async def test_memberships_are_read_across_pages(gh: Api, world: World) -> None:
    github = world.github
    many_orgs = [github.add_org(f"org-{n:03d}") for n in range(150)]
    many_teams = [github.add_team(org, "Ops") for org in many_orgs[:120]]
    # The configured organization and its team come last: on page 2 of each list.
    user = github.add_user("paula", *many_orgs, world.acme, teams=(*many_teams, world.ops))
    response = await github_login(gh, github.issue_token(user))
    assert response.status_code == 200, response.text
    assert (await _me(gh, response.json()["access_token"]))["role"] == "admin"
    assert "/api/v3/user/orgs?per_page=100&page=2" in github.paths()
    assert "/api/v3/user/teams?per_page=100&page=2" in github.paths()


async def test_bad_token_is_401_and_creates_nothing(gh: Api, world: World) -> None:
    response = await github_login(gh, "gho_not-a-token-github-knows")
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_grant"
    assert "www-authenticate" in response.headers
    assert await _sessions(gh) == []


async def test_github_login_disabled_is_a_clear_400(gh: Api, world: World) -> None:
    await gh.set_settings(auth__github_enabled=False)
    for response in (
        await github_login(gh, world.github.issue_token(world.alice)),
        await gh.client.post(TOKEN_URL, data={"grant_type": "github_token", "github_token": "x"}),
    ):
        assert response.status_code == 400
        assert response.json()["error"] == "unsupported_grant_type"
        assert "disabled" in response.json()["error_description"]
    assert world.github.requests == []


async def test_token_without_read_org_scope_is_refused_with_a_reason(gh: Api, world: World) -> None:
    response = await github_login(gh, world.github.issue_token(world.alice, scopes="repo, gist"))
    assert response.status_code == 403
    assert "read:org" in response.json()["error_description"]
    # A token that lists no scopes (fine-grained, GitHub App) is judged by its answers.
    assert (await github_login(gh, world.github.issue_token(world.alice, None))).status_code == 200


async def test_username_of_a_local_account_is_never_merged(gh: Api, world: World) -> None:
    await make_user_session(gh.services, "bob", "user", password="local password 123")
    response = await github_login(gh, world.github.issue_token(world.bob))
    assert response.status_code == 409
    assert "never merged" in response.json()["error_description"]
    local = await _user(gh, "bob")
    assert local is not None
    assert (local.github_id, local.role) == (None, "user")
    assert [s.auth_method for s in await _sessions(gh)] == ["password"]


async def test_rename_on_github_keeps_the_local_user_and_a_newcomer_cannot_take_it(
    gh: Api, world: World
) -> None:
    github = world.github
    first = await github_login(gh, github.issue_token(world.alice))
    assert first.status_code == 200
    world.alice.login = "alice-2"
    again = await github_login(gh, github.issue_token(world.alice))
    assert again.status_code == 200
    assert (await _me(gh, again.json()["access_token"]))["username"] == "alice"
    user = await _user(gh, "alice")
    assert user is not None and user.github_login == "alice-2"
    # Another GitHub account that now calls itself "alice" does not get alice's account.
    newcomer = github.add_user("ALICE", world.acme, teams=(world.ops,))
    taken = await github_login(gh, github.issue_token(newcomer))
    assert taken.status_code == 409
    assert "another GitHub account" in taken.json()["error_description"]


async def test_disabled_linked_user_is_refused(gh: Api, world: World) -> None:
    token = world.github.issue_token(world.bob)
    assert (await github_login(gh, token)).status_code == 200
    user = await _user(gh, "bob")
    assert user is not None
    async with gh.services.db.begin() as conn:
        await users_repo.update_user(conn, user.id, disabled=True)
    await gh.services.store.revoke_user_sessions(user.id)
    response = await github_login(gh, token)
    assert response.status_code == 403
    assert "disabled" in response.json()["error_description"]
    assert await _sessions(gh) == []


async def test_one_time_session_through_github_login(gh: Api, world: World) -> None:
    response = await github_login(gh, world.github.issue_token(world.bob), one_time=True)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["refresh_token"] is None
    assert (await gh.client.get(ME, headers=gh.auth(body["access_token"]))).status_code == 200
    assert (await gh.client.get(ME, headers=gh.auth(body["access_token"]))).status_code == 401


async def test_ttl_bind_ip_and_max_uses_through_github_login(gh: Api, world: World) -> None:
    response = await github_login(
        gh, world.github.issue_token(world.bob), ttl="2m", bind_ip=True, max_uses=5, client_id="cli"
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["expires_in"] == 120
    [session] = await _sessions(gh)
    assert (session.bound_ip, session.max_uses, session.client_id) == ("203.0.113.7", 5, "cli")
    async with gh.client_from("198.51.100.9") as elsewhere:
        moved = await elsewhere.get(ME, headers=gh.auth(body["access_token"]))
    assert moved.status_code == 401
    assert (await gh.client.get(ME, headers=gh.auth(body["access_token"]))).status_code == 200


@pytest.mark.parametrize(
    ("options", "field"),
    [({"ttl": "400d"}, "ttl"), ({"max_uses": 0}, "max_uses"), ({"surprise": 1}, "surprise")],
)
async def test_bad_session_options_change_nothing_and_ask_github_nothing(
    gh: Api, world: World, options: dict[str, Any], field: str
) -> None:
    response = await github_login(gh, world.github.issue_token(world.alice), **options)
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"][-1] == field
    assert world.github.requests == []
    assert await _user(gh, "alice") is None


async def test_finding_5_a_github_user_with_a_deleted_users_name_reads_none_of_its_secrets(
    gh: Api, world: World
) -> None:
    """A password user `bob` is deleted; GitHub's bob logs in and is provisioned as `bob`."""
    admin_token, _ = await make_user_session(gh.services, "root", "admin")
    await gh.create_user(admin_token, "bob")
    old_bob = gh.auth((await gh.login("bob"))["access_token"])
    made = await gh.client.post(
        "/api/v1/secrets/create",
        json={"path": "users/bob/db", "value": "OLD-BOB"},
        headers=old_bob,
    )
    assert made.status_code == 200, made.text
    deleted = await gh.client.post("/api/v1/users/bob/delete", headers=gh.auth(admin_token))
    assert deleted.status_code == 200
    response = await github_login(gh, world.github.issue_token(world.bob))
    assert response.status_code == 200, response.text
    new_bob = gh.auth(response.json()["access_token"])
    assert (await _me(gh, response.json()["access_token"]))["username"] == "bob"
    listed = await gh.client.get("/api/v1/secrets", headers=new_bob)
    assert listed.json()["items"] == [], listed.text
    for url in (f"/api/v1/secrets/{made.json()['id']}", "/api/v1/secrets/by-path/users/bob/db"):
        old = await gh.client.get(url, headers=new_bob)
        assert old.status_code == 404, old.text
        assert "OLD-BOB" not in old.text
