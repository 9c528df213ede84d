"""Automatic renew of an expired access token (2-second tokens, many threads and tasks at
once), and retries: GET is retried on 503 and on no answer, POST never."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from strongroom_client import (
    AsyncClient,
    Client,
    ConnectionFailed,
    DatabaseUnavailable,
    InvalidToken,
    Sealed,
    StdlibTransport,
)
from tests.client.conftest import unique
from tests.client.standin import StandIn
from tests.support import ServerProcess, admin_password, free_port

PASSWORD = "correct horse battery staple"


def _user(server: ServerProcess) -> str:
    name = unique("renew")
    with Client(server.url, str(server.data_dir / "ca.pem")) as admin:
        admin.login("admin", admin_password(server.data_dir))
        admin.users.create(name, PASSWORD, role="user")
    return name


@pytest.mark.slow
@pytest.mark.parametrize("transport", ["httpx", "stdlib"])
def test_expired_access_token_renews_once_for_many_threads(
    server: ServerProcess, home: Path, transport: str
) -> None:
    ca = str(server.data_dir / "ca.pem")
    name = _user(server)
    chosen = StdlibTransport(ca) if transport == "stdlib" else None
    with Client(server.url, ca, transport=chosen) as client:
        first = client.login(name, PASSWORD, ttl=2)
        path = f"users/{name}/k"
        client.kv.put(path, "v")
        time.sleep(2.5)  # the access token is dead now; the refresh token lives
        if transport == "stdlib":  # one connection: not for threads
            assert client.kv.get(path).value == "v"
        else:
            results: list[str] = []
            threads = [
                threading.Thread(target=lambda: results.append(client.kv.get(path).value))
                for _ in range(8)
            ]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            # Two renews with one refresh token would have revoked the session (reuse).
            assert results == ["v"] * 8
        renewed = client.tokens
        assert renewed is not None and renewed.access_token != first.access_token
        assert renewed.session_id == first.session_id
        assert client.users.me().username == name
        assert client.introspect(first.access_token) == {"active": False}


@pytest.mark.slow
def test_expired_access_token_renews_once_for_many_tasks(server: ServerProcess, home: Path) -> None:
    ca = str(server.data_dir / "ca.pem")
    name = _user(server)

    async def main() -> None:
        async with AsyncClient(server.url, ca) as client:
            first = await client.login(name, PASSWORD, ttl=2)
            await client.kv.put(f"users/{name}/k", "v")
            await asyncio.sleep(2.5)
            got = await asyncio.gather(*(client.kv.get(f"users/{name}/k") for _ in range(8)))
            assert [s.value for s in got] == ["v"] * 8
            assert client.token != first.access_token
            assert (await client.users.me()).username == name

    asyncio.run(main())


def test_a_revoked_session_is_not_renewed(server: ServerProcess, home: Path) -> None:
    ca = str(server.data_dir / "ca.pem")
    name = _user(server)
    with Client(server.url, ca) as client, Client(server.url, ca) as other:
        tokens = client.login(name, PASSWORD)
        other.revoke(tokens.refresh_token or "")
        with pytest.raises(InvalidToken):
            client.users.me()


@pytest.mark.parametrize("transport", ["httpx", "stdlib"])
def test_get_is_retried_on_503_and_post_is_not(home: Path, transport: str) -> None:
    with StandIn(failures=2) as standin:
        chosen = StdlibTransport() if transport == "stdlib" else None
        with Client(standin.url, token="sra_x", transport=chosen) as client:
            secret = client.kv.get_by_id("00000000-0000-4000-8000-000000000001")
            assert secret.value == "v"
            assert (
                standin.hits[("GET", "/api/v1/secrets/00000000-0000-4000-8000-000000000001")] == 3
            )
            with pytest.raises(DatabaseUnavailable):
                client.kv.create("a/b", "v")
            assert standin.hits[("POST", "/api/v1/secrets/create")] == 1


def test_get_gives_up_after_its_retries(home: Path) -> None:
    with StandIn(failures=100) as standin, Client(standin.url, token="t", retries=2) as client:
        with pytest.raises(DatabaseUnavailable) as caught:
            client.kv.get_by_id("00000000-0000-4000-8000-000000000001")
        assert caught.value.status == 503
        assert sum(standin.hits.values()) == 3


def test_async_get_is_retried_on_503_and_post_is_not(home: Path) -> None:
    async def main(standin: StandIn) -> None:
        async with AsyncClient(standin.url, token="sra_x") as client:
            secret = await client.kv.get_by_id("00000000-0000-4000-8000-000000000001")
            assert secret.value == "v"
            with pytest.raises(DatabaseUnavailable):
                await client.kv.create("a/b", "v")

    with StandIn(failures=2) as standin:
        asyncio.run(main(standin))
        assert standin.hits[("GET", "/api/v1/secrets/00000000-0000-4000-8000-000000000001")] == 3
        assert standin.hits[("POST", "/api/v1/secrets/create")] == 1


def test_no_answer_is_a_connection_failure(home: Path) -> None:
    started = time.monotonic()
    with Client(f"http://127.0.0.1:{free_port()}", token="t", retries=2) as client:
        with pytest.raises(ConnectionFailed):
            client.kv.get_by_id("00000000-0000-4000-8000-000000000001")  # retried: backoff
        retried = time.monotonic() - started
        with pytest.raises(ConnectionFailed):
            client.kv.create("a/b", "v")
    assert retried >= 0.45  # 0.2 + 0.4 s of backoff (with jitter down to 80 %)


@pytest.fixture
def sealable(tmp_path: Path) -> Iterator[ServerProcess]:
    """A node with seal=manual, its keyring made by a first start with a key file."""
    data = tmp_path / "data"
    ServerProcess(data, {}, tls=True).start().stop()
    node = ServerProcess(data, {"STRONGROOM_SEAL": "manual"}, tls=True)
    yield node.start()
    node.stop()


@pytest.mark.slow
def test_sealed_server_answers_503_and_get_waits_for_unseal(
    sealable: ServerProcess, home: Path
) -> None:
    """A real 503: the node is sealed. POST fails at once; GET retries and succeeds once an
    operator unseals the node meanwhile."""
    ca = str(sealable.data_dir / "ca.pem")
    key = (sealable.data_dir / "root.key").read_text().strip()
    with Client(sealable.url, ca) as client:
        assert client.sys.health().sealed is True
        assert client.sys.unseal(key).sealed is False
        client.login("admin", admin_password(sealable.data_dir))
        client.kv.put("ops/db", "v")
        assert client.sys.seal().sealed is True
        with pytest.raises(Sealed):
            client.kv.create("ops/other", "v")
        started = time.monotonic()
        with pytest.raises(Sealed):
            client.kv.get("ops/db")
        assert time.monotonic() - started >= 1.0  # 0.2 + 0.4 + 0.8 s, jitter down to 80 %
        with Client(sealable.url, ca) as operator:
            unsealer = threading.Timer(0.3, lambda: operator.sys.unseal(key))
            unsealer.start()
            assert client.kv.get("ops/db").value == "v"
            unsealer.join()
