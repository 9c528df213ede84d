"""The session store honours `rediss://` TLS options (redis-py's names) and the Sentinel URL
form parses (issue 22: the hand-written client used to ignore every TLS option)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from strongroom.config import Config
from strongroom.crypto.tls import ensure_local_tls
from strongroom.sessions.redis_address import parse_redis_url
from strongroom.sessions.redis_wire import RedisWire
from tests.conftest import need
from tests.operations.redis_servers import RedisServer
from tests.support import free_port, redis_reachable

pytestmark = pytest.mark.redis


@pytest.fixture
def tls_redis(tmp_path: Path) -> Iterator[tuple[Path, int]]:
    need(redis_reachable(), "redis-server (Redis at 127.0.0.1:6379)")
    files, _ = ensure_local_tls(tmp_path / "tls", [])
    port = free_port()
    server = RedisServer(
        tmp_path / "redis",
        [
            "--tls-port", str(port),
            "--tls-cert-file", str(files.server_cert),
            "--tls-key-file", str(files.server_key),
            "--tls-ca-cert-file", str(files.ca_cert),
            "--tls-auth-clients", "no",
        ],
    )  # fmt: skip
    probe = redis.Redis(
        port=port, ssl=True, ssl_ca_certs=str(files.ca_cert), socket_connect_timeout=1
    )
    server.start(probe)
    try:
        yield files.ca_cert, port
    finally:
        server.kill()


async def test_rediss_options_are_honoured(tls_redis: tuple[Path, int]) -> None:
    ca, port = tls_redis
    trusted = RedisWire(f"rediss://127.0.0.1:{port}/0?ssl_ca_certs={ca}", timeout=5)
    try:
        assert await trusted.call("PING") == "PONG"
        assert await trusted.call("SET", "tls-test", "1") == "OK"
    finally:
        await trusted.close()
    # The name checked is the one connected to: "localhost" is in the certificate too.
    by_name = RedisWire(f"rediss://localhost:{port}/0?ssl_ca_certs={ca}", timeout=5)
    try:
        assert await by_name.call("PING") == "PONG"
    finally:
        await by_name.close()
    # Without the CA the server's certificate is not trusted: no connection.
    untrusted = RedisWire(f"rediss://127.0.0.1:{port}/0", timeout=5)
    try:
        with pytest.raises(redis.ConnectionError):
            await untrusted.call("PING")
    finally:
        await untrusted.close()


def test_url_forms_parse_and_config_accepts_them(tmp_path: Path) -> None:
    address = parse_redis_url(
        "redis+sentinel://:pw@10.0.0.1:26379,10.0.0.2,[::1]:26380/primary/2?sentinel_password=sp"
    )
    assert address.service == "primary" and address.db == 2 and address.password == "pw"
    assert address.sentinels == (("10.0.0.1", 26379), ("10.0.0.2", 26379), ("::1", 26380))
    assert address.sentinel_options["password"] == "sp"
    assert "pw" not in repr(address)
    tls = parse_redis_url("rediss+sentinel://h:26379/primary?ssl_cert_reqs=none")
    assert tls.tls is not None and tls.sentinel_options["ssl"] is True
    assert parse_redis_url("redis://h:6380/3").port == 6380
    for good in (
        "redis+sentinel://127.0.0.1:26379/primary/0",
        "rediss://127.0.0.1:6380/0?ssl_cert_reqs=none",
    ):
        Config(data_dir=tmp_path, redis_url=good)
    for bad in ("redis+sentinel://:secretpw@h:26379", "http://h/0", "redis+sentinel://h/a/b/c"):
        with pytest.raises(ValueError, match="redis_url") as refused:
            Config(data_dir=tmp_path, redis_url=bad)
        assert "secretpw" not in str(refused.value)
