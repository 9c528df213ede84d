"""After a rekey on one node, a node that still holds the old root key in memory must not
write keyring entries under it: its next keyring change seals it (503) instead, and the
cluster stays openable with the new shares."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from strongroom.config import Config
from tests.seal.conftest import INIT_TOKEN, init, status, unseal


async def test_a_stale_node_cannot_rotate_under_the_old_root_after_a_rekey(
    make_config: Callable[..., Config], open_api: Callable[[Config], Any]
) -> None:
    config = make_config(seal="shamir", root_key=None, init_token=INIT_TOKEN)
    async with open_api(config) as a, open_api(config) as b:
        result = await init(a, 3, 2)
        old = result["keys"]
        for key in old[:2]:
            await unseal(b, key)
        assert (await status(b))["sealed"] is False
        admin_a = a.auth((await a.login("admin", result["admin_password"]))["access_token"])
        admin_b = b.auth((await b.login("admin", result["admin_password"]))["access_token"])
        started = await a.client.post(
            "/api/v1/sys/rekey/init",
            json={"secret_shares": 3, "secret_threshold": 2},
            headers=admin_a,
        )
        nonce = started.json()["nonce"]
        for key in old[:2]:
            step = await a.client.post(
                "/api/v1/sys/rekey/update", json={"key": key, "nonce": nonce}, headers=admin_a
            )
        new = step.json()["keys"]

        # Node B still holds the old root key: its rotation is refused and it seals itself.
        rotated = await b.client.post("/api/v1/sys/rotate", headers=admin_b)
        assert rotated.status_code == 503, rotated.text
        assert (await status(b))["sealed"] is True
        # Node A rotates fine, and B unseals with the new shares and sees every key.
        assert (await a.client.post("/api/v1/sys/rotate", headers=admin_a)).status_code == 200
        for key in new[:2]:
            await unseal(b, key)
        assert (await status(b))["sealed"] is False
        assert b.services.barrier.keyring.data_version == a.services.barrier.keyring.data_version
