"""Issue 22, acceptance 2: a backup of a server with 10,000 secrets (several versions,
metadata, TTLs) on SQLite, restored into PostgreSQL: every value, version, metadata, user,
role and setting identical; a flipped byte in the backup is refused; a restore goes only
into an empty server with the same root key; a dry run changes nothing."""

from __future__ import annotations

import io
import random
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import orjson
import pytest
from sqlalchemy import insert, select

from strongroom.backup.rows import tables
from strongroom.config import Config
from strongroom.crypto import generate_root_key
from strongroom.db import now
from strongroom.db.base import new_id
from strongroom.secrets.models import secret_metadata, secret_version_keys, secret_versions, secrets
from strongroom.secrets.validation import binding
from strongroom_client.archive import CHUNK, ArchiveError, Writer, read
from tests.secrets.conftest import headers_for
from tests.support import Api

BACKUP = "/api/v1/sys/backup"
RESTORE = "/api/v1/sys/restore"
SETTING = "/api/v1/sys/setting"
PASSPHRASE = "correct horse battery staple"


async def _fill(api: Api, count: int) -> None:
    """`count` secrets of 1 to 3 versions, metadata on some, a TTL on some; written in one
    transaction as `create` and `update` store them (the API would take minutes here)."""
    services, at, rng = api.services, now(), random.Random(22)
    rows: list[dict[str, Any]] = []
    versions: list[dict[str, Any]] = []
    keys: list[dict[str, Any]] = []
    meta: list[dict[str, Any]] = []
    for i in range(count):
        secret_id, current = new_id(), rng.randint(1, 3)
        labels = {"team": f"t{i % 7}", "n": str(i)} if i % 3 else {}
        rows.append(
            {"id": secret_id, "path": f"app{i % 10}/s{i:05d}", "path_key": f"app{i % 10}/s{i:05d}",
             "current_version": current, "metadata": orjson.dumps(labels).decode(), "reads": 0,
             "expires_at": at + 86400 + i if i % 4 == 0 else None, "destroyed": False,
             "created_at": at, "updated_at": at + current, "created_by": "root"}
        )  # fmt: skip
        meta += [{"secret_id": secret_id, "key": k, "value": v} for k, v in labels.items()]
        for version in range(1, current + 1):
            value = orjson.dumps(f"value-{i}-v{version}")
            sealed = services.barrier.seal_value(value, binding(secret_id, version))
            versions.append(
                {"secret_id": secret_id, "version": version, "ciphertext": sealed.ciphertext,
                 "value_type": "string", "created_at": at + version, "created_by": "root"}
            )  # fmt: skip
            keys.append(
                {"secret_id": secret_id, "version": version, "wrapped_key": sealed.wrapped_key}
            )
    async with services.db.begin() as conn:
        for table, batch in ((secrets, rows), (secret_versions, versions)):
            for start in range(0, len(batch), 2000):
                await conn.execute(insert(table), batch[start : start + 2000])
        for table, batch in ((secret_version_keys, keys), (secret_metadata, meta)):
            for start in range(0, len(batch), 2000):
                await conn.execute(insert(table), batch[start : start + 2000])


