"""Burn after reading across two server processes sharing PostgreSQL and Redis."""

from __future__ import annotations

import asyncio
from collections import Counter
from pathlib import Path

import pytest

from strongroom.crypto import generate_root_key
from tests.secrets.servers import client_for, login_admin
from tests.support import REDIS_URL, ServerProcess, admin_password

pytestmark = [pytest.mark.postgres, pytest.mark.redis]


async def test_max_reads_one_with_50_reads_over_two_processes(
    tmp_path: Path, pg_url: str, redis_prefix: str
) -> None:
    env = {
        "STRONGROOM_DATABASE_URL": pg_url,
        "STRONGROOM_REDIS_URL": REDIS_URL,
        "STRONGROOM_REDIS_PREFIX": redis_prefix,
        "STRONGROOM_SEAL": "env",
        "STRONGROOM_ROOT_KEY": generate_root_key().encode(),
    }
    # The first start bootstraps the shared database and writes the admin password.
    first = ServerProcess(tmp_path / "a", env, tls=True).start()
    second = ServerProcess(tmp_path / "b", env, tls=True)
    try:
        second.start()
        async with client_for(first) as one, client_for(second) as two:
            admin = await login_admin(one, admin_password(first.data_dir))
            created = await one.post(
                "/api/v1/secrets/create",
                json={"path": "burn/shared", "value": "CROSS-NODE-VALUE", "max_reads": 1},
                headers=admin,
            )
            assert created.status_code == 200, created.text
            url = f"/api/v1/secrets/{created.json()['id']}"
            responses = await asyncio.gather(
                *(client.get(url, headers=admin) for _ in range(25) for client in (one, two))
            )
    finally:
        second.stop()
        first.stop()
    assert Counter(r.status_code for r in responses) == {200: 1, 404: 49}
    [winner] = [r for r in responses if r.status_code == 200]
    assert winner.json()["value"] == "CROSS-NODE-VALUE"
    assert sum("CROSS-NODE-VALUE" in r.text for r in responses) == 1
