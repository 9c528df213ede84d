"""Callers of the secrets API: an admin and plain users, with sessions opened directly."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest

from strongroom.config import Config
from tests.support import Api, make_user_session

BASE = "/api/v1/secrets"


async def headers_for(api: Api, username: str, role: str = "user") -> dict[str, str]:
    access, _refresh = await make_user_session(api.services, username, role)
    return api.auth(access)


@pytest.fixture
async def admin(api: Api) -> dict[str, str]:
    return await headers_for(api, "root", "admin")


async def create(
    api: Api, headers: dict[str, str], path: str, value: Any = "s3cret", **extra: Any
) -> dict[str, Any]:
    response = await api.client.post(
        f"{BASE}/create", json={"path": path, "value": value, **extra}, headers=headers
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def read(api: Api, headers: dict[str, str], secret_id: str, **params: Any) -> httpx.Response:
    return await api.client.get(f"{BASE}/{secret_id}", params=params, headers=headers)


def assert_error(response: httpx.Response, status: int, code: str | None = None) -> None:
    assert response.status_code == status, response.text
    body = response.json()
    if status == 422:
        assert body["code"] == "validation_error"
        assert body["detail"][0]["msg"]
    else:
        assert body["detail"]
        if code is not None:
            assert body["code"] == code, body


@pytest.fixture
def backend_config(
    make_config: Callable[..., Config], db_backend: str, request: pytest.FixtureRequest
) -> Callable[..., Config]:
    """`make_config` on this test's backend, usable from async tests (the PostgreSQL database
    is prepared here, outside the event loop)."""
    if db_backend == "postgres":
        request.getfixturevalue("pg_url")

    def build(**overrides: Any) -> Config:
        return make_config(db_backend, **overrides)

    return build
