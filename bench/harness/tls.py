"""A throwaway CA and a server certificate for 127.0.0.1, made with the openssl command."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class TlsFiles:
    ca: Path
    cert: Path
    key: Path


def make_tls(directory: Path) -> TlsFiles:
    directory.mkdir(parents=True, exist_ok=True)
    ca_key, ca = directory / "ca-key.pem", directory / "ca.pem"
    key, csr, cert = directory / "key.pem", directory / "server.csr", directory / "cert.pem"
    ext = directory / "server.ext"
    ext.write_text(
        "basicConstraints=CA:FALSE\n"
        "keyUsage=digitalSignature,keyEncipherment\n"
        "extendedKeyUsage=serverAuth\n"
        "subjectAltName=IP:127.0.0.1,DNS:localhost\n"
    )
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    days = ["-days", "2"]
    _openssl("req", "-x509", *ec, *days, "-keyout", ca_key, "-out", ca, "-subj", "/CN=bench CA")
    _openssl("req", "-new", *ec, "-keyout", key, "-out", csr, "-subj", "/CN=127.0.0.1")
    signed_by_ca = ["-CA", ca, "-CAkey", ca_key, "-CAcreateserial", *days, "-extfile", ext]
    _openssl("x509", "-req", "-in", csr, *signed_by_ca, "-out", cert)
    for path in (ca_key, key):
        path.chmod(0o600)
    return TlsFiles(ca=ca, cert=cert, key=key)


def _openssl(*args: object) -> None:
    subprocess.run(["openssl", *map(str, args)], check=True, capture_output=True)
