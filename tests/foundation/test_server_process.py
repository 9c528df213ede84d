"""The embedded default as a real process: TLS, the data directory, restarts (issue 2, 1/3/4)."""

from __future__ import annotations

import os
import socket
import ssl
import stat
import warnings
from pathlib import Path

import httpx
import pytest

from tests.support import ServerProcess, admin_password

pytestmark = pytest.mark.slow  # real server processes


@pytest.fixture
def tls_server(tmp_path: Path) -> ServerProcess:
    server = ServerProcess(tmp_path / "data", {}, tls=True).start()
    yield server  # type: ignore[misc]
    server.stop()


def _handshake(port: int, ca: Path, version: ssl.TLSVersion) -> str:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        context.load_verify_locations(ca)
        context.set_ciphers("ALL:@SECLEVEL=0")
        context.minimum_version = ssl.TLSVersion.TLSv1
        context.maximum_version = version
    with (
        socket.create_connection(("127.0.0.1", port), timeout=5) as raw,
        context.wrap_socket(raw, server_hostname="127.0.0.1") as tls,
    ):
        return str(tls.version())


def test_embedded_default_serves_https_with_its_own_ca(tls_server: ServerProcess) -> None:
    data = tls_server.data_dir
    response = httpx.get(f"{tls_server.url}/api/v1/sys/health", verify=tls_server.verify)
    assert response.status_code == 200
    assert response.json()["status"] == "ok"
    assert response.headers["strict-transport-security"].startswith("max-age=")
    for private in ("admin-password", "root.key", "ca-key.pem", "server-key.pem"):
        assert stat.S_IMODE((data / private).stat().st_mode) == 0o600, private
    assert (data / "strongroom.db").exists()
    assert "password: " in (data / "admin-password").read_text()


def test_only_tls_12_and_13_are_offered(tls_server: ServerProcess) -> None:
    ca = tls_server.data_dir / "ca.pem"
    assert _handshake(tls_server.port, ca, ssl.TLSVersion.TLSv1_3) == "TLSv1.3"
    assert _handshake(tls_server.port, ca, ssl.TLSVersion.TLSv1_2) == "TLSv1.2"
    for old in (ssl.TLSVersion.TLSv1_1, ssl.TLSVersion.TLSv1):
        with pytest.raises(ssl.SSLError) as refused:
            _handshake(tls_server.port, ca, old)
        # The server hung up on the hello: the client itself was able to offer the old version.
        assert "NO_PROTOCOLS_AVAILABLE" not in str(refused.value)


def test_plain_http_to_the_tls_port_is_refused(tls_server: ServerProcess) -> None:
    with pytest.raises(httpx.HTTPError):
        httpx.get(f"http://127.0.0.1:{tls_server.port}/api/v1/sys/health", timeout=5)


def test_restart_reuses_the_data_directory(tmp_path: Path) -> None:
    data = tmp_path / "data"
    first = ServerProcess(data, {}, tls=True).start()
    first.stop()
    snapshot = {
        name: (data / name).read_bytes() for name in ("ca.pem", "root.key", "admin-password")
    }
    second = ServerProcess(data, {}, tls=True).start()
    try:
        assert {name: (data / name).read_bytes() for name in snapshot} == snapshot
        password = admin_password(data)
        verify = second.verify
        login = httpx.post(
            f"{second.url}/api/v1/auth/token/create",
            data={"grant_type": "password", "username": "admin", "password": password},
            verify=verify,
        )
        assert login.status_code == 200
        users = httpx.get(
            f"{second.url}/api/v1/users",
            headers={"Authorization": f"Bearer {login.json()['access_token']}"},
            verify=verify,
        )
        assert [u["username"] for u in users.json()["items"]] == ["admin"]
        log = second.log_path.read_text()
        assert "created the first admin" not in log.split("listening on")[-1]
    finally:
        second.stop()


def test_finding_17_tls_disable_with_require_https_warns_and_keeps_health(
    tmp_path: Path,
) -> None:
    """`--tls-disable` with `security.require_https` on (the default): the node says so at
    start, refuses plain HTTP everywhere but the health check, which a load balancer uses."""
    server = ServerProcess(tmp_path / "data", {}, tls=False).start()
    try:
        health = httpx.get(f"{server.url}/api/v1/sys/health")
        assert health.status_code == 200, health.text
        assert health.json()["status"] == "ok"
        assert health.headers["x-request-id"]
        for method, path in (
            ("GET", "/api/v1/openapi.json"),
            ("POST", "/api/v1/auth/token/create"),
        ):
            response = httpx.request(method, f"{server.url}{path}")
            assert response.status_code == 403
            assert response.json() == {
                "detail": "HTTPS is required: send this request over TLS",
                "code": "https_required",
            }
        log = server.log_path.read_text()
        assert "TLS is disabled (--tls-disable) and security.require_https is on" in log
    finally:
        server.stop()


def test_postgresql_database_url(tmp_path: Path, pg_url: str) -> None:
    server = ServerProcess(
        tmp_path / "data",
        {"STRONGROOM_DATABASE_URL": pg_url.replace("+asyncpg", "")},
        tls=True,
    ).start()
    try:
        response = httpx.get(f"{server.url}/api/v1/sys/health", verify=server.verify)
        assert response.status_code == 200
        assert not (server.data_dir / "strongroom.db").exists()
    finally:
        server.stop()
    assert os.path.exists(server.data_dir / "admin-password")
