"""The secrets API end to end, on SQLite and PostgreSQL: create, read, update, versions, delete,
undelete, destroy."""

from __future__ import annotations

import uuid

from tests.secrets.conftest import BASE, assert_error, create, read
from tests.support import Api


async def test_create_then_read_by_id_and_by_path(api: Api, admin: dict[str, str]) -> None:
    value = {"user": "app", "password": "hunter2", "port": 5432, "tags": ["a", "b"]}
    created = await create(api, admin, "/team/app/db/", value, metadata={"env": "prod"})
    assert created["path"] == "team/app/db"
    assert created["version"] == 1
    assert created["metadata"] == {"env": "prod"}
    assert created["expires_at"] is None
    uuid.UUID(created["id"])

    by_id = await read(api, admin, created["id"])
    assert by_id.status_code == 200, by_id.text
    body = by_id.json()
    assert body["value"] == value
    assert body["path"] == "team/app/db"
    assert body["metadata"] == {"env": "prod"}
    assert body["reads"] is None
    assert body["max_reads"] is None
    assert body["created_at"] == created["created_at"]
    assert body["created_at"].endswith("Z")

    by_path = await api.client.get(f"{BASE}/by-path/team/app/db", headers=admin)
    assert by_path.status_code == 200, by_path.text
    assert by_path.json() == body


async def test_string_values_stay_strings(api: Api, admin: dict[str, str]) -> None:
    for value in ("", "plain", '{"looks": "like json"}', "ünïcödé \u2603 \x00 nul"):
        created = await create(api, admin, f"strings/{uuid.uuid4().hex}", value)
        assert (await read(api, admin, created["id"])).json()["value"] == value


async def test_duplicate_live_path_is_409(api: Api, admin: dict[str, str]) -> None:
    await create(api, admin, "dup/one")
    response = await api.client.post(
        f"{BASE}/create", json={"path": "dup/one", "value": "other"}, headers=admin
    )
    assert_error(response, 409, "path_taken")


async def test_unknown_and_malformed_ids_are_404(api: Api, admin: dict[str, str]) -> None:
    assert_error(await read(api, admin, str(uuid.uuid4())), 404, "not_found")
    assert_error(await read(api, admin, "not-a-uuid"), 404, "not_found")
    assert_error(await read(api, admin, "%00"), 404, "not_found")
    missing = await api.client.get(f"{BASE}/by-path/no/such/secret", headers=admin)
    assert_error(missing, 404, "not_found")
    for method, suffix in (
        ("PUT", ""),
        ("DELETE", ""),
        ("POST", "/undelete"),
        ("POST", "/destroy"),
    ):
        response = await api.client.request(
            method,
            f"{BASE}/{uuid.uuid4()}{suffix}",
            headers=admin,
            json={"value": "x"} if method == "PUT" else None,
        )
        assert_error(response, 404, "not_found")


async def test_update_makes_versions_and_old_ones_stay_readable(
    api: Api, admin: dict[str, str]
) -> None:
    created = await create(api, admin, "versioned/key", "v1", metadata={"a": "1"})
    secret_id = created["id"]
    updated = await api.client.put(f"{BASE}/{secret_id}", json={"value": "v2"}, headers=admin)
    assert updated.status_code == 200, updated.text
    assert updated.json()["version"] == 2
    assert updated.json()["metadata"] == {"a": "1"}, "metadata is kept when omitted"
    third = await api.client.put(
        f"{BASE}/{secret_id}", json={"value": {"k": "v3"}, "metadata": {"b": "2"}}, headers=admin
    )
    assert third.json()["version"] == 3
    assert third.json()["metadata"] == {"b": "2"}

    current = (await read(api, admin, secret_id)).json()
    assert (current["version"], current["value"]) == (3, {"k": "v3"})
    assert current["updated_at"] >= current["created_at"]
    first = await read(api, admin, secret_id, version=1)
    assert (first.json()["version"], first.json()["value"]) == (1, "v1")
    assert_error(await read(api, admin, secret_id, version=9), 404)
    assert_error(await read(api, admin, secret_id, version=0), 422)

    versions = await api.client.get(f"{BASE}/{secret_id}/versions", headers=admin)
    assert versions.status_code == 200
    items = versions.json()["items"]
    assert [(i["version"], i["current"], i["destroyed"]) for i in items] == [
        (3, True, False),
        (2, False, False),
        (1, False, False),
    ]
    assert all("value" not in item for item in items)
    assert items[0]["created_by"] == "root"


