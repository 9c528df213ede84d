"""Issue 16 finding 4 (SECURITY.md 32): with a production seal (seal=manual, its alias
shamir), no unauthenticated call creates or replaces a keyring; a fresh node refuses unseal
until an explicit init with the node's init token."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import func, select

from strongroom.barrier.models import keyring
from strongroom.config import Config
from strongroom.crypto import generate_root_key
from tests.support import Api


async def keyring_rows(api: Api) -> int:
    async with api.services.db.connect() as conn:
        return int((await conn.execute(select(func.count()).select_from(keyring))).scalar_one())


async def test_finding_4_anonymous_unseal_of_a_fresh_manual_node_creates_no_keyring(
    make_config: Callable[..., Config], open_api: Callable[[Config], Any]
) -> None:
    config = make_config(seal="manual", root_key=None)
    async with open_api(config) as api:
        attacker_key = generate_root_key().encode()
        response = await api.client.post("/api/v1/sys/unseal", json={"key": attacker_key})
        assert response.status_code == 503, response.text
        assert response.json()["code"] == "not_initialised"
        assert await keyring_rows(api) == 0
        assert api.services.barrier.sealed

        # init without the init token, or with a wrong one: refused, nothing created.
        for h in ({}, {"Authorization": "Bearer sri_guessed"}):
            refused = await api.client.post(
                "/api/v1/sys/init",
                json={"secret_shares": 1, "secret_threshold": 1},
                headers=h,
            )
            assert refused.status_code == 401, refused.text
            assert await keyring_rows(api) == 0

        token = config.init_token_file.read_text().strip()
        assert config.init_token_file.stat().st_mode & 0o077 == 0
        done = await api.client.post(
            "/api/v1/sys/init",
            json={"secret_shares": 1, "secret_threshold": 1},
            headers={"Authorization": f"Bearer {token}"},
        )
        assert done.status_code == 200, done.text
        assert await keyring_rows(api) > 0
        assert not config.init_token_file.exists()

        # A second init (even with the old token) cannot replace the keyring.
        again = await api.client.post(
            "/api/v1/sys/init",
            json={"secret_shares": 1, "secret_threshold": 1},
            headers={"Authorization": f"Bearer {token}"},
        )
        assert again.status_code == 400
        assert again.json()["code"] == "already_initialised"

        # The attacker's key does not unseal the node once sealed again; the real share does.
        api.services.barrier.seal()
        wrong = await api.client.post("/api/v1/sys/unseal", json={"key": attacker_key})
        assert wrong.status_code == 400, wrong.text
        assert wrong.json()["code"] == "invalid_key"
        assert api.services.barrier.sealed
        share = done.json()["keys_base64"][0]
        right = await api.client.post("/api/v1/sys/unseal", json={"key": share})
        assert right.status_code == 200, right.text
        assert right.json()["sealed"] is False
