"""The static files of the interface, read once from the package and served by content hash."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from importlib import resources

_TYPES = {
    ".css": "text/css; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".svg": "image/svg+xml",
    ".txt": "text/plain; charset=utf-8",
}


@dataclass(frozen=True, slots=True)
class Asset:
    body: bytes
    content_type: str
    digest: str


def _load() -> dict[str, Asset]:
    found: dict[str, Asset] = {}
    for entry in resources.files("strongroom.ui").joinpath("static").iterdir():
        suffix = "." + entry.name.rsplit(".", 1)[-1]
        if entry.is_file() and suffix in _TYPES:
            body = entry.read_bytes()
            found[entry.name] = Asset(body, _TYPES[suffix], hashlib.sha256(body).hexdigest()[:16])
    return found


ASSETS = _load()


def asset_url(name: str) -> str:
    """The URL of a static file, versioned by its content (cached for a year by browsers)."""
    return f"/ui/static/{name}?v={ASSETS[name].digest}"
