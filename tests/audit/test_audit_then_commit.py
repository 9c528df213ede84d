"""Issue 17, finding 4: no change durable without its audit record, and with no audit sink
able to write, every authenticated route answers 503.

- Before its first transaction a request writes an *intent record* (db/intent.py): a change
  can only commit once its record is in the log; the first write that meets a broken log is
  refused (503) and commits nothing.
- A kill -9 loop against a real node: every secret in the database has its record.
- With the log broken, the walk of the whole route table with valid admin credentials finds
  503 `audit_unavailable` everywhere but the health check and token revocation.
"""

from __future__ import annotations

import asyncio
import random
import re
import sqlite3
import subprocess
import sys
from pathlib import Path

import httpx
import orjson
import pytest

from tests.audit.helpers import (
    break_with_full_disk,
    read_records,
    repair_full_disk,
)
from tests.support import Api, ServerProcess, admin_password, all_routes, make_user_session

VERIFY = [sys.executable, "-m", "strongroom.cli.main", "audit", "verify"]
NEVER_REFUSED = {
    "GET /api/v1/sys/health",
    "POST /api/v1/auth/token/revoke",
    "POST /api/v1/token/revoke",
}


async def test_finding_17_4_every_authenticated_route_answers_503_while_no_sink_writes(
    sqlite_api: Api,
) -> None:
    api = sqlite_api
    token, _ = await make_user_session(api.services, "root", "admin")
    headers = api.auth(token)
    path = api.services.config.resolved_audit_file
    assert path is not None
    break_with_full_disk(path)
    # The two routes the review saw answering 200 unaudited, first.
    sessions = await api.client.get("/api/v1/auth/sessions?all=true", headers=headers)
    check = await api.client.post("/api/v1/auth/check_token", headers=headers)
    assert [sessions.status_code, check.status_code] == [503, 503], sessions.text
    found: dict[str, int] = {}
    app = api.client._transport.app  # type: ignore[attr-defined]
    for method, template in all_routes(app):
        if method == "HEAD":
            continue
        concrete = re.sub(r"\{[^}]+\}", "x", template)
        response = await api.client.request(method, concrete, headers=headers, json={})
        found[f"{method} {template}"] = response.status_code
        if f"{method} {template}" not in NEVER_REFUSED:
            assert response.status_code != 200, f"{method} {template}"
    answered = {route: status for route, status in found.items() if status != 503}
    assert set(answered) <= NEVER_REFUSED, answered
    assert len(found) > 60  # the walk really covered the route table


async def test_finding_17_4_the_first_write_that_meets_a_broken_log_commits_nothing(
    sqlite_api: Api,
) -> None:
    api = sqlite_api
    token, _ = await make_user_session(api.services, "root", "admin")
    headers = api.auth(token)
    path = api.services.config.resolved_audit_file
    assert path is not None
    saved = break_with_full_disk(path)  # the node does not know yet: the log looks healthy
    created = await api.client.post(
        "/api/v1/secrets/create", json={"path": "team/unaudited", "value": "v"}, headers=headers
    )
    assert created.status_code == 503
    assert created.json()["code"] == "audit_unavailable"
    repair_full_disk(path, saved)
    found = await api.client.get("/api/v1/secrets/by-path/team/unaudited", headers=headers)
    assert found.status_code == 404  # nothing was committed


async def test_finding_17_4_the_intent_record_is_written_before_the_commit(
    sqlite_api: Api,
) -> None:
    api = sqlite_api
    token, _ = await make_user_session(api.services, "root", "admin")
    path = api.services.config.resolved_audit_file
    assert path is not None
    created = await api.client.post(
        "/api/v1/secrets/create",
        json={"path": "team/intent", "value": "v"},
        headers=api.auth(token),
    )
    assert created.status_code == 200
    records = [
        r
        for r in read_records(path, intents=True)
        if r["request_id"] == created.headers["x-request-id"]
    ]
    assert [r["type"] for r in records] == ["intent", "request"]
    intent = records[0]
    assert intent["secret_path"] == "team/intent"
    assert intent["principal"]["user"] == "root"
    assert intent["status"] is None


def _create_forever(url: str, verify: object, token: str, prefix: str) -> asyncio.Task[None]:
    async def run() -> None:
        async with httpx.AsyncClient(base_url=url, verify=verify, timeout=30) as client:  # type: ignore[arg-type]
            for n in range(100_000):
                try:
                    await client.post(
                        "/api/v1/secrets/create",
                        json={"path": f"kill/{prefix}-{n}", "value": "v"},
                        headers={"Authorization": f"Bearer {token}"},
                    )
                except httpx.HTTPError:
                    return

    return asyncio.ensure_future(run())


@pytest.mark.slow
def test_finding_17_4_kill_9_loop_every_committed_change_has_its_record(tmp_path: Path) -> None:
    data = tmp_path / "data"
    rng = random.Random(17_4)
    for cycle in range(10):
        server = ServerProcess(data, {}, tls=True).start()

        async def load(server: ServerProcess = server, cycle: int = cycle) -> None:
            async with httpx.AsyncClient(
                base_url=server.url, verify=server.verify, timeout=30
            ) as client:
                login = await client.post(
                    "/api/v1/auth/token/create",
                    data={
                        "grant_type": "password",
                        "username": "admin",
                        "password": admin_password(data),
                    },
                )
                assert login.status_code == 200, login.text
            token = login.json()["access_token"]
            tasks = [
                _create_forever(server.url, server.verify, token, f"{cycle}-{k}") for k in range(12)
            ]
            await asyncio.sleep(rng.uniform(0.3, 1.2))
            server.stop(kill=True)  # kill -9 the whole node, mid-requests
            await asyncio.gather(*tasks, return_exceptions=True)

        asyncio.run(load())
    with sqlite3.connect(data / "strongroom.db") as conn:
        stored = {row[0] for row in conn.execute("SELECT path FROM secrets")}
    lines = (data / "audit.log").read_bytes().splitlines()
    recorded = {orjson.loads(line).get("secret_path") for line in lines}
    assert len(stored) > 10
    missing = stored - recorded
    assert not missing, f"{len(missing)} of {len(stored)} committed secrets have no record"
    verify = subprocess.run(
        [*VERIFY, "--data-dir", str(data), str(data / "audit.log")],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert verify.returncode == 0, verify.stdout + verify.stderr
