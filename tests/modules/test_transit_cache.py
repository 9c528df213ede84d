"""The per-node cache of transit keys (modules/transit/cache.py): two nodes on one PostgreSQL
database and one Redis; what node B cached is never used after a change made through node A."""

from __future__ import annotations

import base64
from collections.abc import Callable
from typing import Any

from sqlalchemy import text

from strongroom.config import Config
from strongroom.modules.transit.cache import key_cache
from tests.modules.conftest import TRANSIT
from tests.support import Api, make_user_session

ENCRYPT = {"plaintext": base64.b64encode(b"x" * 1024).decode()}


async def _encrypt(node: Api, headers: dict[str, str]) -> tuple[int, Any]:
    response = await node.client.post(f"{TRANSIT}/encrypt/k", json=ENCRYPT, headers=headers)
    return response.status_code, response.json()


async def test_a_change_on_one_node_reaches_the_others_cache_at_once(
    make_config: Callable[..., Config], open_api: Any, pg_url: str, redis_prefix: str
) -> None:
    config = make_config("postgres", redis_store=True)
    async with open_api(config) as a, open_api(config) as b:
        token, _ = await make_user_session(a.services, "alice", "user")
        alice = a.auth(token)
        assert (
            await a.client.post("/api/v1/modules/transit/enable", headers=alice)
        ).status_code == 200
        await a.client.post(f"{TRANSIT}/keys", json={"name": "k"}, headers=alice)
        for _ in range(2):
            status, sealed = await _encrypt(b, alice)
            assert (status, sealed["key_version"]) == (200, 1)
        assert len(key_cache(b.services)) == 1
        # Proof that B serves from its cache: a change behind every node's back (no watch
        # bump) goes unseen...
        async with a.services.db.begin() as conn:
            await conn.execute(text("UPDATE transit_keys SET min_decryption_version = 1"))
            versions = (
                await conn.execute(text("SELECT count(*) FROM transit_key_versions"))
            ).scalar_one()
        assert versions == 1
        # ...while a rotation through A is seen by B at its next request.
        assert (
            await a.client.post(f"{TRANSIT}/rotate/k", headers=alice, json={})
        ).status_code == 200
        status, sealed = await _encrypt(b, alice)
        assert (status, sealed["key_version"]) == (200, 2)
        # Disabling the module through A: B refuses at once.
        await _encrypt(b, alice)
        assert (
            await a.client.post("/api/v1/modules/transit/disable", headers=alice)
        ).status_code == 200
        status, body = await _encrypt(b, alice)
        assert (status, body["code"]) == (403, "module_not_enabled")
        await a.client.post("/api/v1/modules/transit/enable", headers=alice)
        assert (await _encrypt(b, alice))[0] == 200
        # The key deleted and made again as a signing key: B does not encrypt with the old one.
        await a.client.post(
            f"{TRANSIT}/keys/k/config", json={"deletion_allowed": True}, headers=alice
        )
        assert (await a.client.delete(f"{TRANSIT}/keys/k", headers=alice)).status_code == 200
        await a.client.post(f"{TRANSIT}/keys", json={"name": "k", "type": "ed25519"}, headers=alice)
        status, body = await _encrypt(b, alice)
        assert (status, body["code"]) == (400, "unsupported_operation")
        # An admin's purge through A: B refuses at once.
        await a.client.post(
            f"{TRANSIT}/keys/k/config", json={"deletion_allowed": True}, headers=alice
        )
        await a.client.delete(f"{TRANSIT}/keys/k", headers=alice)
        await a.client.post(f"{TRANSIT}/keys", json={"name": "k"}, headers=alice)
        assert (await _encrypt(b, alice))[0] == 200
        admin_token, _ = await make_user_session(a.services, "root", "admin")
        purged = await a.client.post(
            "/api/v1/sys/modules/transit/purge",
            json={"username": "alice"},
            headers=a.auth(admin_token),
        )
        assert purged.status_code == 200
        status, body = await _encrypt(b, alice)
        assert (status, body["code"]) == (403, "module_not_enabled")
