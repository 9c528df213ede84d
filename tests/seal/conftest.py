"""A fresh node of a production seal, over its ASGI interface, and helpers to init it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from strongroom.config import Config
from tests.support import Api

INIT_TOKEN = "sri_test-init-token"


@pytest.fixture
async def shamir_api(
    make_config: Callable[..., Config], open_api: Callable[[Config], Any]
) -> AsyncIterator[Api]:
    config = make_config(seal="shamir", root_key=None, init_token=INIT_TOKEN)
    async with open_api(config) as api:
        yield api


async def init(api: Api, shares: int, threshold: int) -> dict[str, Any]:
    response = await api.client.post(
        "/api/v1/sys/init",
        json={"secret_shares": shares, "secret_threshold": threshold},
        headers={"Authorization": f"Bearer {INIT_TOKEN}"},
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def unseal(api: Api, key: str, client: Any = None) -> Any:
    return await (client or api.client).post("/api/v1/sys/unseal", json={"key": key})


async def status(api: Api) -> dict[str, Any]:
    response = await api.client.get("/api/v1/sys/seal-status")
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body
