"""Real `strongroom server` processes for the secrets tests: TLS clients and the admin login."""

from __future__ import annotations

import ssl
from pathlib import Path

import httpx

from tests.support import ServerProcess


def admin_password(data_dir: Path) -> str:
    """The password the first start wrote to `<data_dir>/admin-password`."""
    return (data_dir / "admin-password").read_text().split("password: ", 1)[1].strip()


def client_for(server: ServerProcess, *, connections: int = 20) -> httpx.AsyncClient:
    """An HTTPS client that trusts the server's own local CA."""
    return httpx.AsyncClient(
        base_url=server.url,
        verify=ssl.create_default_context(cafile=server.data_dir / "ca.pem"),
        timeout=30,
        limits=httpx.Limits(max_connections=connections),
    )


async def login_admin(client: httpx.AsyncClient, password: str) -> dict[str, str]:
    """Log in through the HTTP endpoint; the bearer header of the admin's session."""
    response = await client.post(
        "/api/v1/auth/token/create",
        data={"grant_type": "password", "username": "admin", "password": password},
    )
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}