async def _everything(api: Api) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every backed-up table, in primary-key order."""
    found = {}
    async with api.services.db.connect() as conn:
        for table in tables(sessions=False):
            query = select(table).order_by(*table.primary_key.columns)
            found[table.name] = [tuple(row) for row in await conn.execute(query)]
    return found


async def _backup_file(api: Api, admin: dict[str, str], path: Path) -> None:
    response = await api.client.get(BACKUP, headers=admin)
    assert response.status_code == 200, response.text
    with path.open("wb") as out:
        writer = Writer(out, PASSPHRASE)
        for start in range(0, len(response.content), 10_000):
            writer.write(response.content[start : start + 10_000])
        writer.close()


async def _restore(api: Api, admin: dict[str, str], path: Path, *, dry_run: bool = False) -> Any:
    async def body() -> AsyncIterator[bytes]:
        with path.open("rb") as source:
            for chunk in read(source, PASSPHRASE):
                yield chunk

    return await api.client.post(
        RESTORE,
        params={"dry_run": str(dry_run).lower()},
        content=body(),
        headers={**admin, "Content-Type": "application/x-ndjson"},
    )


@pytest.mark.postgres
@pytest.mark.slow
async def test_a_sqlite_backup_restores_into_postgresql_identically(
    make_config: Callable[..., Config],
    open_api: Callable[[Config], Any],
    pg_url: str,
    tmp_path: Path,
) -> None:
    file = tmp_path / "strongroom.backup"
    async with open_api(make_config("sqlite")) as source:
        admin = await headers_for(source, "root", "admin")
        await _fill(source, 10_000)
        await source.create_user(admin["Authorization"][7:], "bea", "user")
        role = {"name": "ops", "description": "ops", "rules": [{"path": "app1/*",
                "capabilities": ["read", "list"]}]}  # fmt: skip
        assert (await source.client.post("/api/v1/roles", json=role, headers=admin)).is_success
        for key, value in (
            ("secrets.max_versions", 7),
            ("notifications.webhook_secret", "hook-secret-1"),
            ("custom.owner", "platform team"),
        ):
            answer = await source.client.post(
                SETTING, json={"key": key, "value": value}, headers=admin
            )
            assert answer.status_code == 200, answer.text
        before = await _everything(source)
        await _backup_file(source, admin, file)
    assert b"value-1-v1" not in file.read_bytes()

    target_config = make_config(
        "postgres", data_dir=tmp_path / "pg", audit_file=str(tmp_path / "pg" / "audit.log")
    )
    async with open_api(target_config) as target:
        admin = await headers_for(target, "root", "admin")
        dry = await _restore(target, admin, file, dry_run=True)
        assert dry.status_code == 200, dry.text
        assert dry.json()["tables"]["secrets"] == 10_000
        assert (await _everything(target))["secrets"] == []

        restored = await _restore(target, admin, file)
        assert restored.status_code == 200, restored.text
        after = await _everything(target)
        assert set(after) == set(before)
        for name in before:
            if name == "settings_history":  # the settings API of the target records too
                continue
            assert after[name] == before[name], name

        # Through the API: values of every version, metadata, users, roles, settings.
        reader = await headers_for(target, "root", "admin")
        for i in random.Random(7).sample(range(10_000), 25):
            got = await target.client.get(
                f"/api/v1/secrets/by-path/app{i % 10}/s{i:05d}", headers=reader
            )
            assert got.status_code == 200, got.text
            body = got.json()
            assert body["value"] == f"value-{i}-v{body['version']}"
            for version in range(1, body["version"]):
                old = await target.client.get(
                    f"/api/v1/secrets/{body['id']}", params={"version": version}, headers=reader
                )
                assert old.json()["value"] == f"value-{i}-v{version}"
        users = (await target.client.get("/api/v1/users", headers=reader)).json()["items"]
        assert "bea" in {u["username"] for u in users}
        assert target.services.settings.secrets.max_versions == 7
        assert target.services.settings.notifications.webhook_secret.reveal() == "hook-secret-1"
        assert (await target.client.get("/api/v1/roles/ops", headers=reader)).is_success

        again = await _restore(target, reader, file)
        assert again.status_code == 409 and again.json()["code"] == "not_empty"


async def test_a_flipped_byte_anywhere_is_refused(tmp_path: Path) -> None:
    plain = b"".join(b'{"t":"secrets","r":[%d]}\n' % i for i in range(20_000))
    out = io.BytesIO()
    writer = Writer(out, PASSPHRASE)
    writer.write(plain)
    writer.close()
    data = out.getvalue()
    assert len(data) > 3 * CHUNK
    assert b"".join(read(io.BytesIO(data), PASSPHRASE)) == plain
    rng = random.Random(3)
    for position in [5, 20, 40, len(data) // 2, len(data) - 1, *rng.sample(range(len(data)), 20)]:
        altered = bytearray(data)
        altered[position] ^= 0x01
        with pytest.raises(ArchiveError):
            b"".join(read(io.BytesIO(bytes(altered)), PASSPHRASE))
    for cut in (len(data) - 1, len(data) - CHUNK, len(data) // 2):
        with pytest.raises(ArchiveError):
            b"".join(read(io.BytesIO(data[:cut]), PASSPHRASE))
    with pytest.raises(ArchiveError):
        b"".join(read(io.BytesIO(data + b"x"), PASSPHRASE))
    with pytest.raises(ArchiveError):
        b"".join(read(io.BytesIO(data), "another passphrase"))


async def test_restore_refuses_another_root_key_and_changes_nothing(
    make_config: Callable[..., Config], open_api: Callable[[Config], Any], tmp_path: Path
) -> None:
    file = tmp_path / "b.backup"
    async with open_api(make_config("sqlite")) as source:
        admin = await headers_for(source, "root", "admin")
        await _fill(source, 20)
        await _backup_file(source, admin, file)
    other = make_config(
        "sqlite",
        data_dir=tmp_path / "other",
        audit_file=str(tmp_path / "other" / "audit.log"),
        root_key=generate_root_key().encode(),
    )
    async with open_api(other) as target:
        admin = await headers_for(target, "root", "admin")
        before = await _everything(target)
        refused = await _restore(target, admin, file)
        assert refused.status_code == 409, refused.text
        assert refused.json()["code"] == "wrong_root_key"
        assert await _everything(target) == before
        garbage = await target.client.post(
            RESTORE, content=b"not a backup\n", headers={**admin, "Content-Type": "text/plain"}
        )
        assert garbage.status_code == 400, garbage.text
        user = await headers_for(target, "ulla", "user")
        assert (await target.client.get(BACKUP, headers=user)).status_code == 403
        assert (await _restore(target, user, file)).status_code == 403


@pytest.mark.redis
async def test_a_restore_ends_every_session_on_the_redis_store_too(
    make_config: Callable[..., Config], open_api: Callable[[Config], Any], tmp_path: Path
) -> None:
    """Restore replaces the users: no token issued before it works after it, whichever store
    holds the sessions (the Redis store kept them: a removed user's token still worked)."""
    file = tmp_path / "s.backup"
    async with open_api(make_config("sqlite")) as source:
        admin = await headers_for(source, "root", "admin")
        await _fill(source, 3)
        await _backup_file(source, admin, file)
    target_config = make_config(
        "sqlite",
        redis_store=True,
        data_dir=tmp_path / "target",
        audit_file=str(tmp_path / "target" / "audit.log"),
    )
    async with open_api(target_config) as target:
        admin = await headers_for(target, "root", "admin")
        user = await headers_for(target, "rhea", "user")
        assert (await target.client.get("/api/v1/users/me", headers=user)).status_code == 200
        restored = await _restore(target, admin, file)
        assert restored.status_code == 200, restored.text
        for headers in (user, admin):
            after = await target.client.get("/api/v1/users/me", headers=headers)
            assert after.status_code == 401, after.text
