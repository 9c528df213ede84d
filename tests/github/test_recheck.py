"""The organization pinned by id, and the re-check at every login and renew."""

from __future__ import annotations

from typing import Any

from strongroom.db import now
from tests.github.conftest import RENEW_URL, TOKEN_URL, World, admin_headers, github_login
from tests.support import Api

CHECK = "/api/v1/auth/check_token"


async def _login(api: Api, token: str, **options: Any) -> dict[str, Any]:
    response = await github_login(api, token, **options)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def _role(api: Api, access_token: str, username: str) -> str:
    response = await api.client.post(
        CHECK, json={"username": username}, headers=api.auth(access_token)
    )
    assert response.status_code == 200, response.text
    role: str = response.json()["role"]
    return role


async def _live_sessions(api: Api) -> int:
    page = await api.services.store.list_sessions(None, now(), limit=100, cursor=None)
    return len(page.items)


async def test_organization_is_pinned_by_id_across_a_rename(gh: Api, world: World) -> None:
    github = world.github
    alice_token = github.issue_token(world.alice)
    await _login(gh, alice_token)
    assert gh.services.settings.auth.github_organization_id == world.acme.id
    # The organization is renamed on GitHub and another one takes the old name.
    github.rename_org(world.acme, "acme-industries")
    impostor_org = github.add_org("acme")
    impostor = github.add_user("eve", impostor_org, teams=(github.add_team(impostor_org, "Ops"),))
    assert (await github_login(gh, alice_token)).status_code == 200
    refused = await github_login(gh, github.issue_token(impostor))
    assert refused.status_code == 403
    assert "not a member" in refused.json()["error_description"]
    assert gh.services.settings.auth.github_organization_id == world.acme.id
    # The pin was recorded in the settings history, like any change.
    history = await gh.client.get(
        "/api/v1/sys/settings/history?key=auth.github_organization_id",
        headers=await admin_headers(gh),
    )
    assert history.status_code == 200, history.text
    assert [item["new_value"] for item in history.json()["items"]] == [world.acme.id]


async def test_unknown_organization_is_refused_and_nothing_is_pinned(gh: Api, world: World) -> None:
    await gh.set_settings(auth__github_organization="no-such-org")
    response = await github_login(gh, world.github.issue_token(world.alice))
    assert response.status_code == 403
    assert "no-such-org" in response.json()["error_description"]
    assert gh.services.settings.auth.github_organization_id == 0


async def test_membership_lost_renew_fails_and_every_session_ends(gh: Api, world: World) -> None:
    github = world.github
    token = github.issue_token(world.bob)
    first, second = await _login(gh, token), await _login(gh, token)
    assert await _live_sessions(gh) == 2
    world.bob.orgs.remove(world.acme)
    response = await gh.client.post(
        RENEW_URL, json={"refresh_token": first["refresh_token"], "github_token": token}
    )
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_grant"
    assert "not a member" in response.json()["error_description"]
    for tokens in (first, second):
        me = await gh.client.get("/api/v1/users/me", headers=gh.auth(tokens["access_token"]))
        assert me.status_code == 401
    assert await _live_sessions(gh) == 0


async def test_a_login_attempt_after_leaving_ends_the_old_sessions(gh: Api, world: World) -> None:
    token = world.github.issue_token(world.bob)
    old = await _login(gh, token)
    world.bob.orgs.clear()
    assert (await github_login(gh, token)).status_code == 403
    me = await gh.client.get("/api/v1/users/me", headers=gh.auth(old["access_token"]))
    assert me.status_code == 401


async def test_team_change_moves_the_role_at_renew(gh: Api, world: World) -> None:
    github = world.github
    token = github.issue_token(world.bob)
    tokens = await _login(gh, token)
    assert await _role(gh, tokens["access_token"], "bob") == "user"
    world.bob.teams = [world.ops]
    renewed = await gh.client.post(
        RENEW_URL, json={"refresh_token": tokens["refresh_token"], "github_token": token}
    )
    assert renewed.status_code == 200, renewed.text
    assert await _role(gh, renewed.json()["access_token"], "bob") == "admin"
    me = await gh.client.get("/api/v1/users/me", headers=gh.auth(renewed.json()["access_token"]))
    assert me.json()["role"] == "admin"
    # And back down, through the token endpoint's refresh_token grant this time.
    world.bob.teams = [world.devs]
    again = await gh.client.post(
        TOKEN_URL,
        data={
            "grant_type": "refresh_token",
            "refresh_token": renewed.json()["refresh_token"],
            "github_token": token,
        },
    )
    assert again.status_code == 200, again.text
    assert await _role(gh, again.json()["access_token"], "bob") == "user"


async def test_renew_without_the_github_token_is_refused_and_consumes_nothing(
    gh: Api, world: World
) -> None:
    token = world.github.issue_token(world.bob)
    tokens = await _login(gh, token)
    bare = await gh.client.post(RENEW_URL, json={"refresh_token": tokens["refresh_token"]})
    assert bare.status_code == 400
    assert bare.json()["error"] == "invalid_request"
    assert "github_token" in bare.json()["error_description"]
    renewed = await gh.client.post(
        RENEW_URL, json={"refresh_token": tokens["refresh_token"], "github_token": token}
    )
    assert renewed.status_code == 200, renewed.text


async def test_renew_with_another_accounts_github_token_is_refused(gh: Api, world: World) -> None:
    tokens = await _login(gh, world.github.issue_token(world.bob))
    alice_token = world.github.issue_token(world.alice)
    response = await gh.client.post(
        RENEW_URL, json={"refresh_token": tokens["refresh_token"], "github_token": alice_token}
    )
    assert response.status_code == 400
    assert "another GitHub account" in response.json()["error_description"]
    # bob's session is untouched and still renews with his own token.
    assert await _role(gh, tokens["access_token"], "bob") == "user"


async def test_password_sessions_renew_without_github(gh: Api, world: World) -> None:
    from tests.support import make_user_session

    _, refresh = await make_user_session(gh.services, "local-user", "user")
    response = await gh.client.post(RENEW_URL, json={"refresh_token": refresh})
    assert response.status_code == 200, response.text
    assert world.github.requests == []