async def test_versions_list_pages(api: Api, admin: dict[str, str]) -> None:
    secret_id = (await create(api, admin, "paged/versions", "1"))["id"]
    for n in range(2, 6):
        await api.client.put(f"{BASE}/{secret_id}", json={"value": str(n)}, headers=admin)
    seen: list[int] = []
    cursor = None
    while True:
        params = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        page = await api.client.get(f"{BASE}/{secret_id}/versions", params=params, headers=admin)
        assert page.status_code == 200, page.text
        seen += [item["version"] for item in page.json()["items"]]
        cursor = page.json()["next_cursor"]
        if cursor is None:
            break
    assert seen == [5, 4, 3, 2, 1]
    bad = await api.client.get(
        f"{BASE}/{secret_id}/versions", params={"cursor": "x"}, headers=admin
    )
    assert_error(bad, 422)


async def test_check_and_set(api: Api, admin: dict[str, str]) -> None:
    secret_id = (await create(api, admin, "cas/key", "v1"))["id"]
    stale = await api.client.put(
        f"{BASE}/{secret_id}", json={"value": "v2", "cas": 0}, headers=admin
    )
    assert_error(stale, 409, "cas_mismatch")
    assert "current version is 1" in stale.json()["detail"]
    assert (await read(api, admin, secret_id)).json()["value"] == "v1", "a 409 changes nothing"
    ok = await api.client.put(f"{BASE}/{secret_id}", json={"value": "v2", "cas": 1}, headers=admin)
    assert ok.status_code == 200 and ok.json()["version"] == 2
    again = await api.client.put(
        f"{BASE}/{secret_id}", json={"value": "v3", "cas": 1}, headers=admin
    )
    assert_error(again, 409, "cas_mismatch")


async def test_only_max_versions_are_kept(api: Api, admin: dict[str, str]) -> None:
    await api.set_settings(secrets__max_versions=2)
    secret_id = (await create(api, admin, "kept/two", "v1"))["id"]
    for value in ("v2", "v3", "v4"):
        await api.client.put(f"{BASE}/{secret_id}", json={"value": value}, headers=admin)
    versions = (await api.client.get(f"{BASE}/{secret_id}/versions", headers=admin)).json()
    assert [(i["version"], i["destroyed"]) for i in versions["items"]] == [
        (4, False),
        (3, False),
        (2, True),
        (1, True),
    ]
    assert_error(await read(api, admin, secret_id, version=2), 404)
    assert (await read(api, admin, secret_id, version=3)).json()["value"] == "v3"
    assert await _stored_ciphertexts(api, secret_id) == {3, 4}


async def _stored_ciphertexts(api: Api, secret_id: str) -> set[int]:
    from sqlalchemy import select

    from strongroom.secrets.models import secret_versions

    async with api.services.db.connect() as conn:
        rows = await conn.execute(
            select(secret_versions.c.version).where(
                secret_versions.c.secret_id == secret_id,
                secret_versions.c.ciphertext.is_not(None),
            )
        )
        return set(rows.scalars())


async def test_delete_undelete_and_path_reuse(api: Api, admin: dict[str, str]) -> None:
    first = (await create(api, admin, "reuse/me", "first"))["id"]
    deleted = await api.client.delete(f"{BASE}/{first}", headers=admin)
    assert deleted.status_code == 200, deleted.text
    assert deleted.json()["deleted_at"] is not None
    assert_error(await read(api, admin, first), 404)
    by_path = await api.client.get(f"{BASE}/by-path/reuse/me", headers=admin)
    assert_error(by_path, 404)
    assert_error(await api.client.delete(f"{BASE}/{first}", headers=admin), 404)
    assert_error(await api.client.put(f"{BASE}/{first}", json={"value": "x"}, headers=admin), 404)

    restored = await api.client.post(f"{BASE}/{first}/undelete", headers=admin)
    assert restored.status_code == 200, restored.text
    assert restored.json()["deleted_at"] is None
    assert (await read(api, admin, first)).json()["value"] == "first"
    not_deleted = await api.client.post(f"{BASE}/{first}/undelete", headers=admin)
    assert_error(not_deleted, 409, "not_deleted")

    await api.client.delete(f"{BASE}/{first}", headers=admin)
    second = (await create(api, admin, "reuse/me", "second"))["id"]
    assert second != first
    taken = await api.client.post(f"{BASE}/{first}/undelete", headers=admin)
    assert_error(taken, 409, "path_taken")
    by_path = await api.client.get(f"{BASE}/by-path/reuse/me", headers=admin)
    assert by_path.json()["value"] == "second"


