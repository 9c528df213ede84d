"""Bad input gets a clear 4xx and changes nothing: paths, values, metadata, TTLs, body shape."""

from __future__ import annotations

from typing import Any

import pytest

from tests.secrets.conftest import BASE, assert_error, create, read
from tests.support import Api

BAD_PATHS = [
    ("", "empty"),
    ("/", "empty"),
    ("a//b", "empty segment"),
    ("a/../b", "'..'"),
    ("../etc/passwd", "'..'"),
    ("a/./b", "'.'"),
    ("a/b\x00c", "control characters"),
    ("a/b\nc", "control characters"),
    ("a/b c", "characters outside"),
    ("a/*", "characters outside"),
    ("team/+/x", "characters outside"),
    ("caf\u00e9/x", "characters outside"),
    ("/".join(["s"] * 17), "at most 16 segments"),
    ("x" * 129, "at most 128 characters"),
    ("/".join(["x" * 100] * 6), "at most 512 characters"),
]


async def _count_secrets(api: Api) -> int:
    from sqlalchemy import func, select

    from strongroom.secrets.models import secrets

    async with api.services.db.connect() as conn:
        return int((await conn.execute(select(func.count()).select_from(secrets))).scalar_one())


@pytest.mark.parametrize(("path", "message"), BAD_PATHS)
async def test_bad_paths_are_422_with_a_message(sqlite_api: Api, path: str, message: str) -> None:
    from tests.secrets.conftest import headers_for

    admin = await headers_for(sqlite_api, "root", "admin")
    response = await sqlite_api.client.post(
        f"{BASE}/create", json={"path": path, "value": "x"}, headers=admin
    )
    assert_error(response, 422)
    detail = response.json()["detail"][0]
    assert detail["loc"] == ["body", "path"]
    assert message in detail["msg"]
    assert await _count_secrets(sqlite_api) == 0


async def test_bad_paths_in_by_path_reads(api: Api, admin: dict[str, str]) -> None:
    for raw in ("a/%2E%2E/b", "a/%2e/b", "a/%00", "a//b", "a/b%20c", "a/%0a"):
        response = await api.client.get(f"{BASE}/by-path/{raw}", headers=admin)
        assert response.status_code == 422, (raw, response.text)
        assert response.json()["detail"][0]["loc"] == ["path", "path"], raw


async def test_longest_and_deepest_valid_path(api: Api, admin: dict[str, str]) -> None:
    deep = "/".join(f"s{n}" for n in range(16))
    long = "/".join(["x" * 127] * 4)  # 511 characters
    for path in (deep, long, "A-Z_a.z-0.9/..x/x.."):
        created = await create(api, admin, path)
        assert created["path"] == path


async def test_value_over_the_limit_is_413(api: Api, admin: dict[str, str]) -> None:
    await api.set_settings(secrets__max_value_bytes=100)
    fits = "x" * 98  # 100 bytes as JSON with its quotes
    await create(api, admin, "size/fits", fits)
    response = await api.client.post(
        f"{BASE}/create", json={"path": "size/big", "value": fits + "x"}, headers=admin
    )
    assert_error(response, 413, "value_too_large")
    as_object = await api.client.post(
        f"{BASE}/create", json={"path": "size/big", "value": {"k": "x" * 100}}, headers=admin
    )
    assert_error(as_object, 413, "value_too_large")
    secret_id = (await create(api, admin, "size/update", "small"))["id"]
    update = await api.client.put(f"{BASE}/{secret_id}", json={"value": "y" * 200}, headers=admin)
    assert_error(update, 413, "value_too_large")
    assert (await read(api, admin, secret_id)).json()["value"] == "small"


@pytest.mark.parametrize(
    ("metadata", "loc"),
    [
        ({"k" * 129: "v"}, ["body", "metadata"]),
        ({"": "v"}, ["body", "metadata"]),
        ({"bad\nkey": "v"}, ["body", "metadata"]),
        ({"k": "v" * 513}, ["body", "metadata", "k"]),
        ({"k": "nul\x00"}, ["body", "metadata", "k"]),
        ({f"k{n}": "v" for n in range(4)}, ["body", "metadata"]),
    ],
)
async def test_bad_metadata_is_422(
    sqlite_api: Api, metadata: dict[str, str], loc: list[str]
) -> None:
    from tests.secrets.conftest import headers_for

    await sqlite_api.set_settings(secrets__max_metadata_entries=3)
    admin = await headers_for(sqlite_api, "root", "admin")
    response = await sqlite_api.client.post(
        f"{BASE}/create",
        json={"path": "meta/bad", "value": "x", "metadata": metadata},
        headers=admin,
    )
    assert_error(response, 422)
    assert response.json()["detail"][0]["loc"] == loc
    assert await _count_secrets(sqlite_api) == 0


