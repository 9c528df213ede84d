"""`strongroom operator ...` against a real shamir node: status, init (init token read from the
node's data directory), seal, unseal (argument and hidden prompt), rotate, rewrap with its
progress bar, rekey."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.client.walkthrough import environment
from tests.support import ServerProcess


@pytest.fixture
def shamir_node(tmp_path: Path) -> Iterator[ServerProcess]:
    node = ServerProcess(tmp_path / "data", {"STRONGROOM_SEAL": "shamir"}, tls=True).start()
    yield node
    node.stop()


@pytest.mark.slow
def test_operator_commands_on_a_shamir_node(shamir_node: ServerProcess, tmp_path: Path) -> None:
    env = {
        **environment(tmp_path / "home"),
        "STRONGROOM_ADDR": shamir_node.url,
        "STRONGROOM_CACERT": str(shamir_node.data_dir / "ca.pem"),
    }

    def cli(*args: str, stdin: str = "", **extra: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(Path(sys.executable).parent / "strongroom"), *args],
            input=stdin,
            capture_output=True,
            text=True,
            env={**env, **extra},
            timeout=120,
        )

    before = cli("operator", "status", "--format", "json")
    assert before.returncode == 2, before.stderr
    assert json.loads(before.stdout)["initialized"] is False
    refused = cli("operator", "init", "--init-token", "sri_wrong", "--format", "json")
    assert refused.returncode != 0 and "init token" in refused.stderr

    done = cli(
        "operator",
        "init",
        "-n",
        "3",
        "-t",
        "2",
        "--data-dir",
        str(shamir_node.data_dir),
        "--format",
        "json",
    )
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    keys = result["keys_base64"]
    assert len(keys) == 3
    with httpx.Client(verify=shamir_node.verify) as http:
        login = http.post(
            f"{shamir_node.url}/api/v1/auth/token/create",
            data={
                "grant_type": "password",
                "username": "admin",
                "password": result["admin_password"],
            },
        )
    token = login.json()["access_token"]

    sealed = cli("operator", "seal", STRONGROOM_TOKEN=token)
    assert sealed.returncode == 0, sealed.stderr
    assert cli("operator", "status").returncode == 2
    first = cli("operator", "unseal", keys[2], "--format", "json")
    assert json.loads(first.stdout)["progress"] == 1
    second = cli("operator", "unseal", "--format", "json", stdin=keys[0] + "\n")
    assert second.returncode == 0, second.stderr
    assert json.loads(second.stdout)["sealed"] is False
    assert keys[0] not in second.stdout + second.stderr  # typed without echo
    assert cli("operator", "status").returncode == 0

    rotated = cli("operator", "rotate", STRONGROOM_TOKEN=token)
    assert "Data key version 2" in rotated.stdout, rotated.stderr
    rewrapped = cli("operator", "rewrap", STRONGROOM_TOKEN=token)
    assert rewrapped.returncode == 0, rewrapped.stderr
    assert "done" in rewrapped.stdout and "data key 2" in rewrapped.stdout

    rekeyed = cli(
        "operator",
        "rekey",
        "-n",
        "2",
        "-t",
        "2",
        "--key",
        keys[1],
        "--key",
        keys[2],
        "--format",
        "json",
        STRONGROOM_TOKEN=token,
    )
    assert rekeyed.returncode == 0, rekeyed.stderr
    new = json.loads(rekeyed.stdout)["keys_base64"]
    assert len(new) == 2 and not set(new) & set(keys)
