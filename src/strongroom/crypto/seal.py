"""The root key: where it comes from and how it is kept.

The root key never reaches the database: it only wraps the keyring's data keys. The embedded
default keeps it in a key file (mode 0600) in the data directory; operators may pass it in the
environment instead, or start sealed and provide it over the API.
"""

from __future__ import annotations

import base64
import binascii
import os
import stat
from pathlib import Path

from strongroom.crypto.aead import KEY_BYTES, random_key


class RootKey:
    """32 bytes that never print."""

    __slots__ = ("_key",)

    def __init__(self, key: bytes) -> None:
        if len(key) != KEY_BYTES:
            raise ValueError("the root key must be 32 bytes")
        self._key = key

    def __repr__(self) -> str:
        return "RootKey(***)"

    def reveal(self) -> bytes:
        return self._key

    def encode(self) -> str:
        return base64.urlsafe_b64encode(self._key).decode("ascii")

    @classmethod
    def decode(cls, text: str) -> RootKey:
        """Parse base64 (standard or URL-safe alphabet) of 32 bytes; `ValueError` otherwise."""
        cleaned = text.strip()
        try:
            raw = base64.urlsafe_b64decode(cleaned.replace("+", "-").replace("/", "_"))
        except (binascii.Error, ValueError):
            raise ValueError("the root key is not valid base64") from None
        if len(raw) != KEY_BYTES:
            raise ValueError("the root key must be base64 of exactly 32 bytes")
        return cls(raw)


def generate_root_key() -> RootKey:
    return RootKey(random_key())


def read_key_file(path: Path) -> RootKey:
    """Read a key file; `OSError` if unreadable, `ValueError` if malformed."""
    return RootKey.decode(path.read_text(encoding="ascii"))


def write_key_file(path: Path, key: RootKey) -> None:
    """Create a key file with mode 0600; never overwrites an existing file."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as handle:
        handle.write(key.encode() + "\n")
        handle.flush()
        os.fsync(handle.fileno())


def is_private(path: Path) -> bool:
    """True if neither group nor others may read the file."""
    return stat.S_IMODE(path.stat().st_mode) & 0o077 == 0
