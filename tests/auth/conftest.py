from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from tests.support import Api


@pytest.fixture
async def admin_token(api: Api, admin_password: Callable[[], str]) -> str:
    body = await api.login("admin", admin_password())
    token: str = body["access_token"]
    return token


@pytest.fixture(params=["database", pytest.param("redis", marks=pytest.mark.redis)])
async def store_api(
    request: pytest.FixtureRequest, make_config: Callable[..., Any], open_api: Any
) -> AsyncIterator[Api]:
    """The app on SQLite, its sessions (and lock-outs) in the database or in Redis."""
    config = make_config("sqlite", redis_store=request.param == "redis")
    async with open_api(config) as api:
        yield api
