"""Issue 16, finding 5: a user created with a deleted user's name reads none of its secrets."""

from __future__ import annotations

from sqlalchemy import select

from strongroom.secrets.models import secret_version_keys, secret_versions
from tests.support import Api, make_user_session

SECRETS = "/api/v1/secrets"


async def _leftovers(api: Api, secret_ids: list[str]) -> tuple[int, int]:
    """Ciphertexts and data keys still stored for these secrets."""
    async with api.services.db.read() as conn:
        ciphertexts = await conn.execute(
            select(secret_versions.c.version).where(
                secret_versions.c.secret_id.in_(secret_ids),
                secret_versions.c.ciphertext.is_not(None),
            )
        )
        keys = await conn.execute(
            select(secret_version_keys.c.version).where(
                secret_version_keys.c.secret_id.in_(secret_ids)
            )
        )
        return len(ciphertexts.all()), len(keys.all())


async def test_finding_5_a_recreated_user_reads_none_of_the_deleted_users_secrets(
    api: Api,
) -> None:
    admin_token, _ = await make_user_session(api.services, "root", "admin")
    admin = api.auth(admin_token)
    await api.create_user(admin_token, "alice")
    alice = api.auth((await api.login("alice"))["access_token"])
    old: list[str] = []
    for headers, path, value in (
        (alice, "users/alice/db", "OLD-ALICE-1"),
        (alice, "users/alice/deep/api", "OLD-ALICE-2"),
        (admin, "users/alice/from-admin", "OLD-ALICE-3"),
    ):
        made = await api.client.post(
            f"{SECRETS}/create", json={"path": path, "value": value}, headers=headers
        )
        assert made.status_code == 200, made.text
        old.append(made.json()["id"])
    deleted = await api.client.delete(f"{SECRETS}/{old[1]}", headers=alice)  # soft-deleted one
    assert deleted.status_code == 200, deleted.text
    others = await api.client.post(
        f"{SECRETS}/create", json={"path": "users/alicex/db", "value": "keep"}, headers=admin
    )
    assert others.status_code == 200, others.text
    assert (await api.client.post("/api/v1/users/alice/delete", headers=admin)).status_code == 200

    await api.create_user(admin_token, "alice")
    new_alice = api.auth((await api.login("alice"))["access_token"])
    listed = await api.client.get(SECRETS, headers=new_alice)
    assert listed.status_code == 200 and listed.json()["items"] == [], listed.text
    for secret_id in old:
        for suffix in ("", "?version=1", "/versions"):
            response = await api.client.get(f"{SECRETS}/{secret_id}{suffix}", headers=new_alice)
            assert response.status_code == 404, (secret_id, suffix, response.text)
            assert "OLD-ALICE" not in response.text
        undeleted = await api.client.post(f"{SECRETS}/{secret_id}/undelete", headers=new_alice)
        assert undeleted.status_code == 404, undeleted.text
    by_path = await api.client.get(f"{SECRETS}/by-path/users/alice/db", headers=new_alice)
    assert by_path.status_code == 404
    # Gone for the admin too, for good: no ciphertext and no key left; the paths are free.
    assert await _leftovers(api, old) == (0, 0)
    reused = await api.client.post(
        f"{SECRETS}/create", json={"path": "users/alice/db", "value": "new"}, headers=new_alice
    )
    assert reused.status_code == 200, reused.text
    # Another user's space whose name merely starts with "alice" is untouched.
    kept = await api.client.get(f"{SECRETS}/{others.json()['id']}", headers=admin)
    assert kept.status_code == 200 and kept.json()["value"] == "keep"
