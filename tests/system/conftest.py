"""Admin sessions for the settings tests: on both backends (`admin`) or on SQLite only."""

from __future__ import annotations

import pytest

from tests.support import Api, make_user_session


@pytest.fixture
async def admin(api: Api) -> dict[str, str]:
    token, _ = await make_user_session(api.services, "root", "admin")
    return api.auth(token)


@pytest.fixture
async def sq_admin(sqlite_api: Api) -> dict[str, str]:
    token, _ = await make_user_session(sqlite_api.services, "root", "admin")
    return sqlite_api.auth(token)
