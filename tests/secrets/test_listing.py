"""Listing: prefix, metadata filters, keyset pagination, no values, only live secrets."""

from __future__ import annotations

import base64
from typing import Any

import pytest

from tests.secrets.conftest import BASE, assert_error, create, headers_for
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


async def test_finding_8_list_cursors_reveal_nothing_and_cannot_be_forged(
    api: Api, admin: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A lister sees `apps/+/config`; hidden `apps/hNN/secret` rows fill its scan range, so
    pages end at the scan bound, and their cursors must name none of the hidden paths."""
    from strongroom.secrets import listing

    monkeypatch.setattr(listing, "MAX_SCAN", 3)
    role = {"name": "apps-lister", "description": "t", "rules": []}
    role["rules"] = [{"path": "apps/+/config", "capabilities": ["list"]}]
    assert (await api.client.post("/api/v1/roles", json=role, headers=admin)).status_code == 200
    hidden = [f"apps/h{n:02d}/secret" for n in range(8)]
    visible = ["apps/a/config", "apps/z/config"]
    for path in [*hidden, *visible]:
        await create(api, admin, path)
    lister = await headers_for(api, "erin", "apps-lister")
    other = await headers_for(api, "frank", "apps-lister")
    cursors: list[str] = []
    paths: list[str] = []
    cursor = None
    while True:
        query = {"limit": 5, **({"cursor": cursor} if cursor else {})}
        response = await api.client.get(BASE, params=query, headers=lister)
        assert response.status_code == 200, response.text
        paths += [item["path"] for item in response.json()["items"]]
        cursor = response.json()["next_cursor"]
        if cursor is None:
            break
        cursors.append(cursor)
    assert paths == visible
    assert len(cursors) >= 2  # the scan bound cut pages short
    for cursor in cursors:
        decoded = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        for path in [*hidden, *visible]:
            assert path.encode() not in decoded, (cursor, path)
        # Another caller cannot use it; a tampered one is refused.
        foreign = await api.client.get(BASE, params={"cursor": cursor}, headers=other)
        assert_error(foreign, 400, "bad_request")
        flipped = cursor[:-3] + ("A" if cursor[-3] != "A" else "B") + cursor[-2:]
        tampered = await api.client.get(BASE, params={"cursor": flipped}, headers=lister)
        assert_error(tampered, 400, "bad_request")
    # A cursor forged from a path (what a cursor used to be) is refused, not followed.
    for forged_path in ("apps/h03/secret", "apps/a/config", ".."):
        forged = base64.urlsafe_b64encode(forged_path.encode()).decode().rstrip("=")
        response = await api.client.get(BASE, params={"cursor": forged}, headers=lister)
        assert_error(response, 400, "bad_request")
    for junk in ("!!!", "Li4", ""):
        response = await api.client.get(BASE, params={"cursor": junk or "x"}, headers=lister)
        assert_error(response, 400, "bad_request")
