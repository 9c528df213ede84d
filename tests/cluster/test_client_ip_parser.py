"""Issue 16, finding 6 (SECURITY.md 34): one client-IP parser everywhere, every header line
counted. A trusted proxy appends its own X-Forwarded-For line after whatever the client sent;
a session bound to one client is never usable from another, before or after a settings
change (which makes a node re-check the transport rules of the request in flight).

Real server processes (SQLite; PostgreSQL + Redis with two nodes); 127.0.0.1 is the trusted
proxy. The settings change is made by another node: this test process, writing a setting and
moving the config epoch in the shared storage as the settings API does.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from strongroom.db import Database, now
from strongroom.sessions.db_store import DatabaseSessionStore
from strongroom.sessions.redis_store import RedisSessionStore
from strongroom.sessions.store import SessionStore
from strongroom.system.repository import StoredSetting, upsert_setting
from tests.cluster.deployments import KINDS, LOGIN, Deployment, deployment
from tests.support import TEST_PASSWORD

ME = "/api/v1/users/me"
OWNER = "198.51.100.7"
ATTACKER = "203.0.113.9"

pytestmark = pytest.mark.slow


@pytest.fixture(params=KINDS)
def nodes(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Deployment]:
    with deployment(str(request.param), tmp_path, request) as opened:
        opened.set_security(trusted_proxies=["127.0.0.1"])
        opened.create_user("alice", TEST_PASSWORD)
        yield opened


@pytest.fixture
async def other_node(nodes: Deployment) -> AsyncIterator[tuple[Database, SessionStore]]:
    """The shared storage as another node sees it."""
    env = nodes.env
    if "STRONGROOM_DATABASE_URL" in env:
        db = Database(env["STRONGROOM_DATABASE_URL"])
        store: SessionStore = RedisSessionStore(
            env["STRONGROOM_REDIS_URL"], prefix=env["STRONGROOM_REDIS_PREFIX"], db=db
        )
    else:
        db = Database(f"sqlite+aiosqlite:///{nodes.nodes[0].data_dir / 'strongroom.db'}")
        store = DatabaseSessionStore(db)
    try:
        yield db, store
    finally:
        await store.close()
        await db.dispose()


async def _change_settings(db: Database, store: SessionStore, banner: str) -> None:
    """A settings change made elsewhere: a stored setting and a new config epoch."""
    row = StoredSetting("general.login_banner", json.dumps(banner), None, now(), "test")
    async with db.begin() as conn:
        await upsert_setting(conn, row)
    await store.bump_epoch()


def _forwarded(*lines: str) -> list[tuple[str, str]]:
    """Each X-Forwarded-For line as its own header line, the proxy's own last."""
    return [("X-Forwarded-For", line) for line in lines]


async def test_finding_6_a_bound_session_is_never_usable_from_another_address(
    nodes: Deployment, other_node: tuple[Database, SessionStore]
) -> None:
    clients = [nodes.client(i) for i in range(len(nodes.nodes))]
    try:
        login = await clients[0].post(
            LOGIN,
            data={
                "grant_type": "password",
                "username": "alice",
                "password": TEST_PASSWORD,
                "bind_ip": "true",
            },
            headers=_forwarded(OWNER),
        )
        assert login.status_code == 200, login.text
        bearer = [("Authorization", f"Bearer {login.json()['access_token']}")]
        # The attacker claims the owner's address; the proxy appends the attacker's own.
        # (Also with the claim repeated, and as a comma list in one line.)
        forged = [
            _forwarded(OWNER, ATTACKER),
            _forwarded(OWNER, OWNER, ATTACKER),
            _forwarded(f"{OWNER}, {OWNER}", ATTACKER),
        ]
        owner = _forwarded(OWNER)

        async def one_round() -> tuple[list[int], list[int]]:
            """Attacker and owner requests in parallel on every node."""
            attacks = [
                clients[i % len(clients)].get(ME, headers=bearer + forged[i % len(forged)])
                for i in range(12)
            ]
            owners = [clients[i % len(clients)].get(ME, headers=bearer + owner) for i in range(4)]
            answers = await asyncio.gather(*attacks, *owners)
            return [a.status_code for a in answers[:12]], [a.status_code for a in answers[12:]]

        # The proxy's line is the one believed: the owner's client may send a line of its own.
        sessions = await clients[0].get(
            "/api/v1/auth/sessions", headers=bearer + _forwarded("192.0.2.1", OWNER)
        )
        assert sessions.status_code == 200, sessions.text
        assert [s["bound_ip"] for s in sessions.json()["items"] if s["current"]] == [OWNER]

        db, store = other_node
        for round_ in range(6):
            if round_:  # after each change, every node re-checks the requests in flight
                await _change_settings(db, store, f"banner {round_}")
            attacked, owned = await one_round()
            assert attacked == [401] * 12, (round_, attacked)
            assert owned == [200] * 4, (round_, owned)
    finally:
        for client in clients:
            await client.aclose()