async def test_destroy_some_versions_then_all(api: Api, admin: dict[str, str]) -> None:
    secret_id = (await create(api, admin, "burn/it", "v1"))["id"]
    await api.client.put(f"{BASE}/{secret_id}", json={"value": "v2"}, headers=admin)
    unknown = await api.client.post(
        f"{BASE}/{secret_id}/destroy", json={"versions": [1, 7]}, headers=admin
    )
    assert_error(unknown, 422)
    assert await _stored_ciphertexts(api, secret_id) == {1, 2}, "a 422 changes nothing"

    some = await api.client.post(
        f"{BASE}/{secret_id}/destroy", json={"versions": [1]}, headers=admin
    )
    assert some.status_code == 200, some.text
    assert some.json()["destroyed_versions"] == [1]
    assert some.json()["destroyed"] is False
    assert_error(await read(api, admin, secret_id, version=1), 404)
    assert (await read(api, admin, secret_id)).json()["value"] == "v2"

    everything = await api.client.post(f"{BASE}/{secret_id}/destroy", headers=admin)
    assert everything.json()["destroyed"] is True
    assert everything.json()["destroyed_versions"] == [2]
    assert await _stored_ciphertexts(api, secret_id) == set()
    assert_error(await read(api, admin, secret_id), 404)
    assert_error(await api.client.post(f"{BASE}/{secret_id}/undelete", headers=admin), 404)
    assert_error(await api.client.get(f"{BASE}/{secret_id}/versions", headers=admin), 404)
    assert_error(await api.client.post(f"{BASE}/{secret_id}/destroy", headers=admin), 404)
    # The path is free again.
    await create(api, admin, "burn/it", "reborn")


async def test_destroying_the_last_live_version_destroys_the_secret(
    api: Api, admin: dict[str, str]
) -> None:
    secret_id = (await create(api, admin, "burn/last", "v1"))["id"]
    response = await api.client.post(
        f"{BASE}/{secret_id}/destroy", json={"versions": [1]}, headers=admin
    )
    assert response.json()["destroyed"] is True
    await create(api, admin, "burn/last", "new")


async def test_a_deleted_secret_can_be_destroyed(api: Api, admin: dict[str, str]) -> None:
    secret_id = (await create(api, admin, "delete/then/destroy", "v1"))["id"]
    await api.client.delete(f"{BASE}/{secret_id}", headers=admin)
    versions = await api.client.get(f"{BASE}/{secret_id}/versions", headers=admin)
    assert versions.status_code == 200
    destroyed = await api.client.post(f"{BASE}/{secret_id}/destroy", headers=admin)
    assert destroyed.json()["destroyed"] is True
    assert await _stored_ciphertexts(api, secret_id) == set()


async def test_sealed_barrier_answers_503_and_decrypts_nothing(
    api: Api, admin: dict[str, str]
) -> None:
    secret_id = (await create(api, admin, "sealed/one", "v1"))["id"]
    root = api.services.barrier._root
    api.services.barrier.seal()
    try:
        for response in (
            await read(api, admin, secret_id),
            await api.client.get(f"{BASE}/by-path/sealed/one", headers=admin),
            await api.client.get(BASE, headers=admin),
            await api.client.post(
                f"{BASE}/create", json={"path": "sealed/two", "value": "x"}, headers=admin
            ),
            await api.client.put(f"{BASE}/{secret_id}", json={"value": "x"}, headers=admin),
            await api.client.delete(f"{BASE}/{secret_id}", headers=admin),
        ):
            assert_error(response, 503, "sealed")
            assert "v1" not in response.text
    finally:
        assert root is not None
        await api.services.barrier.unseal(root)
    assert (await read(api, admin, secret_id)).json()["value"] == "v1"