async def test_metadata_at_the_limits_is_accepted(api: Api, admin: dict[str, str]) -> None:
    metadata = {"k" * 128: "v" * 512, "unicode-ключ": "значение", "empty": ""}
    created = await create(api, admin, "meta/limits", "x", metadata=metadata)
    assert created["metadata"] == metadata
    assert (await read(api, admin, created["id"])).json()["metadata"] == metadata


@pytest.mark.parametrize(
    "body",
    [
        {"path": "p", "value": "x", "unknown": 1},
        {"path": "p"},
        {"value": "x"},
        {"path": "p", "value": 5},
        {"path": "p", "value": ["a", "list"]},
        {"path": "p", "value": None},
        {"path": 5, "value": "x"},
        {"path": "p", "value": "x", "metadata": {"k": 1}},
        {"path": "p", "value": "x", "metadata": ["k"]},
        {"path": "p", "value": "x", "max_reads": 0},
        {"path": "p", "value": "x", "max_reads": "3"},
        {"path": "p", "value": "x", "ttl": True},
        {"path": "p", "value": "x", "ttl": -5},
        {"path": "p", "value": "x", "ttl": "soon"},
        {"path": "p", "value": "x", "ttl": "1y"},
        {"path": "p", "value": "x", "ttl": 10**12},
    ],
)
async def test_malformed_create_bodies_are_422(sqlite_api: Api, body: dict[str, Any]) -> None:
    from tests.secrets.conftest import headers_for

    admin = await headers_for(sqlite_api, "root", "admin")
    response = await sqlite_api.client.post(f"{BASE}/create", json=body, headers=admin)
    assert_error(response, 422)
    assert "x" not in str(response.json()["detail"][0].get("input", ""))
    assert await _count_secrets(sqlite_api) == 0


async def test_malformed_json_is_422(sqlite_api: Api) -> None:
    from tests.secrets.conftest import headers_for

    admin = await headers_for(sqlite_api, "root", "admin")
    response = await sqlite_api.client.post(
        f"{BASE}/create",
        content=b'{"path": "p", "value": ',
        headers={**admin, "content-type": "application/json"},
    )
    assert_error(response, 422)


async def test_validation_errors_never_echo_the_value(sqlite_api: Api) -> None:
    from tests.secrets.conftest import headers_for

    admin = await headers_for(sqlite_api, "root", "admin")
    marker = "MARKER-do-not-echo-4821"
    response = await sqlite_api.client.post(
        f"{BASE}/create",
        json={"path": "a/../b", "value": marker, "extra": marker},
        headers=admin,
    )
    assert response.status_code == 422
    assert marker not in response.text


async def test_ttl_forms_and_bounds(api: Api, admin: dict[str, str]) -> None:
    from strongroom.db import now

    before = now()
    for ttl, seconds in ((90, 90), ("15m", 900), ("1h", 3600), ("7d", 7 * 86400), ("1h30m", 5400)):
        created = await create(api, admin, f"ttl/{seconds}", ttl=ttl)
        expires = _unix(created["expires_at"])
        assert before + seconds - 1 < expires < now() + seconds + 1
    no_expiry = await create(api, admin, "ttl/none", ttl=0)
    assert no_expiry["expires_at"] is None

    await api.set_settings(secrets__max_ttl=3600)
    over = await api.client.post(
        f"{BASE}/create", json={"path": "ttl/over", "value": "x", "ttl": "2h"}, headers=admin
    )
    assert_error(over, 422)
    assert over.json()["detail"][0]["loc"] == ["body", "ttl"]
    forever = await api.client.post(
        f"{BASE}/create", json={"path": "ttl/over", "value": "x", "ttl": 0}, headers=admin
    )
    assert_error(forever, 422)
    defaulted = await create(api, admin, "ttl/capped")
    assert 3590 < _unix(defaulted["expires_at"]) - before < 3610

    await api.set_settings(secrets__default_ttl=60)
    defaulted = await create(api, admin, "ttl/default")
    assert 50 < _unix(defaulted["expires_at"]) - before < 70


async def test_update_ttl_sets_a_new_expiry_or_keeps_it(api: Api, admin: dict[str, str]) -> None:
    created = await create(api, admin, "ttl/update", ttl="1h")
    kept = await api.client.put(f"{BASE}/{created['id']}", json={"value": "v2"}, headers=admin)
    assert kept.json()["expires_at"] == created["expires_at"]
    moved = await api.client.put(
        f"{BASE}/{created['id']}", json={"value": "v3", "ttl": "2h"}, headers=admin
    )
    assert _unix(moved.json()["expires_at"]) - _unix(created["expires_at"]) > 3500
    bad = await api.client.put(
        f"{BASE}/{created['id']}", json={"value": "v4", "ttl": "later"}, headers=admin
    )
    assert_error(bad, 422)
    assert (await read(api, admin, created["id"])).json()["version"] == 3


def _unix(rfc3339: str) -> float:
    import datetime as dt

    return dt.datetime.fromisoformat(rfc3339.replace("Z", "+00:00")).timestamp()
