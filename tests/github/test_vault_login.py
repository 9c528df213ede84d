"""`auth/github/login` of the Vault-compatible API (issue 20): strongroom's GitHub login
(organization membership, team -> role) behind Vault's shape, against the fake GitHub."""

from __future__ import annotations

from tests.github.conftest import World
from tests.support import Api


async def test_vault_github_login_maps_teams_to_policies(gh: Api, world: World) -> None:
    token = world.github.issue_token(world.bob)
    response = await gh.client.post("/v1/auth/github/login", json={"token": token})
    assert response.status_code == 200, response.text
    auth = response.json()["auth"]
    assert auth["policies"] == ["user"] and auth["metadata"]["username"] == "bob"
    me = await gh.client.get(
        "/v1/auth/token/lookup-self", headers={"X-Vault-Token": auth["client_token"]}
    )
    assert me.status_code == 200 and me.json()["data"]["path"] == "auth/github/login"
    outsider = world.github.issue_token(world.mallory)  # not in the organization
    refused = await gh.client.post("/v1/auth/github/login", json={"token": outsider})
    assert refused.status_code in (400, 403) and refused.json()["errors"]
