"""Issue 22: `POST /secrets/move` moves one secret or a prefix, all or nothing, keeping ids,
versions, metadata and expiry; roles are checked for every secret moved; a reader by path
sees every secret at its old path or its new one, never at neither."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable
from typing import Any

import orjson
import pytest
from sqlalchemy import insert

from strongroom.db import now
from strongroom.db.base import new_id
from strongroom.secrets.cache import path_memo
from strongroom.secrets.models import secret_version_keys, secret_versions, secrets
from strongroom.secrets.validation import binding
from tests.audit.helpers import read_records
from tests.secrets.conftest import BASE, assert_error, create, headers_for, read
from tests.support import Api

MOVE = f"{BASE}/move"
ROLES = "/api/v1/roles"


async def _role(api: Api, admin: dict[str, str], name: str, rules: list[dict[str, Any]]) -> None:
    response = await api.client.post(
        ROLES, json={"name": name, "description": "test", "rules": rules}, headers=admin
    )
    assert response.status_code == 200, response.text


async def _paths(api: Api, headers: dict[str, str], prefix: str) -> list[str]:
    response = await api.client.get(BASE, params={"prefix": prefix}, headers=headers)
    assert response.status_code == 200, response.text
    return [item["path"] for item in response.json()["items"]]


async def test_a_moved_secret_keeps_its_id_versions_metadata_and_expiry(
    api: Api, admin: dict[str, str]
) -> None:
    first = await create(api, admin, "old/db", "MOVED-VALUE-1", metadata={"team": "a"}, ttl="1h")
    updated = await api.client.put(
        f"{BASE}/{first['id']}", json={"value": "MOVED-VALUE-2"}, headers=admin
    )
    assert updated.status_code == 200, updated.text

    response = await api.client.post(
        MOVE, json={"source": "old/db", "destination": "new/place/db"}, headers=admin
    )
    assert response.status_code == 200, response.text
    assert response.json() == {
        "moved": [{"from": "old/db", "to": "new/place/db", "id": first["id"]}]
    }
    assert "MOVED-VALUE" not in response.text

    moved = await api.client.get(f"{BASE}/by-path/new/place/db", headers=admin)
    assert moved.status_code == 200, moved.text
    body = moved.json()
    assert (body["id"], body["path"], body["version"]) == (first["id"], "new/place/db", 2)
    assert body["value"] == "MOVED-VALUE-2"
    assert body["metadata"] == {"team": "a"}
    assert body["expires_at"] == first["expires_at"]
    assert (await read(api, admin, first["id"], version=1)).json()["value"] == "MOVED-VALUE-1"
    assert_error(await api.client.get(f"{BASE}/by-path/old/db", headers=admin), 404)
    # The old path is free again.
    await create(api, admin, "old/db", "another")

    [record] = [
        r for r in read_records(api.services.config.resolved_audit_file) if r["path"] == MOVE
    ]
    assert record["details"] == {
        "moved": [{"from": "old/db", "to": "new/place/db", "id": first["id"]}]
    }
    assert "MOVED-VALUE" not in str(record)


async def test_a_prefix_moves_whole_and_leaves_its_neighbours(
    api: Api, admin: dict[str, str]
) -> None:
    ids = {}
    for path in ("app/a", "app/b/c", "apps/x", "app-x"):
        ids[path] = (await create(api, admin, path, f"value of {path}"))["id"]
    response = await api.client.post(
        MOVE, json={"source": "app/", "destination": "svc/app/", "prefix": True}, headers=admin
    )
    assert response.status_code == 200, response.text
    assert sorted((m["from"], m["to"], m["id"]) for m in response.json()["moved"]) == [
        ("app/a", "svc/app/a", ids["app/a"]),
        ("app/b/c", "svc/app/b/c", ids["app/b/c"]),
    ]
    assert await _paths(api, admin, "") == ["app-x", "apps/x", "svc/app/a", "svc/app/b/c"]
    again = await api.client.post(
        MOVE, json={"source": "app/", "destination": "svc/app/", "prefix": True}, headers=admin
    )
    assert again.json() == {"moved": []}


async def test_one_denied_path_refuses_the_whole_move(api: Api, admin: dict[str, str]) -> None:
    await _role(
        api,
        admin,
        "mover",
        [
            {"path": "team/*", "capabilities": ["read", "delete", "list", "create"]},
            {"path": "moved/*", "capabilities": ["create", "read", "list"]},
            {"path": "team/locked", "capabilities": ["deny"]},
            {"path": "moved/forbidden", "capabilities": ["deny"]},
        ],
    )
    mover = await headers_for(api, "mia", "mover")
    for path in ("team/a", "team/b", "team/locked", "team2/forbidden"):
        await create(api, admin, path, "x")

    denied = await api.client.post(
        MOVE, json={"source": "team/", "destination": "moved/", "prefix": True}, headers=mover
    )
    assert_error(denied, 403, "forbidden")
    assert await _paths(api, admin, "team/") == ["team/a", "team/b", "team/locked"]
    assert await _paths(api, admin, "moved/") == []

    # A destination the role may not create at: refused as well.
    await create(api, admin, "team2/ok", "x")
    await _role(
        api,
        admin,
        "mover2",
        [
            {"path": "team2/*", "capabilities": ["read", "delete", "list"]},
            {"path": "moved/*", "capabilities": ["create"]},
            {"path": "moved/forbidden", "capabilities": ["deny"]},
        ],
    )
    mover2 = await headers_for(api, "max", "mover2")
    denied = await api.client.post(
        MOVE, json={"source": "team2/", "destination": "moved/", "prefix": True}, headers=mover2
    )
    assert_error(denied, 403, "forbidden")
    assert await _paths(api, admin, "team2/") == ["team2/forbidden", "team2/ok"]

    # Read and delete on the source are both needed.
    await _role(api, admin, "reader", [{"path": "*", "capabilities": ["read", "create", "list"]}])
    reader = await headers_for(api, "rita", "reader")
    denied = await api.client.post(
        MOVE, json={"source": "team/a", "destination": "moved/a"}, headers=reader
    )
    assert_error(denied, 403, "forbidden")

    allowed = await api.client.post(
        MOVE, json={"source": "team/a", "destination": "moved/a"}, headers=mover
    )
    assert allowed.status_code == 200, allowed.text


async def test_a_taken_destination_refuses_the_whole_move(api: Api, admin: dict[str, str]) -> None:
    for path in ("src/a", "src/b", "dst/b"):
        await create(api, admin, path, "x")
    response = await api.client.post(
        MOVE, json={"source": "src/", "destination": "dst/", "prefix": True}, headers=admin
    )
    assert_error(response, 409, "path_taken")
    assert await _paths(api, admin, "") == ["dst/b", "src/a", "src/b"]


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"source": "a/b", "destination": "a/b"}, 422),
        ({"source": "a/", "destination": "a/b/", "prefix": True}, 422),
        ({"source": "a/b/", "destination": "a/", "prefix": True}, 422),
        ({"source": "a/../b", "destination": "c"}, 422),
        ({"source": "a/b", "destination": "c//d"}, 422),
        ({"source": "a/b", "destination": "c", "extra": 1}, 422),
        ({"source": "nothing/here", "destination": "c"}, 404),
    ],
)
async def test_bad_moves_are_refused(sqlite_api: Api, body: dict[str, Any], status: int) -> None:
    api = sqlite_api
    admin = await headers_for(api, "root", "admin")
    await create(api, admin, "a/b", "x")
    assert_error(await api.client.post(MOVE, json=body, headers=admin), status)
    assert await _paths(api, admin, "") == ["a/b"]


async def test_a_write_through_a_stale_path_memo_is_checked_on_the_new_path(
    api: Api, admin: dict[str, str]
) -> None:
    """Another node remembers the secret's old path (PathMemo): a write there must not pass
    the old path's policy once the secret has moved."""
    await _role(api, admin, "team-writer", [{"path": "team/*", "capabilities": ["update"]}])
    writer = await headers_for(api, "wendy", "team-writer")
    secret = await create(api, admin, "team/key", "v1")
    moved = await api.client.post(
        MOVE, json={"source": "team/key", "destination": "vault/key"}, headers=admin
    )
    assert moved.status_code == 200, moved.text
    memo = path_memo(api.services)
    memo.remember(secret["id"], "team/key")  # as a node that did not see the move
    response = await api.client.put(
        f"{BASE}/{secret['id']}", json={"value": "v2", "cas": 1}, headers=writer
    )
    # No capability at all on the new path: the unknown id's 404 (secrets/access.py).
    assert_error(response, 404)
    assert (await read(api, admin, secret["id"])).json()["version"] == 1


