"""Issue 21 acceptance 3: the pkcs11 seal against SoftHSM2 (Debian's softhsm2). A real server
process initialises once, then unseals itself at every start; with the token gone or its PIN
wrong it stays sealed (health 503) and says why in one log line, never falling back."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import httpx
import pytest

from tests.conftest import need
from tests.support import ServerProcess

LIBRARY = Path("/usr/lib/softhsm/libsofthsm2.so")
PIN = "4321"
INIT_TOKEN = "sri_pkcs11-test-init-token"


@pytest.fixture
def softhsm(tmp_path: Path) -> dict[str, str]:
    """A SoftHSM2 token of its own (config and token directory under tmp_path)."""
    need(LIBRARY.exists() and shutil.which("softhsm2-util") is not None, "SoftHSM2")
    tokens = tmp_path / "tokens"
    tokens.mkdir()
    conf = tmp_path / "softhsm2.conf"
    conf.write_text(f"directories.tokendir = {tokens}\nobjectstore.backend = file\n")
    env = {"SOFTHSM2_CONF": str(conf)}
    subprocess.run(
        [
            "softhsm2-util",
            "--init-token",
            "--free",
            "--label",
            "strongroom",
            "--pin",
            PIN,
            "--so-pin",
            "87654321",
        ],
        env={**env, "PATH": "/usr/bin:/bin"},
        check=True,
        capture_output=True,
    )
    return {
        **env,
        "STRONGROOM_SEAL": "pkcs11",
        "STRONGROOM_PKCS11_LIBRARY": str(LIBRARY),
        "STRONGROOM_PKCS11_TOKEN_LABEL": "strongroom",
        "STRONGROOM_PKCS11_PIN": PIN,
        "STRONGROOM_INIT_TOKEN": INIT_TOKEN,
    }


@pytest.mark.slow
def test_pkcs11_seal_auto_unseals_and_stays_sealed_without_its_hsm(
    tmp_path: Path, softhsm: dict[str, str]
) -> None:
    data = tmp_path / "data"
    node = ServerProcess(data, softhsm, tls=True).start()
    with httpx.Client(verify=node.verify) as http:
        check(node, data, http, tmp_path, softhsm)


def check(
    node: ServerProcess, data: Path, http: httpx.Client, tmp_path: Path, softhsm: dict[str, str]
) -> None:
    try:
        assert http.get(f"{node.url}/api/v1/sys/health").status_code == 501
        done = http.post(
            f"{node.url}/api/v1/sys/init",
            json={"secret_shares": 1, "secret_threshold": 1},
            headers={"Authorization": f"Bearer {INIT_TOKEN}"},
        )
        assert done.status_code == 200, done.text
        assert done.json()["keys"] == []  # the HSM holds the key: no shares to hand out
        password = done.json()["admin_password"]
        login = http.post(
            f"{node.url}/api/v1/auth/token/create",
            data={"grant_type": "password", "username": "admin", "password": password},
        )
        headers = {"Authorization": f"Bearer {login.json()['access_token']}"}
        created = http.post(
            f"{node.url}/api/v1/secrets/create",
            json={"path": "hsm/db", "value": "behind-the-hsm"},
            headers=headers,
        )
        assert created.status_code == 200, created.text
    finally:
        node.stop()

    # Restart: the node unseals itself through the HSM.
    node = ServerProcess(data, softhsm, tls=True).start()
    try:
        status = http.get(f"{node.url}/api/v1/sys/seal-status").json()
        assert status["type"] == "pkcs11" and status["sealed"] is False
        login = http.post(
            f"{node.url}/api/v1/auth/token/create",
            data={"grant_type": "password", "username": "admin", "password": password},
        )
        headers = {"Authorization": f"Bearer {login.json()['access_token']}"}
        secret_id = created.json()["id"]
        value = http.get(f"{node.url}/api/v1/secrets/{secret_id}", headers=headers)
        assert value.json()["value"] == "behind-the-hsm"
    finally:
        node.stop()

    # A wrong PIN: sealed, one clear log line, no fallback.
    node = ServerProcess(data, {**softhsm, "STRONGROOM_PKCS11_PIN": "0000"}, tls=True).start()
    try:
        health = http.get(f"{node.url}/api/v1/sys/health")
        assert health.status_code == 503 and health.json()["sealed"] is True
    finally:
        node.stop()
    log = node.log_path.read_text()
    assert "staying sealed: seal=pkcs11: cannot log in to token 'strongroom'" in log
    assert "0000" not in log and PIN not in log

    # The token removed: sealed too.
    shutil.rmtree(tmp_path / "tokens")
    (tmp_path / "tokens").mkdir()
    node = ServerProcess(data, softhsm, tls=True).start()
    try:
        health = http.get(f"{node.url}/api/v1/sys/health")
        assert health.status_code == 503 and health.json()["sealed"] is True
    finally:
        node.stop()
    assert (
        "staying sealed: seal=pkcs11: token 'strongroom' unavailable" in node.log_path.read_text()
    )
