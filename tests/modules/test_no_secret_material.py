"""No module secret reaches a log (issue 18, acceptance 6): a real TLS server at log level
debug; every transit and TOTP operation, with refusals that carry the secrets in their bodies;
then neither the server's output nor the audit log holds a plaintext, a data key, exported key
material, a TOTP seed or a code."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import pyotp
import pytest

from tests.secrets.servers import client_for, login_admin
from tests.support import ServerProcess, admin_password

pytestmark = pytest.mark.slow
MARKER = b"MODULE-MARKER-4b1d7e20c9"
T = "/api/v1/modules/transit"
OTP = "/api/v1/modules/totp"


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


async def _every_operation(server: ServerProcess) -> list[bytes]:
    """Runs everything; returns the secrets that went over the wire."""
    secrets: list[bytes] = [MARKER, b64(MARKER).encode()]
    async with client_for(server) as http:
        admin = await login_admin(http, admin_password(server.data_dir))

        async def ok(method: str, url: str, **kwargs: Any) -> Any:
            response = await http.request(method, url, headers=admin, **kwargs)
            assert response.status_code == 200, response.text
            return response.json()

        async def refused(method: str, url: str, **kwargs: Any) -> None:
            response = await http.request(method, url, headers=admin, **kwargs)
            assert response.status_code >= 400, response.text
            for secret in secrets:
                assert secret not in response.content, url

        await ok("POST", "/api/v1/modules/transit/enable")
        await ok("POST", "/api/v1/modules/totp/enable")
        await ok("POST", f"{T}/keys", json={"name": "aes", "exportable": True})
        await ok("POST", f"{T}/keys", json={"name": "ed", "type": "ed25519", "exportable": True})
        sealed = await ok("POST", f"{T}/encrypt/aes", json={"plaintext": b64(MARKER)})
        batch = [{"plaintext": b64(MARKER + b"-2")}, {"plaintext": "!!" + b64(MARKER)}]
        await ok("POST", f"{T}/encrypt/aes", json={"batch_input": batch})
        secrets.append(b64(MARKER + b"-2").encode())
        await ok("POST", f"{T}/decrypt/aes", json={"ciphertext": sealed["ciphertext"]})
        await ok("POST", f"{T}/rewrap/aes", json={"ciphertext": sealed["ciphertext"]})
        key = await ok("POST", f"{T}/datakey/aes", json={"return_plaintext": True})
        secrets.append(key["plaintext"].encode())
        exported = await ok("GET", f"{T}/export/encryption-key/aes")
        secrets.append(exported["keys"]["1"].encode())
        private = await ok("GET", f"{T}/export/signing-key/ed")
        secrets.append("".join(private["keys"]["1"].splitlines()[1:-1]).encode())
        await ok("POST", f"{T}/sign/ed", json={"input": b64(MARKER)})
        await refused("POST", f"{T}/encrypt/aes", json={"plaintext": "%" + b64(MARKER)})
        await refused("POST", f"{T}/encrypt/ed", json={"plaintext": b64(MARKER)})
        await refused("POST", f"{T}/decrypt/aes", json={"ciphertext": b64(MARKER)})
        await refused("POST", f"{T}/encrypt/aes", json={"plaintext": b64(MARKER), "x": 1})

        body = {"name": "t", "generate": True, "issuer": "Acme", "account_name": "root"}
        created = await ok("POST", f"{OTP}/keys", json=body)
        seed = pyotp.parse_uri(created["url"]).secret
        secrets += [seed.encode(), base64.b32decode(seed + "=" * (-len(seed) % 8))]
        imported = pyotp.random_base32()
        secrets.append(imported.encode())
        await ok("POST", f"{OTP}/keys", json={"name": "i", "key": imported})
        await refused("POST", f"{OTP}/keys", json={"name": "j", "key": imported + "!"})
        url = f"otpauth://totp/A:b?secret={imported}&digits=9"
        await refused("POST", f"{OTP}/keys", json={"name": "j", "url": url})
        code = (await ok("GET", f"{OTP}/code/i"))["code"]
        assert (await ok("POST", f"{OTP}/validate/i", json={"code": code}))["valid"]
        assert not (await ok("POST", f"{OTP}/validate/i", json={"code": code}))["valid"]
        secrets.append(code.encode())
    return secrets


async def test_no_module_secret_in_the_server_output_or_the_audit_log(tmp_path: Path) -> None:
    server = ServerProcess(tmp_path / "data", {"STRONGROOM_LOG_LEVEL": "debug"}, tls=True)
    server.start()
    try:
        secrets = await _every_operation(server)
    finally:
        server.stop()
    output = server.log_path.read_bytes()
    assert b" DEBUG " in output  # the server did log at debug level
    audit = (server.data_dir / "audit.log").read_bytes()
    assert b"/api/v1/modules/transit/encrypt/aes" in audit
    assert b"/api/v1/modules/totp/validate/i" in audit
    for name, text in (("server output", output), ("audit log", audit)):
        for secret in secrets:
            assert secret not in text, (name, secret[:6])
