"""Where the client finds the server: arguments, then STRONGROOM_ADDR / STRONGROOM_CACERT,
then the data directory of the embedded default (the address the node wrote, its CA)."""

from __future__ import annotations

from pathlib import Path

import pytest

from strongroom.cli.server import client_url
from strongroom.config import Config
from strongroom_client.config import DEFAULT_ADDRESS, normalise_address, resolve
from strongroom_client.tokens import FileTokenStore, cache_file


@pytest.fixture
def beside(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The current directory holds strongroom-data/ with an address file and a CA."""
    for name in ("STRONGROOM_ADDR", "STRONGROOM_CACERT", "STRONGROOM_DATA_DIR"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    data = tmp_path / "strongroom-data"
    data.mkdir()
    (data / "address").write_text("https://127.0.0.1:18443\n")
    (data / "ca.pem").write_text("-----BEGIN CERTIFICATE-----\n")
    return data


def test_the_data_directory_names_the_server_and_its_ca(beside: Path) -> None:
    target = resolve()
    assert target.address == "https://127.0.0.1:18443"
    assert target.cacert == "strongroom-data/ca.pem"
    assert target.api == "https://127.0.0.1:18443/api/v1"


def test_environment_beats_the_data_directory(
    beside: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("STRONGROOM_ADDR", "vault.example.com:8200")
    assert resolve().address == "https://vault.example.com:8200"
    assert resolve().cacert is None  # a remote server: the system's CAs, not the local CA
    monkeypatch.setenv("STRONGROOM_CACERT", "/etc/ca.pem")
    assert resolve().cacert == "/etc/ca.pem"
    assert resolve("https://127.0.0.1:9/api/v1/", "x.pem") == resolve("127.0.0.1:9", "x.pem")


def test_no_data_directory_means_the_default_address(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    for name in ("STRONGROOM_ADDR", "STRONGROOM_CACERT", "STRONGROOM_DATA_DIR"):
        monkeypatch.delenv(name, raising=False)
    assert resolve().address == DEFAULT_ADDRESS and resolve().cacert is None
    monkeypatch.setenv("STRONGROOM_DATA_DIR", str(tmp_path / "elsewhere"))
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "elsewhere" / "address").write_text("http://127.0.0.1:1234")
    assert resolve().address == "http://127.0.0.1:1234"


def test_bad_addresses_are_refused() -> None:
    for bad in ("ftp://x", "https://", "https:///api/v1"):
        with pytest.raises(ValueError, match="not a server address"):
            normalise_address(bad)


def test_the_node_writes_a_url_clients_can_reach(tmp_path: Path) -> None:
    def url(host: str, tls: bool = True) -> str:
        return client_url(Config(data_dir=tmp_path, host=host, port=8443, tls_disable=not tls), tls)

    assert url("127.0.0.1") == "https://127.0.0.1:8443"
    assert url("0.0.0.0") == "https://127.0.0.1:8443"
    assert url("::") == "https://[::1]:8443"
    assert url("10.1.2.3", tls=False) == "http://10.1.2.3:8443"


def test_one_token_file_per_server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "cfg"))
    first, second = cache_file("https://a:1"), cache_file("https://a:2")
    assert first != second and first.parent == tmp_path / "cfg" / "strongroom"
    assert FileTokenStore("https://a:1").load() is None
