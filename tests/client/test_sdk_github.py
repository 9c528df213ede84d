"""GitHub login through the SDK and the command line, against the local fake GitHub."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest

from strongroom_client import AsyncClient, Client, InvalidGrant
from tests.client.test_cli import Cli
from tests.github.fake_github import FakeGitHub
from tests.support import ServerProcess, admin_password


@pytest.fixture
def github(server: ServerProcess, home: Path) -> Iterator[FakeGitHub]:
    fake = FakeGitHub().start()
    org = fake.add_org("acme")
    fake.add_user("octo", org, teams=(fake.add_team(org, "Devs", "devs"),))
    with Client(server.url, str(server.data_dir / "ca.pem")) as admin:
        admin.login("admin", admin_password(server.data_dir))
        admin.settings.update_auth(
            github_enabled=True,
            github_organization="acme",
            github_base_url=fake.api_url,
            github_web_base_url=fake.web_url,
            github_team_roles={"devs": "user"},
        )
    yield fake
    fake.stop()


def test_github_login_sync_async_and_cli(
    server: ServerProcess, github: FakeGitHub, tmp_path: Path
) -> None:
    ca = str(server.data_dir / "ca.pem")
    (octo,) = (user for user in github.users.values() if user.login == "octo")
    token = github.issue_token(octo)
    with Client(server.url, ca) as client:
        client.login_github(token)
        assert client.users.me().username == "octo"
        with pytest.raises(InvalidGrant):
            client.login_github("ghp_not-a-token-anyone-issued")

    async def main() -> str:
        async with AsyncClient(server.url, ca) as client:
            await client.login_github(token)
            return (await client.users.me()).username

    assert asyncio.run(main()) == "octo"
    cli = Cli(server, tmp_path / "home")
    done = cli("login", "--method", "github", "--token-stdin", stdin=token + "\n")
    assert done.returncode == 0, done.stderr
    assert token.encode() not in done.stdout + done.stderr
    assert cli("whoami", "-f", "value").stdout == b"octo"
