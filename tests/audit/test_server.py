"""A real server with two worker processes appending to one audit file, across a restart."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from strongroom.crypto import ACCESS_PREFIX, new_token
from tests.audit.helpers import read_records
from tests.support import ServerProcess


async def hammer(server: ServerProcess, count: int) -> list[str]:
    """`count` concurrent requests with forged tokens, on many connections; returns the tokens."""
    tokens = [new_token(ACCESS_PREFIX) for _ in range(count)]
    async with httpx.AsyncClient(base_url=server.url, verify=server.verify, timeout=30) as client:
        responses = await asyncio.gather(
            *(
                client.get("/api/v1/audit", headers={"Authorization": f"Bearer {token}"})
                for token in tokens
            )
        )
    assert [r.status_code for r in responses] == [401] * count
    return tokens


def verify_cli(path: Path, *options: str) -> subprocess.CompletedProcess[str]:
    """`strongroom audit verify PATH`, the key found beside the log (its data directory)."""
    if not options:
        options = ("--data-dir", str(path.parent))
    return subprocess.run(
        [sys.executable, "-m", "strongroom.cli.main", "audit", "verify", *options, str(path)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.mark.slow
def test_two_workers_and_a_restart_keep_one_chain(tmp_path: Path) -> None:
    data = tmp_path / "data"
    path = data / "audit.log"
    tokens: list[str] = []
    for _run in range(2):
        server = ServerProcess(data, {}, tls=True, workers=2).start()
        try:
            tokens += asyncio.run(hammer(server, 60))
        finally:
            server.stop()
    result = verify_cli(path)
    assert (result.returncode, result.stdout) == (0, "OK: 120 records\n"), result.stderr
    records = read_records(path)
    assert {r["outcome"] for r in records} == {"auth_failed"}
    assert len({r["token_hmac"] for r in records}) == 120
    raw = path.read_bytes()
    assert not any(token.encode() in raw for token in tokens)
