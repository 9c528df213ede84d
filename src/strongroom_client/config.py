"""Where the server is and which CA to trust: arguments, then the environment, then the data
directory of the embedded default (`./strongroom-data`, or `$STRONGROOM_DATA_DIR`).

The server writes the URL it listens on to `<data_dir>/address`; run from the directory that
holds `strongroom-data/`, a client finds the server and its CA with no flags at all.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

DEFAULT_ADDRESS = "https://127.0.0.1:8200"
DEFAULT_DATA_DIR = "strongroom-data"
ADDRESS_FILE = "address"
API_PREFIX = "/api/v1"
_LOOPBACK = {"127.0.0.1", "localhost", "::1"}


@dataclass(frozen=True, slots=True)
class Target:
    """A server: its address (scheme, host and port, no path) and the CA file to trust."""

    address: str
    cacert: str | None

    @property
    def api(self) -> str:
        return self.address + API_PREFIX


def normalise_address(address: str) -> str:
    """`host:port` or a URL, with or without `/api/v1`, into `scheme://host:port`."""
    address = address.strip()
    if "://" not in address:
        address = "https://" + address
    address = address.rstrip("/")
    if address.endswith(API_PREFIX):
        address = address[: -len(API_PREFIX)]
    parts = urlsplit(address)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"not a server address: {address!r} (expected https://HOST:PORT)")
    return address.rstrip("/")


def data_dir() -> Path:
    return Path(os.environ.get("STRONGROOM_DATA_DIR") or DEFAULT_DATA_DIR)


def resolve(address: str | None = None, cacert: str | None = None) -> Target:
    """The target from the arguments, then STRONGROOM_ADDR / STRONGROOM_CACERT, then the
    embedded default's data directory (its `address` file and `ca.pem`)."""
    directory = data_dir()
    chosen = address or os.environ.get("STRONGROOM_ADDR")
    local = False
    if not chosen:
        local = True
        try:
            chosen = (directory / ADDRESS_FILE).read_text().strip() or DEFAULT_ADDRESS
        except OSError:
            chosen = DEFAULT_ADDRESS
    normalised = normalise_address(chosen)
    ca = cacert or os.environ.get("STRONGROOM_CACERT") or None
    if ca is None and (local or urlsplit(normalised).hostname in _LOOPBACK):
        candidate = directory / "ca.pem"
        if candidate.is_file():
            ca = str(candidate)
    return Target(normalised, ca)
