"""A marker secret value never reaches the logs (issue 5, point 7; SECURITY.md 19): a real
server at log level debug, every secret operation with the marker (and requests that fail with
it in the body), then neither the server's output nor the audit log holds it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from strongroom.crypto import generate_root_key
from tests.secrets.servers import client_for, login_admin
from tests.support import REDIS_URL, ServerProcess, admin_password

MARKER = "MARKER-LOG-7f3c9a1e5b"


async def _every_operation(server: ServerProcess) -> None:
    async with client_for(server) as http:
        admin = await login_admin(http, admin_password(server.data_dir))

        async def ok(method: str, url: str, **kwargs: Any) -> Any:
            response = await http.request(method, url, headers=admin, **kwargs)
            assert response.status_code == 200, response.text
            return response.json()

        created = await ok(
            "POST",
            "/api/v1/secrets/create",
            json={"path": "log/marker", "value": MARKER, "metadata": {"team": "a"}},
        )
        url = f"/api/v1/secrets/{created['id']}"
        assert (await ok("GET", url))["value"] == MARKER
        await ok("PUT", url, json={"value": f"{MARKER}-2"})
        assert (await ok("GET", url, params={"version": 1}))["value"] == MARKER
        assert (await ok("GET", "/api/v1/secrets/by-path/log/marker"))["value"] == f"{MARKER}-2"
        await ok("GET", "/api/v1/secrets", params={"prefix": "log/"})
        burn = await ok(
            "POST",
            "/api/v1/secrets/create",
            json={"path": "log/burn", "value": {"k": MARKER}, "max_reads": 1},
        )
        await ok("GET", f"/api/v1/secrets/{burn['id']}")
        # Refused writes carrying the marker: their errors must not echo it.
        conflict = await http.put(url, json={"value": MARKER, "cas": 1}, headers=admin)
        assert conflict.status_code == 409
        assert MARKER not in conflict.text
        bad = await http.post(
            "/api/v1/secrets/create",
            json={"path": "log/../bad", "value": MARKER, "ttl": "soon"},
            headers=admin,
        )
        assert bad.status_code == 422
        assert MARKER not in bad.text
        taken = await http.post(
            "/api/v1/secrets/create", json={"path": "log/marker", "value": MARKER}, headers=admin
        )
        assert taken.status_code == 409
        assert MARKER not in taken.text
        await ok("DELETE", url)
        await ok("POST", f"{url}/destroy", json={"versions": [1]})


async def _run_and_check(server: ServerProcess) -> None:
    server.start()
    try:
        await _every_operation(server)
    finally:
        server.stop()  # everything flushed
    output = server.log_path.read_bytes()
    assert b"listening on" in output  # the server's own lines are here
    audit = (server.data_dir / "audit.log").read_bytes()
    assert b"/api/v1/secrets" in audit  # the operations were audited
    for name, text in (("server output", output), ("audit log", audit)):
        assert MARKER.encode() not in text, name


async def test_marker_value_is_not_in_the_logs_sqlite(tmp_path: Path) -> None:
    await _run_and_check(
        ServerProcess(tmp_path / "data", {"STRONGROOM_LOG_LEVEL": "debug"}, tls=True)
    )


@pytest.mark.postgres
@pytest.mark.redis
async def test_marker_value_is_not_in_the_logs_postgres_redis(
    tmp_path: Path, pg_url: str, redis_prefix: str
) -> None:
    env = {
        "STRONGROOM_LOG_LEVEL": "debug",
        "STRONGROOM_DATABASE_URL": pg_url,
        "STRONGROOM_REDIS_URL": REDIS_URL,
        "STRONGROOM_REDIS_PREFIX": redis_prefix,
        "STRONGROOM_SEAL": "env",
        "STRONGROOM_ROOT_KEY": generate_root_key().encode(),
    }
    await _run_and_check(ServerProcess(tmp_path / "data", env, tls=True))
