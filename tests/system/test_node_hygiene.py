"""A real node started the way operators start it wrong: umask 022, a data directory that
already exists and is readable by others, a low soft open-files limit, `--log-level debug`.

Issue 16 findings 11 and 12, issue 17 finding 6.
"""

from __future__ import annotations

import os
import resource
import sqlite3
import stat
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from strongroom.crypto import token_hash
from tests.support import FAST_ARGON2, ServerProcess, admin_password, free_port

pytestmark = pytest.mark.slow  # real server processes

VALUE_MARKER = "hygiene-value-5d1c0e"
LOW_SOFT_LIMIT = 256


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=1).status_code in (200, 403)
    except httpx.HTTPError:
        return False


def _lax_start() -> None:
    os.umask(0o022)
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (LOW_SOFT_LIMIT, hard))


@dataclass
class Run:
    data: Path
    log: str
    pid_limits: str
    password: str
    tokens: list[str]


@pytest.fixture(scope="module")
def lax_node(tmp_path_factory: pytest.TempPathFactory) -> Run:
    data = tmp_path_factory.mktemp("hygiene") / "data"
    data.mkdir(mode=0o755)
    os.chmod(data, 0o755)  # pre-existing, world-readable
    server = ServerProcess(
        data, {"STRONGROOM_LOG_LEVEL": "debug"}, tls=True, preexec=_lax_start
    ).start()
    tokens: list[str] = []
    try:
        assert server.process is not None
        limits = Path(f"/proc/{server.process.pid}/limits").read_text()
        password = admin_password(data)
        with httpx.Client(base_url=server.url, verify=server.verify, timeout=30) as client:
            for _ in range(2):
                login = client.post(
                    "/api/v1/auth/token/create",
                    data={"grant_type": "password", "username": "admin", "password": password},
                )
                assert login.status_code == 200, login.text
                tokens += [login.json()["access_token"], login.json()["refresh_token"]]
            headers = {"Authorization": f"Bearer {tokens[0]}"}
            created = client.post(
                "/api/v1/secrets/create",
                json={"path": "team/hygiene", "value": VALUE_MARKER},
                headers=headers,
            )
            assert created.status_code == 200, created.text
            read = client.get(f"/api/v1/secrets/{created.json()['id']}", headers=headers)
            assert read.status_code == 200
            assert VALUE_MARKER in read.text
            renewed = client.post(
                "/api/v1/auth/token/renew",
                data={"refresh_token": tokens[3]},
            )
            assert renewed.status_code == 200, renewed.text
            tokens += [renewed.json()["access_token"], renewed.json()["refresh_token"]]
            bad = client.post(
                "/api/v1/auth/token/create",
                data={"grant_type": "password", "username": "admin", "password": "wrong-guess"},
            )
            assert bad.status_code in (400, 401)
    finally:
        server.stop()
    return Run(data, server.log_path.read_text(), limits, password, tokens)


def _stored_hashes(data: Path) -> list[str]:
    with sqlite3.connect(data / "strongroom.db") as conn:
        found = [row[0] for row in conn.execute("SELECT password_hash FROM users")]
        found += [
            h
            for row in conn.execute("SELECT access_hash, refresh_hash FROM sessions")
            for h in row
            if h
        ]
    return found


def test_finding_11_debug_log_holds_no_secret_material_nor_its_hashes(lax_node: Run) -> None:
    # The first start shows the admin password once, on purpose (stdout, not a log line).
    log = lax_node.log.replace(f"password: {lax_node.password}\n", "", 1)
    assert " DEBUG " in log  # the node really logged at debug
    hashes = _stored_hashes(lax_node.data)
    hashes += [token_hash(token) for token in lax_node.tokens]
    assert any(h.startswith("$argon2") for h in hashes)
    for secret in [*hashes, *lax_node.tokens, lax_node.password, VALUE_MARKER, "wrong-guess"]:
        assert secret not in log, f"{secret[:12]}... is in the debug log"
    # Nor parts of a hash (an argon2 digest, a hex token hash cut in two).
    for digest in hashes:
        assert digest[-22:] not in log


def test_finding_12_every_data_file_is_private_whatever_the_umask(lax_node: Run) -> None:
    assert "accessible by group or others" in lax_node.log
    checked = []
    for root, dirs, files in os.walk(lax_node.data):
        for name in dirs:
            mode = stat.S_IMODE(os.stat(os.path.join(root, name)).st_mode)
            assert mode == 0o700, (name, oct(mode))
        for name in files:
            if name.startswith("server-") and name.endswith(".log"):
                continue  # the test's own capture of the server's output
            mode = stat.S_IMODE(os.stat(os.path.join(root, name)).st_mode)
            allowed = {0o600, 0o644} if name in {"ca.pem", "server.pem"} else {0o600}
            assert mode in allowed, (name, oct(mode))
            checked.append(name)
    for expected in ("strongroom.db", "audit.log", "root.key", "admin-password", "hashing.lock"):
        assert expected in checked


def test_finding_17_6_soft_open_files_limit_raised_to_the_hard_limit(lax_node: Run) -> None:
    line = next(line for line in lax_node.pid_limits.splitlines() if "open files" in line)
    soft, hard = line.split()[3:5]
    assert int(soft) > LOW_SOFT_LIMIT
    assert soft == hard
    assert f"open files limit: {soft}" in lax_node.log


def test_finding_12_a_data_directory_the_node_makes_is_0700_whatever_the_umask(
    tmp_path: Path,
) -> None:
    """`strongroom server` makes a missing data directory itself, private, before anything is
    put in it (the metrics directory inside it once made it 0755 under umask 022)."""
    data = tmp_path / "fresh" / "data"
    log = tmp_path / "server.log"
    command = [str(Path(sys.executable).parent / "strongroom"), "server", "--data-dir", str(data)]
    port = free_port()
    env = {
        **os.environ,
        "STRONGROOM_PORT": str(port),
        "STRONGROOM_TLS_DISABLE": "true",
        "STRONGROOM_WORKERS": "1",
        **{f"STRONGROOM_{k.upper()}": str(v) for k, v in FAST_ARGON2.items()},
    }
    with log.open("wb") as out:
        process = subprocess.Popen(
            command, env=env, stdout=out, stderr=subprocess.STDOUT, preexec_fn=_lax_start
        )
    try:
        # Until it serves: a node stopped while its worker still starts waits out the
        # worker's kill timeout (15 s) before it exits.
        deadline = time.monotonic() + 120
        while not _answers(f"http://127.0.0.1:{port}/api/v1/sys/health"):
            assert process.poll() is None, log.read_text()[-2000:]
            assert time.monotonic() < deadline, log.read_text()[-2000:]
            time.sleep(0.1)
    finally:
        process.terminate()
        process.wait(timeout=30)
    assert stat.S_IMODE(os.stat(data).st_mode) == 0o700
    assert "accessible by group or others" not in log.read_text()
