"""Issue 21, migrate seal: an embedded node (seal=file) becomes a shamir node. Restarted with
seal=shamir, its key file's content is the one share of a 1-of-1 seal; a rekey to 3 of 2 from
that share splits a new root key into shares, after which the key file opens nothing and can
be deleted."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from strongroom.config import Config
from tests.seal.conftest import INIT_TOKEN, status, unseal
from tests.secrets.conftest import create, read
from tests.support import admin_password


async def test_migrate_from_a_key_file_to_shamir_shares(
    make_config: Callable[..., Config], open_api: Callable[[Config], Any]
) -> None:
    embedded = make_config(seal="file", root_key=None)
    async with open_api(embedded) as api:
        password = admin_password(embedded.data_dir)
        token = (await api.login("admin", password))["access_token"]
        secret = await create(api, api.auth(token), "ops/migrated", "before-migration")
    key_file = embedded.resolved_key_file.read_text().strip()

    shamir = make_config(seal="shamir", root_key=None, init_token=INIT_TOKEN)
    async with open_api(shamir) as api:
        before = await status(api)
        assert (before["initialized"], before["sealed"], before["type"]) == (True, True, "shamir")
        assert (before["t"], before["n"]) == (1, 1)
        assert (await unseal(api, key_file)).json()["sealed"] is False
        headers = api.auth((await api.login("admin", password))["access_token"])
        started = await api.client.post(
            "/api/v1/sys/rekey/init",
            json={"secret_shares": 3, "secret_threshold": 2},
            headers=headers,
        )
        assert started.status_code == 200, started.text
        done = await api.client.post(
            "/api/v1/sys/rekey/update",
            json={"key": key_file, "nonce": started.json()["nonce"]},
            headers=headers,
        )
        assert done.status_code == 200, done.text
        shares = done.json()["keys"]
        assert len(shares) == 3
        assert ((await status(api))["t"], (await status(api))["n"]) == (2, 3)
    embedded.resolved_key_file.unlink()

    async with open_api(shamir) as api:
        assert (await unseal(api, key_file)).json()["progress"] == 1
        mixed = await unseal(api, shares[1])  # the old key file is no share of the new key
        assert mixed.status_code == 400 and mixed.json()["code"] == "invalid_key"
        assert (await unseal(api, shares[0])).json()["sealed"] is True
        assert (await unseal(api, shares[2])).json()["sealed"] is False
        headers = api.auth((await api.login("admin", password))["access_token"])
        answer = await read(api, headers, secret["id"])
        assert answer.json()["value"] == "before-migration"