async def _bulk_create(api: Api, values: dict[str, str]) -> None:
    """Many secrets in one transaction, as `create` stores them (through the API, a thousand
    take a minute on a loaded machine)."""
    services, at = api.services, now()
    rows, versions, keys = [], [], []
    for path, value in values.items():
        secret_id = new_id()
        sealed = services.barrier.seal_value(orjson.dumps(value), binding(secret_id, 1))
        rows.append(
            {"id": secret_id, "path": path, "path_key": path, "current_version": 1,
             "metadata": "{}", "reads": 0, "destroyed": False, "created_at": at,
             "updated_at": at}
        )  # fmt: skip
        versions.append(
            {"secret_id": secret_id, "version": 1, "ciphertext": sealed.ciphertext,
             "value_type": "string", "created_at": at}
        )  # fmt: skip
        keys.append({"secret_id": secret_id, "version": 1, "wrapped_key": sealed.wrapped_key})
    async with services.db.begin() as conn:
        await conn.execute(insert(secrets), rows)
        await conn.execute(insert(secret_versions), versions)
        await conn.execute(insert(secret_version_keys), keys)


async def _until(condition: Callable[[], bool], deadline: float = 60.0) -> None:
    loop = asyncio.get_running_loop()
    end = loop.time() + deadline
    while not condition():
        assert loop.time() < end, "condition not met before the deadline"
        await asyncio.sleep(0.005)


