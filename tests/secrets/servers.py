"""Real `strongroom server` processes for the secrets tests: TLS clients and the admin login."""

from __future__ import annotations

import ssl

import httpx

from tests.support import ServerProcess


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
