"""A real strongroom server over TLS for the client tests (one per test module: each test
works under its own user and paths), and clients of it."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from strongroom_client import Client
from tests.support import ServerProcess, admin_password


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """A TLS server on the embedded default, with the database audit sink (for audit.list)."""
    base = tmp_path_factory.mktemp("client-server")
    node = ServerProcess(
        base / "strongroom-data", {"STRONGROOM_AUDIT_DATABASE": "true"}, tls=True
    ).start()
    yield node
    node.stop()


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A temporary HOME (the token cache lives under it) and no STRONGROOM_* client setting."""
    for name in ("STRONGROOM_ADDR", "STRONGROOM_CACERT", "STRONGROOM_TOKEN", "XDG_CONFIG_HOME"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    return tmp_path / "home"


def unique(prefix: str) -> str:
    return f"{prefix}{uuid.uuid4().hex[:8]}"


@pytest.fixture
def admin(server: ServerProcess, home: Path) -> Iterator[Client]:
    """A sync client logged in as the admin."""
    client = Client(server.url, str(server.data_dir / "ca.pem"))
    client.login("admin", admin_password(server.data_dir))
    yield client
    client.close()
