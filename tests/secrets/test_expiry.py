"""TTL: unreadable from `expires_at` on, then wiped by the sweeper (idempotent, on every node)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

from sqlalchemy import func, select

from strongroom.config import Config
from strongroom.db import now
from strongroom.secrets.models import secret_versions, secrets
from strongroom.secrets.service import sweep_expired_secrets
from tests.secrets.conftest import BASE, assert_error, create, headers_for, read
from tests.support import Api


async def _sleep_until(deadline: float) -> None:
    await asyncio.sleep(max(0.0, deadline - time.monotonic()))


async def _stored(api: Api, secret_id: str) -> tuple[int, str | None]:
    """(versions still holding a ciphertext, path_key) of a secret."""
    async with api.services.db.connect() as conn:
        live = (
            await conn.execute(
                select(func.count()).where(
                    secret_versions.c.secret_id == secret_id,
                    secret_versions.c.ciphertext.is_not(None),
                )
            )
        ).scalar_one()
        path_key = (
            await conn.execute(select(secrets.c.path_key).where(secrets.c.id == secret_id))
        ).scalar_one()
    return int(live), path_key


async def test_a_secret_reads_until_its_ttl_and_is_404_after(
    backend_config: Callable[..., Config], open_api: Any
) -> None:
    # The sweeper stays out of the way: expiry alone must make reads fail.
    async with open_api(backend_config(sweep_interval=3600)) as api:
        admin = await headers_for(api, "root", "admin")
        started = time.monotonic()
        created = await create(api, admin, "ttl/short", "short-lived", ttl=2)
        await _sleep_until(started + 1)
        assert (await read(api, admin, created["id"])).json()["value"] == "short-lived"
        await _sleep_until(started + 3)
        expired = await read(api, admin, created["id"])
        assert_error(expired, 404)
        assert "expired" in expired.json()["detail"]
        assert "short-lived" not in expired.text
        assert_error(await api.client.get(f"{BASE}/by-path/ttl/short", headers=admin), 404)
        update = await api.client.put(f"{BASE}/{created['id']}", json={"value": "x"}, headers=admin)
        assert_error(update, 404)
        undelete = await api.client.post(f"{BASE}/{created['id']}/undelete", headers=admin)
        assert_error(undelete, 404)
        assert "expired" in undelete.json()["detail"]
        assert (await _stored(api, created["id"]))[0] == 1, "not swept yet"
        # The path is free at once, even before the sweeper ran.
        await create(api, admin, "ttl/short", "successor")


async def test_the_sweeper_wipes_expired_ciphertexts(
    backend_config: Callable[..., Config], open_api: Any
) -> None:
    async with open_api(backend_config(sweep_interval=0.2)) as api:
        admin = await headers_for(api, "root", "admin")
        created = await create(api, admin, "ttl/swept", "gone-soon", ttl=1)
        await api.client.put(f"{BASE}/{created['id']}", json={"value": "v2"}, headers=admin)
        keeper = await create(api, admin, "ttl/keeper", "stays")
        deadline = time.monotonic() + 20
        while await _stored(api, created["id"]) != (0, None) and time.monotonic() < deadline:
            await asyncio.sleep(0.2)
        assert await _stored(api, created["id"]) == (0, None)
        assert await _stored(api, keeper["id"]) == (1, "ttl/keeper")
        assert (await read(api, admin, keeper["id"])).json()["value"] == "stays"


async def test_sweeping_is_idempotent_and_safe_concurrently(
    api: Api, admin: dict[str, str]
) -> None:
    ids = [(await create(api, admin, f"sweep/{n:02d}", f"v{n}", ttl=3600))["id"] for n in range(30)]
    alive = await create(api, admin, "sweep/alive", "v")
    later = now() + 7200  # sweep as if two hours had passed
    counts = await asyncio.gather(*(sweep_expired_secrets(api.services, later) for _ in range(4)))
    assert sum(counts) == 30
    assert await sweep_expired_secrets(api.services, later) == 0
    for secret_id in ids:
        assert await _stored(api, secret_id) == (0, None)
    assert await _stored(api, alive["id"]) == (1, "sweep/alive")


async def test_sweeping_leaves_live_secrets_alone(api: Api, admin: dict[str, str]) -> None:
    forever = await create(api, admin, "sweep/forever", "v")
    hour = await create(api, admin, "sweep/hour", "v", ttl="1h")
    assert await sweep_expired_secrets(api.services, now()) == 0
    assert await _stored(api, forever["id"]) == (1, "sweep/forever")
    assert await _stored(api, hour["id"]) == (1, "sweep/hour")
