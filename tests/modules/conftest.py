"""Users with modules enabled, on the in-process app (real SQLite or PostgreSQL)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from tests.support import Api, make_user_session

TRANSIT = "/api/v1/modules/transit"
TOTP = "/api/v1/modules/totp"


async def user_with(api: Api, username: str, *modules: str, role: str = "user") -> dict[str, str]:
    """A session of a new user (role `role`) who enabled `modules`; its bearer header."""
    token, _ = await make_user_session(api.services, username, role)
    headers = api.auth(token)
    for module in modules:
        response = await api.client.post(f"/api/v1/modules/{module}/enable", headers=headers)
        assert response.status_code == 200, response.text
    return headers


@pytest.fixture
def call(sqlite_api: Api) -> Callable[..., Awaitable[Any]]:
    """`await call("POST", path, headers, json=...)` → (status, body) on the SQLite app."""

    async def request(method: str, path: str, headers: dict[str, str], **kwargs: Any) -> Any:
        response = await sqlite_api.client.request(method, path, headers=headers, **kwargs)
        return response.status_code, response.json()

    return request
