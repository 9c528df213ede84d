from __future__ import annotations

from collections.abc import Callable

import pytest

from tests.support import Api


@pytest.fixture
async def admin_token(api: Api, admin_password: Callable[[], str]) -> str:
    body = await api.login("admin", admin_password())
    token: str = body["access_token"]
    return token
