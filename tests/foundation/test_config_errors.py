"""Invalid configuration: one clear line on stderr and a non-zero exit, never a traceback."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from strongroom.crypto import generate_root_key
from tests.support import ServerProcess

pytestmark = pytest.mark.slow  # real server processes


def _run(
    tmp_path: Path, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "strongroom.cli.main",
            "server",
            "--data-dir",
            str(tmp_path / "d"),
            *args,
        ],
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=60,
    )


def _one_clear_line(result: subprocess.CompletedProcess[str], expected: str) -> None:
    assert result.returncode != 0
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert "Traceback" not in result.stderr
    assert lines[-1].startswith("strongroom: error:"), result.stderr
    assert expected in lines[-1]


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--database-url", "mysql://nope"], "database_url"),
        (
            ["--database-url", "postgresql+asyncpg://postgres@127.0.0.1:1/none"],
            "cannot open the database",
        ),
        (["--port", "70000"], "port"),
        (["--redis-url", "http://x"], "redis_url"),
        (["--seal", "env"], "STRONGROOM_ROOT_KEY"),
        (["--log-level", "loud"], "log_level"),
    ],
)
def test_bad_settings_fail_in_one_line(tmp_path: Path, args: list[str], expected: str) -> None:
    _one_clear_line(_run(tmp_path, "--tls-disable", *args), expected)


def test_unreadable_key_file(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere" / "root.key"
    # A fresh database with an explicitly named key file that cannot be created or read.
    _one_clear_line(_run(tmp_path, "--tls-disable", "--key-file", str(missing)), "root key file")
    garbage = tmp_path / "garbage.key"
    garbage.write_text("not base64 at all!")
    _one_clear_line(_run(tmp_path, "--tls-disable", "--key-file", str(garbage)), "root key file")


def test_wrong_root_key_for_an_existing_keyring(tmp_path: Path) -> None:
    key = generate_root_key().encode()
    env = {"STRONGROOM_SEAL": "env", "STRONGROOM_ROOT_KEY": key}
    ServerProcess(tmp_path / "d", env).start().stop()
    other = {"STRONGROOM_SEAL": "env", "STRONGROOM_ROOT_KEY": generate_root_key().encode()}
    _one_clear_line(_run(tmp_path, "--tls-disable", env=other), "does not decrypt")


def test_port_in_use(tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        _one_clear_line(
            _run(tmp_path, "--tls-disable", "--port", str(port)), "address already in use"
        )


def test_help_documents_every_option() -> None:
    from strongroom.config import Config

    result = subprocess.run(
        [sys.executable, "-m", "strongroom.cli.main", "server", "--help"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0
    for name in Config.model_fields:
        assert "--" + name.replace("_", "-") in result.stdout
        assert f"STRONGROOM_{name.upper()}" in result.stdout.replace("\n", " ").replace(" ", "")
