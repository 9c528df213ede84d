"""Burn after N reads: exactly N concurrent reads succeed, then the secret is wiped."""

from __future__ import annotations

import asyncio
from collections import Counter

from sqlalchemy import func, select

from strongroom.secrets.models import secret_versions, secrets
from tests.secrets.conftest import BASE, assert_error, create, read
from tests.support import Api


async def _ciphertexts(api: Api, secret_id: str) -> int:
    async with api.services.db.connect() as conn:
        count = await conn.execute(
            select(func.count()).where(
                secret_versions.c.secret_id == secret_id,
                secret_versions.c.ciphertext.is_not(None),
            )
        )
        return int(count.scalar_one())


async def test_max_reads_one_under_50_concurrent_reads(api: Api, admin: dict[str, str]) -> None:
    secret_id = (await create(api, admin, "burn/once", "ONE-TIME-VALUE", max_reads=1))["id"]
    responses = await asyncio.gather(*(read(api, admin, secret_id) for _ in range(50)))
    statuses = Counter(r.status_code for r in responses)
    assert statuses == {200: 1, 404: 49}, statuses
    [winner] = [r for r in responses if r.status_code == 200]
    assert winner.json()["value"] == "ONE-TIME-VALUE"
    assert (winner.json()["reads"], winner.json()["max_reads"]) == (1, 1)
    assert all("ONE-TIME-VALUE" not in r.text for r in responses if r is not winner)
    assert await _ciphertexts(api, secret_id) == 0
    async with api.services.db.connect() as conn:
        row = (
            await conn.execute(
                select(secrets.c.reads, secrets.c.destroyed, secrets.c.path_key).where(
                    secrets.c.id == secret_id
                )
            )
        ).one()
    assert tuple(row) == (1, True, None)
    await create(api, admin, "burn/once", "the path is free again")


async def test_max_reads_three_by_id_and_by_path(api: Api, admin: dict[str, str]) -> None:
    secret_id = (await create(api, admin, "burn/three", "v", max_reads=3))["id"]
    responses = await asyncio.gather(
        *(read(api, admin, secret_id) for _ in range(10)),
        *(api.client.get(f"{BASE}/by-path/burn/three", headers=admin) for _ in range(10)),
    )
    ok = [r.json() for r in responses if r.status_code == 200]
    assert sorted(body["reads"] for body in ok) == [1, 2, 3]
    assert all(r.status_code == 404 for r in responses if r.status_code != 200)
    assert await _ciphertexts(api, secret_id) == 0


async def test_reads_count_only_when_they_succeed(api: Api, admin: dict[str, str]) -> None:
    alice_secret = await create(api, admin, "burn/guarded", "v", max_reads=2)
    from tests.secrets.conftest import headers_for

    alice = await headers_for(api, "alice", "user")
    assert_error(await read(api, alice, alice_secret["id"]), 404)
    assert_error(await read(api, admin, alice_secret["id"], version=5), 404)
    first = await read(api, admin, alice_secret["id"])
    assert first.json()["reads"] == 1, "the refused reads were not counted"
    listed = await api.client.get(BASE, params={"prefix": "burn/guarded"}, headers=admin)
    assert listed.json()["items"][0]["reads"] == 1


async def test_a_burn_after_reading_secret_can_be_updated_while_reads_remain(
    api: Api, admin: dict[str, str]
) -> None:
    secret_id = (await create(api, admin, "burn/updated", "v1", max_reads=2))["id"]
    assert (await read(api, admin, secret_id)).json()["value"] == "v1"
    await api.client.put(f"{BASE}/{secret_id}", json={"value": "v2"}, headers=admin)
    last = await read(api, admin, secret_id)
    assert (last.json()["value"], last.json()["reads"]) == ("v2", 2)
    assert_error(await read(api, admin, secret_id), 404)
    assert await _ciphertexts(api, secret_id) == 0
