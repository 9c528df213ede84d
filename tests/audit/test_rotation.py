"""Issue 17, finding 7: the audit log cannot fill its disk unseen.

- Size-based rotation of the file sink (`audit_file_max_bytes`, `audit_file_keep`), the chain
  kept across files, with two worker processes appending at once; `strongroom audit verify`
  checks the set (a glob), and refuses it with a file missing from the middle.
- `GET /sys/health` reports the free space of the audit file's disk.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable
from pathlib import Path

import orjson
import pytest

from strongroom.cli.main import main
from strongroom.config import Config
from tests.audit.helpers import key_env
from tests.audit.test_server import hammer, verify_cli
from tests.support import Api, ServerProcess, make_user_session


@pytest.mark.slow
def test_finding_17_7_rotation_keeps_one_chain_across_files_and_workers(tmp_path: Path) -> None:
    data = tmp_path / "data"
    env = {"STRONGROOM_AUDIT_FILE_MAX_BYTES": "8192", "STRONGROOM_AUDIT_FILE_KEEP": "100"}
    server = ServerProcess(data, env, tls=True, workers=2).start()
    try:
        asyncio.run(hammer(server, 120))
    finally:
        server.stop()
    files = sorted(data.glob("audit.log*"))
    assert len(files) >= 5, files
    for path in files:
        assert path.stat().st_size <= 8192, path
        assert oct(path.stat().st_mode & 0o777) == "0o600"
    records = [orjson.loads(line) for path in files for line in path.read_bytes().splitlines()]
    kinds = [r["type"] for r in records]
    assert kinds.count("request") == 120
    assert kinds.count("rotation") == len(files) - 1
    result = verify_cli(data / "audit.log*", "--data-dir", str(data))
    assert (result.returncode, result.stdout) == (0, f"OK: {len(records)} records\n"), (
        result.stdout + result.stderr
    )
    # A file taken out of the middle of the set breaks the chain.
    middle = data / "audit.log.2"
    middle.rename(tmp_path / "aside")
    broken = verify_cli(data / "audit.log*", "--data-dir", str(data))
    assert broken.returncode == 1
    assert "prev does not match" in broken.stdout


async def test_finding_17_7_old_files_are_deleted_and_the_rest_still_verifies(
    make_config: Callable[..., Config],
    open_api: Callable[[Config], object],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    config = make_config(audit_file_max_bytes=4096, audit_file_keep=2)
    async with open_api(config) as api:  # type: ignore[attr-defined]
        assert isinstance(api, Api)
        token, _ = await make_user_session(api.services, "root", "admin")
        for _ in range(40):
            response = await api.client.get("/api/v1/users/me", headers=api.auth(token))
            assert response.status_code == 200
        health = (await api.client.get("/api/v1/sys/health")).json()
    path = config.resolved_audit_file
    assert path is not None
    names = sorted(p.name for p in path.parent.glob("audit.log*"))
    assert names == ["audit.log", "audit.log.1", "audit.log.2"]
    for name, value in key_env(config).items():
        monkeypatch.setenv(name, value)
    code = main(["audit", "verify", f"{path}*"])
    captured = capsys.readouterr()
    assert code == 0, captured.out + captured.err
    assert "older files are gone" in captured.err

    # The health check reports the free space where the audit log is written.
    free = health["audit_disk_free_bytes"]
    found = os.statvfs(path.parent)
    assert isinstance(free, int)
    assert abs(free - found.f_bavail * found.f_frsize) < 512 * 1024 * 1024
    assert health["audit"] == "ok"
