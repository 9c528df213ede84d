"""`strongroom audit verify FILE` through the real CLI entry point."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from pathlib import Path

import pytest

from strongroom.audit.chain import Mac
from strongroom.audit.sinks import FileSink
from strongroom.barrier.service import Barrier
from strongroom.bootstrap import prepare_data_dir
from strongroom.cli.main import main
from strongroom.config import Config
from strongroom.crypto import RootKey
from strongroom.db import Database
from tests.audit.helpers import chain_key, key_env


@pytest.fixture(autouse=True)
def node_key(make_config: Callable[..., Config], monkeypatch: pytest.MonkeyPatch) -> Mac:
    """A node's keyring (data directory, database, seal) the CLI finds through the
    environment, and its chain key."""
    config = make_config()
    prepare_data_dir(config)

    async def initialise() -> None:
        db = Database(config.resolved_database_url)
        try:
            await db.migrate()
            assert config.root_key is not None
            await Barrier(db).unseal(RootKey.decode(config.root_key.get_secret_value()))
        finally:
            await db.dispose()

    asyncio.run(initialise())
    for name, value in key_env(config).items():
        monkeypatch.setenv(name, value)
    global NODE_MAC
    NODE_MAC = chain_key(config)
    return NODE_MAC


NODE_MAC: Mac | None = None


def write_log(path: Path, count: int = 20) -> list[bytes]:
    sink = FileSink(path, mac=lambda: NODE_MAC)
    for n in range(count):
        sink.append({"type": "test", "n": n, "user": f"user{n}", "status": 200})
    return path.read_bytes().splitlines(keepends=True)


def verify(path: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    code = main(["audit", "verify", str(path)])
    captured = capsys.readouterr()
    # stderr notes (no checkpoint for these hand-made files) are not the verdict
    return code, captured.out + "".join(
        line for line in captured.err.splitlines(keepends=True) if not line.startswith("note:")
    )


def test_intact_log_verifies_with_its_count(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "audit.log"
    write_log(path, 20)
    assert verify(path, capsys) == (0, "OK: 20 records\n")


def test_empty_log_is_zero_records(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "audit.log"
    path.touch()
    assert verify(path, capsys) == (0, "OK: 0 records\n")


def test_missing_file_is_an_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, output = verify(tmp_path / "nope.log", capsys)
    assert code == 2
    assert "cannot read" in output


def edited(lines: list[bytes]) -> list[bytes]:
    record = json.loads(lines[16])
    record["status"] = 201  # the hash is left as it was
    return [*lines[:16], json.dumps(record).encode() + b"\n", *lines[17:]]


def edited_and_rehashed(lines: list[bytes]) -> list[bytes]:
    """A careful forger recomputes the edited record's own hash: the next record notices."""
    import hashlib

    record = json.loads(lines[16])
    del record["hash"]
    record["user"] = "someone-else"
    canonical = json.dumps(record, sort_keys=True, separators=(",", ":")).encode()
    record["hash"] = hashlib.sha256(record["prev"].encode() + canonical).hexdigest()
    return [*lines[:16], json.dumps(record).encode() + b"\n", *lines[17:]]


@pytest.mark.parametrize(
    ("damage", "line", "reason"),
    [
        (edited, 17, "hash mismatch: the record was modified"),
        (edited_and_rehashed, 17, "hash mismatch"),  # the chain is keyed: SHA-256 is not it
        (lambda lines: lines[:9] + lines[10:], 10, "prev does not match"),
        (lambda lines: lines[1:], 1, "prev does not match"),
        (lambda lines: [*lines[:4], lines[5], lines[4], *lines[6:]], 5, "prev does not match"),
        (lambda lines: [*lines[:7], b"garbage\n", *lines[8:]], 8, "not a JSON object"),
        (lambda lines: [*lines[:19], lines[19][:40]], 20, "truncated"),
        (lambda lines: [*lines[:7], lines[7][:40] + b"\n", *lines[8:]], 8, "not a JSON object"),
        (lambda lines: [*lines[:19], lines[19][:-1]], 20, "truncated"),
    ],
    ids=[
        "edited",
        "edited-rehashed",
        "deleted",
        "first-deleted",
        "swapped",
        "not-json",
        "truncated-mid-record",
        "torn-middle-line",
        "missing-final-newline",
    ],
)
def test_damage_is_named_at_the_first_bad_record(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    damage: Callable[[list[bytes]], list[bytes]],
    line: int,
    reason: str,
) -> None:
    path = tmp_path / "audit.log"
    lines = write_log(path, 20)
    path.write_bytes(b"".join(damage(lines)))
    code, output = verify(path, capsys)
    assert code == 1
    first_line = output.splitlines()[0]
    assert first_line.startswith(f"record {line} (line {line}): ")
    assert reason in first_line
    assert f"FAILED: {line - 1} records intact before it" in output
