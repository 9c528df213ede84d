"""Issue 21 acceptance 4: rotate + rewrap. Every barrier-encrypted column moves under the newest
data key (secret value keys, pre-envelope values, module data, secret settings); every value
reads back. The 10,000-secret run with a kill -9 in the middle is the slow test below."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from strongroom.app import create_app
from strongroom.config import Config
from strongroom.db import now
from strongroom.seal.rewrap import rewrapper_of
from strongroom.secrets import mutations
from strongroom.secrets.validation import binding
from tests.secrets.conftest import admin, create, read
from tests.support import FAST_ARGON2, Api, ServerProcess, admin_password

__all__ = ["admin"]


async def wait_done(api: Api, headers: dict[str, str], deadline: float = 60) -> dict[str, Any]:
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        status = (await api.client.get("/api/v1/sys/rewrap", headers=headers)).json()
        if status["state"] == "done":
            return status  # type: ignore[no-any-return]
        await _pause()
    raise AssertionError(f"rewrap not done: {status}")


async def _pause() -> None:
    import asyncio

    await asyncio.sleep(0.05)


async def legacy_value(api: Api, secret_id: str, version: int, plaintext: bytes) -> None:
    """A version as written before envelopes: under the keyring's data key, no key row."""
    blob = api.services.barrier.encrypt(plaintext, binding(secret_id, version))
    async with api.services.db.begin() as conn:
        from sqlalchemy import update

        from strongroom.secrets.models import secret_versions

        await conn.execute(
            update(secret_versions)
            .where(secret_versions.c.secret_id == secret_id, secret_versions.c.version == version)
            .values(ciphertext=blob)
        )
        from sqlalchemy import delete

        from strongroom.secrets.models import secret_version_keys

        await conn.execute(
            delete(secret_version_keys).where(
                secret_version_keys.c.secret_id == secret_id,
                secret_version_keys.c.version == version,
            )
        )


async def test_rotate_then_rewrap_moves_every_column_under_the_newest_key(
    api: Api, admin: dict[str, str]
) -> None:
    secrets = [await create(api, admin, f"rewrap/s{i}", f"value-{i}") for i in range(12)]
    await legacy_value(api, secrets[0]["id"], 1, b'"value-0"')
    enabled = await api.client.post("/api/v1/modules/transit/enable", headers=admin)
    assert enabled.status_code in (200, 204), enabled.text
    key = await api.client.post("/api/v1/modules/transit/keys", json={"name": "k1"}, headers=admin)
    assert key.status_code in (200, 201), key.text
    sealed = await api.client.post(
        "/api/v1/modules/transit/encrypt/k1", json={"plaintext": "aGVsbG8="}, headers=admin
    )
    assert sealed.status_code == 200, sealed.text
    setting = await api.client.post(
        "/api/v1/sys/auth", json={"github_client_secret": "oauth-secret"}, headers=admin
    )
    assert setting.status_code == 200, setting.text

    rotated = await api.client.post("/api/v1/sys/rotate", headers=admin)
    target = rotated.json()["data_key_version"]
    runner = rewrapper_of(api.services)
    assert await runner.remaining(target) >= 12 + 1 + 1  # values, transit key, setting
    started = await api.client.post("/api/v1/sys/rewrap", headers=admin)
    assert started.status_code == 200, started.text
    assert started.json()["data_version"] == target
    done = await wait_done(api, admin)
    assert done["total"] >= 14 and done["finished_at"]
    assert await runner.remaining(target) == 0

    for i, secret in enumerate(secrets):
        answer = await read(api, admin, secret["id"])
        assert answer.json()["value"] == f"value-{i}"
    decrypted = await api.client.post(
        "/api/v1/modules/transit/decrypt/k1",
        json={"ciphertext": sealed.json()["ciphertext"]},
        headers=admin,
    )
    assert decrypted.status_code == 200, decrypted.text
    assert decrypted.json()["plaintext"] == "aGVsbG8="
    assert api.services.settings.auth.github_client_secret.reveal() == "oauth-secret"
    # Only an admin starts a rewrap.
    assert (await api.client.post("/api/v1/sys/rewrap")).status_code == 401