@pytest.mark.slow
async def test_a_reader_by_path_never_misses_a_secret_during_a_prefix_move(
    api: Api, admin: dict[str, str]
) -> None:
    count = 1000
    await _bulk_create(api, {f"big/s{i:04d}": f"v{i}" for i in range(count)})
    done = asyncio.Event()
    checks = {"old": 0, "new": 0}

    async def reader() -> None:
        rng = random.Random(22)
        while not done.is_set():
            i = rng.randrange(count)
            # Old path first: once it is gone the move has committed, so the new one is there.
            old = await api.client.get(f"{BASE}/by-path/big/s{i:04d}", headers=admin)
            if old.status_code == 200:
                checks["old"] += 1
                continue
            new = await api.client.get(f"{BASE}/by-path/moved/big/s{i:04d}", headers=admin)
            assert new.status_code == 200, (i, old.status_code, new.text)
            assert new.json()["value"] == f"v{i}"
            checks["new"] += 1

    readers = [asyncio.create_task(reader()) for _ in range(3)]
    await _until(lambda: checks["old"] >= 10 or any(r.done() for r in readers))
    response = await api.client.post(
        MOVE, json={"source": "big/", "destination": "moved/big/", "prefix": True}, headers=admin
    )
    assert response.status_code == 200, response.text
    # Keep reading after the commit, then stop and surface any failure.
    await _until(lambda: checks["new"] >= 10 or any(r.done() for r in readers))
    done.set()
    await asyncio.gather(*readers)
    assert len(response.json()["moved"]) == count
    assert checks["old"] > 0 and checks["new"] > 0, checks
    assert len(await _paths(api, admin, "moved/big/")) == 100  # a page: the listing's default
    assert await _paths(api, admin, "big/") == []


async def test_a_refused_prefix_move_names_no_hidden_path(sqlite_api: Api) -> None:
    """A prefix holding a secret the caller may not read is refused (403) before anything about
    its paths can reach an error message (a path too long at the destination named it)."""
    api = sqlite_api
    admin = await headers_for(api, "root", "admin")
    await _role(
        api,
        admin,
        "peeker",
        [
            {"path": "vault/*", "capabilities": ["read", "delete", "list", "create"]},
            {"path": "vault/secret-plans", "capabilities": ["deny"]},
            {"path": "d/*", "capabilities": ["create", "read", "list"]},
        ],
    )
    peeker = await headers_for(api, "pia", "peeker")
    await create(api, admin, "vault/secret-plans", "x")
    destination = "d/" + ("n" * 125 + "/") * 4  # 506 characters: no room for secret-plans
    refused = await api.client.post(
        MOVE, json={"source": "vault/", "destination": destination, "prefix": True}, headers=peeker
    )
    assert_error(refused, 403, "forbidden")
    assert "secret-plans" not in refused.text
