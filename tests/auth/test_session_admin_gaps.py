"""Issue 3 gaps: an admin password reset ends the user's sessions at once (acceptance 5),
no endpoint returns a token hash, a password hash or another user's token (acceptance 6),
and revoking one session by id (`DELETE /api/v1/auth/sessions/{id}`).

Each test runs on three stores: the database store on SQLite and on PostgreSQL, and the Redis
store. The sessions are opened through the real login endpoint, not written into the store.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
import redis.asyncio as aioredis
from sqlalchemy import select

from strongroom.config import Config
from strongroom.crypto import token_hash
from strongroom.sessions.models import sessions, used_refresh_tokens
from strongroom.users.models import users
from tests.support import REDIS_URL, TEST_PASSWORD, Api

ME = "/api/v1/users/me"
CREATE = "/api/v1/auth/token/create"
RENEW = "/api/v1/auth/token/renew"
SESSIONS = "/api/v1/auth/sessions"
CHECK = "/api/v1/auth/check_token"
INTROSPECT = "/api/v1/auth/token/introspect"
NEW_PASSWORD = "a brand new passphrase"
_HEX64 = re.compile(r"[0-9a-f]{64}")


@dataclass
class Node:
    kind: str
    api: Api
    config: Config
    admin_token: str

    @property
    def client(self) -> httpx.AsyncClient:
        return self.api.client

    def auth(self, token: str) -> dict[str, str]:
        return self.api.auth(token)


@pytest.fixture(params=["sqlite", "postgres", "redis"])
def node_config(
    request: pytest.FixtureRequest, make_config: Callable[..., Config]
) -> tuple[str, Config]:
    """The database store on SQLite or PostgreSQL, or the Redis store. A plain fixture: the
    PostgreSQL and Redis fixtures run their own event loop."""
    kind = str(request.param)
    if kind == "redis":
        return kind, make_config("sqlite", redis_store=True)
    return kind, make_config(kind)


@pytest.fixture
async def node(
    node_config: tuple[str, Config], open_api: Callable[[Config], Any]
) -> AsyncIterator[Node]:
    """The app on `node_config`, with the first admin logged in."""
    kind, config = node_config
    async with open_api(config) as api:
        password = config.admin_password_file.read_text().split("password: ", 1)[1].strip()
        admin = (await api.login("admin", password))["access_token"]
        yield Node(kind, api, config, admin)


async def _status(client: httpx.AsyncClient, token: str) -> int:
    return (await client.get(ME, headers={"Authorization": f"Bearer {token}"})).status_code


async def _renew(node: Node, refresh_token: str) -> httpx.Response:
    return await node.client.post(RENEW, json={"refresh_token": refresh_token})


# --- 1. an admin password reset ends every session of the user, at once -------------------------


async def test_admin_password_reset_ends_all_the_users_sessions_at_once(
    node: Node, open_api: Callable[[Config], Any]
) -> None:
    await node.api.create_user(node.admin_token, "carol")
    first, second = await node.api.login("carol"), await node.api.login("carol")
    bystander = await node.api.create_user(node.admin_token, "dora")
    dora = await node.api.login(bystander["username"])
    for tokens in (first, second):
        assert await _status(node.client, tokens["access_token"]) == 200

    # A second node on the same database and session store: the reset must reach it too.
    async with open_api(node.config) as other_node:
        assert await _status(other_node.client, first["access_token"]) == 200

        reset = await node.client.post(
            "/api/v1/users/carol/password",
            json={"new_password": NEW_PASSWORD},
            headers=node.auth(node.admin_token),
        )
        assert reset.status_code == 200, reset.text
        assert reset.json() == {"ok": True, "sessions_ended": 2}

        for tokens in (first, second):
            for client in (node.client, other_node.client):
                dead = await client.get(ME, headers=node.auth(tokens["access_token"]))
                assert dead.status_code == 401
                assert dead.json()["code"] == "invalid_token"
            # The fast lane's token check is another code path for the same verdict.
            checked = await other_node.client.post(
                CHECK, json={"username": "carol"}, headers=node.auth(tokens["access_token"])
            )
            assert checked.status_code == 401

    for tokens in (first, second):
        renew = await _renew(node, tokens["refresh_token"])
        assert renew.status_code == 400
        assert renew.json()["error"] == "invalid_grant"
        grant = await node.client.post(
            CREATE, data={"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]}
        )
        assert grant.status_code == 400
        assert grant.json()["error"] == "invalid_grant"

    # Nobody else lost a session: not the admin who reset, not another user.
    assert await _status(node.client, node.admin_token) == 200
    assert await _status(node.client, dora["access_token"]) == 200
    assert (await _renew(node, dora["refresh_token"])).status_code == 200

    old = await node.client.post(
        CREATE, data={"grant_type": "password", "username": "carol", "password": TEST_PASSWORD}
    )
    assert old.status_code == 401
    fresh = await node.api.login("carol", NEW_PASSWORD)
    assert await _status(node.client, fresh["access_token"]) == 200


async def test_only_an_admin_may_reset_a_password(node: Node) -> None:
    await node.api.create_user(node.admin_token, "carol")
    await node.api.create_user(node.admin_token, "audrey", role="auditor")
    victim = await node.api.login("carol")
    for name in ("carol", "audrey"):
        caller = await node.api.login(name)
        refused = await node.client.post(
            "/api/v1/users/carol/password",
            json={"new_password": NEW_PASSWORD},
            headers=node.auth(caller["access_token"]),
        )
        assert refused.status_code == 403, name
    anonymous = await node.client.post(
        "/api/v1/users/carol/password", json={"new_password": NEW_PASSWORD}
    )
    assert anonymous.status_code == 401
    assert await _status(node.client, victim["access_token"]) == 200
    assert (await node.api.login("carol"))["access_token"]  # the old password still works


# --- 2. no endpoint returns a hash or another user's token --------------------------------------


async def _stored_hashes(node: Node) -> tuple[set[str], dict[str, str]]:
    """Token hashes as the session store holds them, and each user's password hash, read
    from the storage itself (tables, or every Redis key and value of this run's prefix)."""
    token_hashes: set[str] = set()
    passwords: dict[str, str] = {}
    async with node.api.services.db.connect() as conn:
        for name, hashed in (
            await conn.execute(select(users.c.username, users.c.password_hash))
        ).all():
            if hashed:
                passwords[name] = hashed
        rows = (await conn.execute(select(sessions.c.access_hash, sessions.c.refresh_hash))).all()
        token_hashes.update(value for row in rows for value in row if value)
        used = (await conn.execute(select(used_refresh_tokens.c.token_hash))).scalars().all()
        token_hashes.update(used)
    if node.kind == "redis":
        raw = aioredis.Redis.from_url(REDIS_URL, decode_responses=True)
        try:
            prefix = node.config.redis_prefix
            async for key in raw.scan_iter(match=f"{prefix}*", count=1000):
                parts: list[Any] = [key]
                kind = await raw.type(key)
                if kind == "string":
                    parts.append(await raw.get(key))
                elif kind == "hash":
                    parts.extend(item for pair in (await raw.hgetall(key)).items() for item in pair)
                elif kind == "zset":
                    parts.extend(await raw.zrange(key, 0, -1))
                elif kind == "set":
                    parts.extend(await raw.smembers(key))
                elif kind == "list":
                    parts.extend(await raw.lrange(key, 0, -1))
                token_hashes.update(_HEX64.findall(" ".join(map(str, parts))))
        finally:
            await raw.aclose()
    return token_hashes, passwords


def _password_fragments(hashed: str) -> list[str]:
    """The whole encoded Argon2 hash, its salt and its digest (each alone would be a leak)."""
    assert hashed.startswith("$argon2id$"), hashed
    salt, digest = hashed.rsplit("$", 2)[1:]
    return [hashed, salt, digest]


@dataclass
class Recorder:
    """Calls the API as one of the users and keeps every response with who asked and what."""

    node: Node
    tokens: dict[str, str]  # each caller's current access token
    issued: dict[str, list[str]]  # every token ever issued, by owner
    seen: list[tuple[str, str, httpx.Response]]  # (caller, call, response)

    async def call(
        self, caller: str, call: str, method: str, url: str, **kwargs: Any
    ) -> httpx.Response:
        headers = self.node.auth(self.tokens[caller]) if caller in self.tokens else {}
        response = await self.node.client.request(method, url, headers=headers, **kwargs)
        assert response.status_code < 500, (call, response.text)
        self.seen.append((caller, call, response))
        return response

    async def issue(self, caller: str, url: str, **kwargs: Any) -> dict[str, Any]:
        """Log in or renew without a bearer: the answer carries the caller's new tokens."""
        response = await self.node.client.post(url, **kwargs)
        assert response.status_code == 200, response.text
        self.seen.append((caller, "issue", response))
        body: dict[str, Any] = response.json()
        self.issued.setdefault(caller, []).extend([body["access_token"], body["refresh_token"]])
        self.tokens[caller] = body["access_token"]
        return body


async def test_no_response_contains_a_hash_or_another_users_token(node: Node) -> None:
    rec = Recorder(node, {"admin": node.admin_token}, {"admin": [node.admin_token]}, [])
    for name, role in (("alice", "user"), ("bob", "user"), ("audrey", "auditor")):
        user = {"username": name, "email": f"{name}@example.test", "role": role}
        created = await rec.call(
            "admin", "users/create", "POST", "/api/v1/users/create",
            json={**user, "password": TEST_PASSWORD},
        )  # fmt: skip
        assert created.status_code == 200, created.text
    login = {"grant_type": "password", "password": TEST_PASSWORD}
    alice = await rec.issue("alice", CREATE, data={**login, "username": "alice"})
    bob = await rec.issue("bob", CREATE, json={**login, "username": "bob"})
    bob_alias = await rec.issue("bob", "/api/v1/token/create", data={**login, "username": "bob"})
    await rec.issue("audrey", CREATE, data={**login, "username": "audrey"})
    alice = await rec.issue("alice", RENEW, json={"refresh_token": alice["refresh_token"]})
    alice = await rec.issue(
        "alice",
        CREATE,
        data={"grant_type": "refresh_token", "refresh_token": alice["refresh_token"]},
    )
    hashes_mid, passwords_mid = await _stored_hashes(node)

    await rec.call("alice", "me", "GET", ME)
    await rec.call("bob", "me", "GET", ME)
    await rec.call("admin", "me", "GET", ME)
    await rec.call("alice", "check_token", "POST", CHECK, json={"username": "alice"})
    await rec.call("alice", "check_token other", "POST", CHECK, json={"username": "bob"})
    await rec.call("alice", "sessions", "GET", SESSIONS)
    await rec.call("bob", "sessions", "GET", SESSIONS)
    await rec.call("alice", "sessions of bob", "GET", f"{SESSIONS}?username=bob")
    await rec.call("audrey", "sessions all", "GET", f"{SESSIONS}?all=true")
    await rec.call("admin", "sessions all", "GET", f"{SESSIONS}?all=true")
    await rec.call("admin", "sessions of alice", "GET", f"{SESSIONS}?username=alice")
    await rec.call("admin", "users", "GET", "/api/v1/users")
    await rec.call("admin", "user", "GET", "/api/v1/users/alice")
    # Introspection of one's own tokens, of another user's, and of a garbage token: the
    # answer describes the session, never echoes the token nor its hash.
    for token in (
        alice["access_token"],
        alice["refresh_token"],
        bob["access_token"],
        bob["refresh_token"],
        bob_alias["access_token"],
        "sra_not-a-real-token",
    ):
        for caller in ("alice", "admin"):
            await rec.call(caller, "introspect", "POST", INTROSPECT, data={"token": token})
    # Password changes answer with a count, not with the new hash.
    await rec.call(
        "admin", "reset password", "POST", "/api/v1/users/bob/password",
        json={"new_password": NEW_PASSWORD},
    )  # fmt: skip
    await rec.call(
        "alice", "change password", "POST", "/api/v1/users/me/password",
        json={"current_password": TEST_PASSWORD, "new_password": NEW_PASSWORD},
    )  # fmt: skip
    hashes_end, passwords_end = await _stored_hashes(node)

    # The calls did what they should (else the checks below would prove little) ...
    statuses = {(caller, call): r.status_code for caller, call, r in rec.seen}
    for key in [("alice", "me"), ("alice", "sessions"), ("audrey", "sessions all"),
                ("admin", "sessions all"), ("admin", "users"), ("admin", "reset password"),
                ("alice", "change password"), ("alice", "introspect")]:  # fmt: skip
        assert statuses[key] == 200, key
    assert statuses[("alice", "check_token other")] == 403
    assert statuses[("alice", "sessions of bob")] == 403
    listed = next(r.json() for c, call, r in rec.seen if (c, call) == ("admin", "sessions all"))
    assert {"alice", "bob", "audrey", "admin"} <= {s["username"] for s in listed["items"]}
    # ... and the storage was really read: it holds the hashes of the tokens issued above.
    assert token_hash(alice["access_token"]) in hashes_mid
    assert token_hash(bob["refresh_token"]) in hashes_mid
    assert {"admin", "alice", "bob", "audrey"} <= passwords_mid.keys()
    assert passwords_end["alice"] != passwords_mid["alice"]
    assert passwords_end["bob"] != passwords_mid["bob"]

    every_token = [t for tokens in rec.issued.values() for t in tokens]
    forbidden_hashes = hashes_mid | hashes_end | {token_hash(t) for t in every_token}
    fragments = [
        fragment
        for hashed in [*passwords_mid.values(), *passwords_end.values()]
        for fragment in _password_fragments(hashed)
    ]
    for caller, call, response in rec.seen:
        text = response.text
        where = f"{caller} {call}: {text}"
        for hashed in forbidden_hashes:
            assert hashed not in text and hashed.upper() not in text, where
        for fragment in fragments:
            assert fragment not in text, where
        for owner, tokens in rec.issued.items():
            if call == "issue" and owner == caller:
                continue  # the caller's own new tokens: the whole point of the answer
            for token in tokens:
                assert token not in text, where


# --- 3. revoking one session by id --------------------------------------------------------------


async def test_a_user_revokes_one_of_their_own_sessions_by_id(node: Node) -> None:
    await node.api.create_user(node.admin_token, "alice")
    first, second = await node.api.login("alice"), await node.api.login("alice")
    assert first["session_id"] != second["session_id"]

    revoked = await node.client.delete(
        f"{SESSIONS}/{first['session_id']}", headers=node.auth(second["access_token"])
    )
    assert revoked.status_code == 200, revoked.text
    assert revoked.json() == {"revoked": True}

    dead = await node.client.get(ME, headers=node.auth(first["access_token"]))
    assert dead.status_code == 401
    assert dead.json()["code"] == "invalid_token"
    assert (await _renew(node, first["refresh_token"])).status_code == 400
    assert await _status(node.client, second["access_token"]) == 200

    listed = await node.client.get(SESSIONS, headers=node.auth(second["access_token"]))
    assert [s["id"] for s in listed.json()["items"]] == [second["session_id"]]

    again = await node.client.delete(
        f"{SESSIONS}/{first['session_id']}", headers=node.auth(second["access_token"])
    )
    assert again.status_code == 404

    # One's own current session too: the token that asked is dead afterwards.
    own = await node.client.delete(
        f"{SESSIONS}/{second['session_id']}", headers=node.auth(second["access_token"])
    )
    assert own.status_code == 200
    assert await _status(node.client, second["access_token"]) == 401
    assert (await _renew(node, second["refresh_token"])).status_code == 400


async def test_a_user_cannot_revoke_another_users_session(node: Node) -> None:
    await node.api.create_user(node.admin_token, "alice")
    await node.api.create_user(node.admin_token, "bob")
    await node.api.create_user(node.admin_token, "audrey", role="auditor")
    alice, bob = await node.api.login("alice"), await node.api.login("bob")
    audrey = await node.api.login("audrey")
    unknown = await node.client.delete(
        f"{SESSIONS}/{uuid.uuid4()}", headers=node.auth(alice["access_token"])
    )
    assert unknown.status_code == 404

    # Neither a user nor an auditor (who may list every session) may end bob's; the answer
    # is the one for an unknown id, so it does not even confirm that the session exists.
    for caller in (alice, audrey):
        refused = await node.client.delete(
            f"{SESSIONS}/{bob['session_id']}", headers=node.auth(caller["access_token"])
        )
        assert refused.status_code == 404
        assert refused.json() == unknown.json()
        assert await _status(node.client, caller["access_token"]) == 200
    anonymous = await node.client.delete(f"{SESSIONS}/{bob['session_id']}")
    assert anonymous.status_code == 401

    assert await _status(node.client, bob["access_token"]) == 200
    renewed = await _renew(node, bob["refresh_token"])
    assert renewed.status_code == 200, renewed.text
    assert await _status(node.client, renewed.json()["access_token"]) == 200


async def test_an_admin_revokes_any_session_by_id(node: Node) -> None:
    await node.api.create_user(node.admin_token, "bob")
    first, second = await node.api.login("bob"), await node.api.login("bob")
    admin = node.auth(node.admin_token)

    revoked = await node.client.delete(f"{SESSIONS}/{first['session_id']}", headers=admin)
    assert revoked.status_code == 200, revoked.text
    assert revoked.json() == {"revoked": True}
    assert await _status(node.client, first["access_token"]) == 401
    assert (await _renew(node, first["refresh_token"])).status_code == 400
    assert await _status(node.client, second["access_token"]) == 200  # only that session
    assert await _status(node.client, node.admin_token) == 200

    listed = await node.client.get(f"{SESSIONS}?username=bob", headers=admin)
    assert [s["id"] for s in listed.json()["items"]] == [second["session_id"]]
    unknown = await node.client.delete(f"{SESSIONS}/{uuid.uuid4()}", headers=admin)
    assert unknown.status_code == 404