async def bulk_secrets(config: Config, count: int) -> None:
    """`count` secrets written through the secrets layer's own inserts, in a few transactions
    (not `count` HTTP calls)."""
    app = create_app(config)
    async with app.router.lifespan_context(app):
        services = app.state.holder.get()
        import orjson

        from strongroom.db.base import new_id

        for start in range(0, count, 1000):
            at = now()
            async with services.db.begin() as conn:
                for i in range(start, min(count, start + 1000)):
                    new = mutations.NewSecret(
                        id=new_id(),
                        path=f"bulk/{i}",
                        metadata="{}",
                        max_reads=None,
                        expires_at=None,
                        created_at=at,
                        created_by="admin",
                    )
                    await mutations.insert_secret(conn, new)
                    sealed = services.barrier.seal_value(orjson.dumps(f"v{i}"), binding(new.id, 1))
                    await mutations.insert_version(conn, new.id, 1, sealed, "string", at, "admin")


@pytest.mark.slow
def test_rewrap_of_10000_secrets_survives_kill_9_and_resumes(tmp_path: Path) -> None:
    data = tmp_path / "data"
    env = {
        "STRONGROOM_REWRAP_BATCH_SIZE": "1000",
        "STRONGROOM_REWRAP_BATCH_PAUSE": "0.3",
        "STRONGROOM_SWEEP_INTERVAL": "1",
    }
    config = Config(data_dir=data, tls_disable=True, **FAST_ARGON2)  # type: ignore[arg-type]
    import asyncio

    asyncio.run(bulk_secrets(config, 10_000))
    node = ServerProcess(data, env, tls=True).start()
    with httpx.Client(verify=node.verify, base_url=node.url, timeout=30) as http:
        login = http.post(
            "/api/v1/auth/token/create",
            data={"grant_type": "password", "username": "admin", "password": admin_password(data)},
        )
        headers = {"Authorization": f"Bearer {login.json()['access_token']}"}
        target = http.post("/api/v1/sys/rotate", headers=headers).json()["data_key_version"]
        started = http.post("/api/v1/sys/rewrap", headers=headers).json()
        assert started["state"] == "running" and started["total"] >= 10_000
        deadline = time.monotonic() + 120
        while True:
            status = http.get("/api/v1/sys/rewrap", headers=headers).json()
            if status["done"] >= 2_000:
                break
            assert time.monotonic() < deadline, status
            time.sleep(0.05)
        node.stop(kill=True)  # kill -9, mid-job
        assert status["state"] == "running" and status["done"] < status["total"]

        node = ServerProcess(data, env, tls=True).start()
        try:
            login = http.post(
                f"{node.url}/api/v1/auth/token/create",
                data={
                    "grant_type": "password",
                    "username": "admin",
                    "password": admin_password(data),
                },
            )
            headers = {"Authorization": f"Bearer {login.json()['access_token']}"}
            deadline = time.monotonic() + 300
            while True:
                status = http.get(f"{node.url}/api/v1/sys/rewrap", headers=headers).json()
                if status["state"] == "done":
                    break
                assert time.monotonic() < deadline, status
                time.sleep(0.2)
            assert status["id"] == started["id"]  # the same job, resumed
        finally:
            node.stop()
    asyncio.run(check_all(config, target))


async def check_all(config: Config, target: int) -> None:
    """Every value reads back through the barrier; none is under an older key version."""
    app = create_app(config)
    async with app.router.lifespan_context(app):
        services = app.state.holder.get()
        assert await rewrapper_of(services).remaining(target) == 0
        from sqlalchemy import select

        from strongroom.secrets.models import secret_version_keys, secret_versions, secrets

        query = (
            select(
                secrets.c.path,
                secret_versions.c.secret_id,
                secret_versions.c.version,
                secret_versions.c.ciphertext,
                secret_version_keys.c.wrapped_key,
            )
            .join(secret_versions, secret_versions.c.secret_id == secrets.c.id)
            .join(
                secret_version_keys,
                (secret_version_keys.c.secret_id == secrets.c.id)
                & (secret_version_keys.c.version == secret_versions.c.version),
            )
            .where(secrets.c.path.like("bulk/%"))
        )
        async with services.db.connect() as conn:
            rows = (await conn.execute(query)).all()
        assert len(rows) == 10_000
        for path, secret_id, version, ciphertext, wrapped in rows:
            plain = await services.barrier.open_value(
                ciphertext, wrapped, binding(secret_id, version)
            )
            assert plain == f'"v{path.split("/")[1]}"'.encode()
