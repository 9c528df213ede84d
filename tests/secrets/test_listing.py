"""Listing: prefix, metadata filters, keyset pagination, no values, only live secrets."""

from __future__ import annotations

from typing import Any

from tests.secrets.conftest import BASE, assert_error, create
from tests.support import Api


async def _all_pages(api: Api, headers: dict[str, str], **params: Any) -> tuple[list[str], int]:
    paths: list[str] = []
    pages = 0
    cursor = None
    while True:
        query = {**params, **({"cursor": cursor} if cursor else {})}
        response = await api.client.get(BASE, params=query, headers=headers)
        assert response.status_code == 200, response.text
        body = response.json()
        pages += 1
        for item in body["items"]:
            assert "value" not in item
        paths += [item["path"] for item in body["items"]]
        cursor = body["next_cursor"]
        if cursor is None:
            return paths, pages


async def test_prefix_and_pagination_walk_every_path_once_in_order(
    api: Api, admin: dict[str, str]
) -> None:
    wanted = [f"team-a/app{n:02d}/key" for n in range(23)]
    for path in [*wanted, "team-b/app/key", "team-a-other/key", "team/key"]:
        await create(api, admin, path)
    paths, pages = await _all_pages(api, admin, prefix="team-a/", limit=5)
    assert paths == sorted(wanted)
    assert pages == 5
    everything, _ = await _all_pages(api, admin, limit=1000)
    assert everything == sorted([*wanted, "team-b/app/key", "team-a-other/key", "team/key"])
    partial, _ = await _all_pages(api, admin, prefix="team-a")
    assert partial == sorted([*wanted, "team-a-other/key"])
    assert (await _all_pages(api, admin, prefix="nothing/"))[0] == []


async def test_items_carry_metadata_and_times_but_no_value(api: Api, admin: dict[str, str]) -> None:
    await create(api, admin, "shown/one", "VALUE-MARKER", metadata={"env": "prod"}, max_reads=3)
    response = await api.client.get(BASE, params={"prefix": "shown/"}, headers=admin)
    [item] = response.json()["items"]
    assert item["metadata"] == {"env": "prod"}
    assert item["max_reads"] == 3 and item["reads"] == 0
    assert item["version"] == 1
    assert item["created_at"].endswith("Z")
    assert "VALUE-MARKER" not in response.text


async def test_metadata_filters_must_all_match(api: Api, admin: dict[str, str]) -> None:
    await create(api, admin, "m/a", metadata={"env": "prod", "team": "x"})
    await create(api, admin, "m/b", metadata={"env": "prod", "team": "y"})
    await create(api, admin, "m/c", metadata={"env": "dev", "team": "x"})
    await create(api, admin, "m/d")
    prod = await _all_pages(api, admin, **{"metadata.env": "prod"})
    assert prod[0] == ["m/a", "m/b"]
    both = await _all_pages(api, admin, **{"metadata.env": "prod", "metadata.team": "x"})
    assert both[0] == ["m/a"]
    none = await _all_pages(api, admin, **{"metadata.env": "staging"})
    assert none[0] == []
    paged = await _all_pages(api, admin, limit=1, **{"metadata.team": "x"})
    assert paged[0] == ["m/a", "m/c"]


async def test_metadata_filters_follow_updates(api: Api, admin: dict[str, str]) -> None:
    secret_id = (await create(api, admin, "m/moving", metadata={"env": "dev"}))["id"]
    await api.client.put(
        f"{BASE}/{secret_id}", json={"value": "v2", "metadata": {"env": "prod"}}, headers=admin
    )
    assert (await _all_pages(api, admin, **{"metadata.env": "dev"}))[0] == []
    assert (await _all_pages(api, admin, **{"metadata.env": "prod"}))[0] == ["m/moving"]


async def test_deleted_destroyed_and_expired_secrets_are_not_listed(
    api: Api, admin: dict[str, str]
) -> None:
    keep = await create(api, admin, "gone/keep")
    deleted = await create(api, admin, "gone/deleted")
    destroyed = await create(api, admin, "gone/destroyed")
    await create(api, admin, "gone/expired", ttl=1)
    await api.client.delete(f"{BASE}/{deleted['id']}", headers=admin)
    await api.client.post(f"{BASE}/{destroyed['id']}/destroy", headers=admin)
    await _expire_now(api, "gone/expired")
    paths, _ = await _all_pages(api, admin, prefix="gone/")
    assert paths == [keep["path"]]


async def _expire_now(api: Api, path: str) -> None:
    from sqlalchemy import update

    from strongroom.db import now
    from strongroom.secrets.models import secrets

    async with api.services.db.begin() as conn:
        await conn.execute(
            update(secrets).where(secrets.c.path == path).values(expires_at=now() - 1)
        )


async def test_bad_listing_parameters_are_422(api: Api, admin: dict[str, str]) -> None:
    for params in (
        {"prefix": "a/../b"},
        {"prefix": "a//"},
        {"prefix": "a\x00"},
        {"cursor": "!!!"},
        {"cursor": "Li4"},  # base64 of ".."
        {"limit": 0},
        {"limit": 1001},
        {"metadata.k": "nul\x00"},
        {"metadata.": "empty key"},
        {f"metadata.{'k' * 129}": "v"},
    ):
        response = await api.client.get(BASE, params=params, headers=admin)
        assert_error(response, 422)
    many = {f"metadata.k{n}": "v" for n in range(17)}
    assert_error(await api.client.get(BASE, params=many, headers=admin), 422)
