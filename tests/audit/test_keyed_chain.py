"""Issue 16, finding 10: the audit chain is keyed, and its tail is checkpointed.

A real node (key file seal, SQLite) writes its log; then someone with write access to the file
(but not to the keyring) drops a record and recomputes every link after it, or cuts the last
records off. `strongroom audit verify --data-dir DIR FILE` finds the key through the data
directory and the seal, and refuses both.
"""

from __future__ import annotations

import hashlib
import subprocess
import sys
from pathlib import Path

import httpx
import orjson
import pytest

from tests.support import ServerProcess, admin_password


def verify_cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "strongroom.cli.main", "audit", "verify", *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env=env,
    )


def forge_without(lines: list[bytes], dropped: int) -> bytes:
    """The log minus line `dropped` (0-based), every later link recomputed the way anyone
    can: SHA-256, the only hash that needs no key."""
    records = [orjson.loads(line) for line in lines]
    del records[dropped]
    out, prev = [], "0" * 64
    for seq, record in enumerate(records, 1):
        record.pop("hash")
        record.update(seq=seq, prev=prev)
        canonical = orjson.dumps(record, option=orjson.OPT_SORT_KEYS)
        prev = hashlib.sha256(prev.encode() + canonical).hexdigest()
        out.append(canonical[:-1] + f',"hash":"{prev}"}}\n'.encode())
    return b"".join(out)


@pytest.fixture(scope="module")
def written_log(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[bytes]]:
    data = tmp_path_factory.mktemp("keyed") / "data"
    server = ServerProcess(data, {}, tls=True).start()
    try:
        with httpx.Client(base_url=server.url, verify=server.verify, timeout=30) as client:
            password = admin_password(data)
            for attempt in ("wrong-1", password, "wrong-2", password):
                client.post(
                    "/api/v1/auth/token/create",
                    data={"grant_type": "password", "username": "admin", "password": attempt},
                )
    finally:
        server.stop()  # a graceful stop: the checkpoint is stored
    lines = (data / "audit.log").read_bytes().splitlines(keepends=True)
    assert len(lines) >= 4
    return data, lines


def test_finding_10_the_intact_log_verifies_with_the_key_from_the_data_dir(
    written_log: tuple[Path, list[bytes]],
) -> None:
    data, lines = written_log
    result = verify_cli("--data-dir", str(data), str(data / "audit.log"))
    assert (result.returncode, result.stdout) == (0, f"OK: {len(lines)} records\n"), result.stderr
    assert "checkpoint" not in result.stderr  # there is one, and it matched


def test_finding_10_a_rewritten_chain_with_a_dropped_record_is_refused(
    written_log: tuple[Path, list[bytes]],
) -> None:
    data, lines = written_log
    forged = data / "forged.log"
    forged.write_bytes(forge_without(lines, 2))
    env = {**__import__("os").environ, "STRONGROOM_DATA_DIR": str(data)}
    result = verify_cli(str(forged), env=env)
    assert result.returncode == 1, result.stdout + result.stderr
    assert result.stdout.startswith("record 1 (line 1): hash mismatch"), result.stdout


def test_finding_10_truncation_of_the_tail_is_detected(
    written_log: tuple[Path, list[bytes]],
) -> None:
    data, lines = written_log
    log = data / "audit.log"
    original = log.read_bytes()
    try:
        log.write_bytes(b"".join(lines[:-2]))  # two whole records cut off the end
        result = verify_cli("--data-dir", str(data), str(log))
    finally:
        log.write_bytes(original)
    assert result.returncode == 1, result.stdout + result.stderr
    assert result.stdout.startswith("truncated: the log ends at seq"), result.stdout
    assert f"checkpoint is at seq {len(lines)}" in result.stdout


def test_finding_10_without_the_key_verify_refuses_to_say_ok(
    written_log: tuple[Path, list[bytes]], tmp_path: Path
) -> None:
    _data, lines = written_log
    copy = tmp_path / "audit.log"
    copy.write_bytes(b"".join(lines))
    result = verify_cli("--data-dir", str(tmp_path / "elsewhere"), str(copy))
    assert result.returncode == 2
    assert "cannot find the audit chain key" in result.stderr
