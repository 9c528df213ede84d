"""What every benchmarked system offers the harness: one request shape per workload."""

from __future__ import annotations

import base64
import json
import os
import secrets
import socket
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import httpx

WORKLOADS = (
    "read_one",
    "read_random",
    "write",
    "login",
    "token_check",
    "transit_encrypt",
    "vault_read",
    "approle_login",
)
WORKLOAD_TITLES = {
    "read_one": "read one 1 KiB secret",
    "read_random": "read random secret",
    "write": "write new version",
    "login": "password login",
    "token_check": "token check",
    "transit_encrypt": "transit encrypt 1 KiB",
    # The same secret as read_one, through Vault's KV v2 API (strongroom's /v1/; OpenBao's own).
    "vault_read": "KV v2 read via Vault API (/v1/)",
    "approle_login": "AppRole login",
}
APPROLE = "bench"
BENCH_USER = "bench"
ONE_PATH = "bench/one"
# The transit key both systems encrypt with (aes256-gcm on each), and the 1 KiB they encrypt.
TRANSIT_KEY = "bench"
TRANSIT_PLAINTEXT = base64.b64encode(os.urandom(1024)).decode()


@dataclass(frozen=True)
class RequestSpec:
    """One workload against one system: what wrk sends (a path picked at random per request)."""

    method: str
    paths: tuple[str, ...]
    headers: dict[str, str]
    body: str | None = None

    def write(self, path: Path) -> Path:
        """The spec file read by bench/lua/workload.lua (mode 0600: it holds a token)."""
        lines = [f"method {self.method}"]
        lines += [f"header {name}: {value}" for name, value in self.headers.items()]
        if self.body is not None:
            lines.append(f"body {self.body}")
        lines += [f"path {p}" for p in self.paths]
        path.touch(mode=0o600)
        path.write_text("\n".join(lines) + "\n")
        return path


@dataclass
class Seeded:
    """Request paths of the secrets a system holds after seeding."""

    one: str = ""
    random: list[str] = field(default_factory=list)
    write: list[str] = field(default_factory=list)


class System(Protocol):
    """A running, prepared server (OpenBao or a strongroom node)."""

    name: str
    label: str
    base_url: str
    ca_file: Path
    log_path: Path
    seeded: Seeded

    @property
    def pid(self) -> int: ...

    def client(self) -> httpx.AsyncClient: ...

    async def create_secret(self, client: httpx.AsyncClient, path: str, value: str) -> str:
        """Store a secret through the API with the non-admin token; its read request path."""
        ...

    def spec(self, workload: str) -> RequestSpec: ...

    def audit_lines(self) -> int | None: ...


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def secret_value(size: int = 1024) -> str:
    """A random printable value of exactly `size` characters (bytes)."""
    return secrets.token_urlsafe(size)[:size]


# The value of every write: the same 1 KiB on every system of a run.
WRITE_VALUE = secret_value()


def dumps(value: object) -> str:
    return json.dumps(value, separators=(",", ":"))


def expect(response: httpx.Response, what: str) -> httpx.Response:
    """The response, if 2xx; otherwise a loud error naming the step (never the body's secrets)."""
    if not response.is_success:
        detail = response.text[:300]
        raise RuntimeError(f"{what}: HTTP {response.status_code} {detail}")
    return response


def secret_row(secret_id: str, path: str, meta: dict[str, str], at: float) -> dict[str, Any]:
    """A live secret's `secrets` row, for bulk loads (bench/scale.py, list_pages.py)."""
    return {
        "id": secret_id,
        "path": path,
        "path_key": path,
        "current_version": 1,
        "metadata": json.dumps(meta, separators=(",", ":")),
        "max_reads": None,
        "reads": 0,
        "expires_at": None,
        "deleted_at": None,
        "destroyed": False,
        "created_at": at,
        "updated_at": at,
        "created_by": "bench",
        "updated_by": "bench",
    }
