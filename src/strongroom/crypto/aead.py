"""AES-256-GCM with a versioned, authenticated header.

Blob layout: ``0x01 | key_version (4 bytes, big endian) | nonce (12 bytes) | ciphertext+tag``.
The header is part of the associated data, together with the caller's owner binding, so a
ciphertext moved to another row, or relabelled with another key version, fails to decrypt.
"""

from __future__ import annotations

import os
import struct

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

FORMAT_V1 = 1
NONCE_BYTES = 12
KEY_BYTES = 32
_HEADER = struct.Struct(">BI")
HEADER_BYTES = _HEADER.size + NONCE_BYTES
TAG_BYTES = 16


class DecryptionError(Exception):
    """Decryption failed. Deliberately says nothing about why."""

    def __init__(self) -> None:
        super().__init__()

    def __repr__(self) -> str:
        return "DecryptionError()"


class Cipher:
    """One AES-256-GCM key with its keyring version."""

    __slots__ = ("_aead", "version")

    def __init__(self, key: bytes, version: int) -> None:
        if len(key) != KEY_BYTES:
            raise ValueError("AES-256-GCM needs a 32-byte key")
        self._aead = AESGCM(key)
        self.version = version

    def __repr__(self) -> str:
        return f"Cipher(version={self.version}, key=***)"

    def encrypt(self, plaintext: bytes, associated_data: bytes) -> bytes:
        header = _HEADER.pack(FORMAT_V1, self.version)
        nonce = os.urandom(NONCE_BYTES)
        sealed = self._aead.encrypt(nonce, plaintext, header + associated_data)
        return header + nonce + sealed

    def decrypt(self, blob: bytes, associated_data: bytes) -> bytes:
        nonce = blob[_HEADER.size : HEADER_BYTES]
        try:
            return self._aead.decrypt(
                nonce, blob[HEADER_BYTES:], blob[: _HEADER.size] + associated_data
            )
        except (InvalidTag, ValueError):
            pass
        # Raised outside the handler so that not even the cause travels with it.
        raise DecryptionError()


def blob_key_version(blob: bytes) -> int:
    """The key version a blob names in its header; `DecryptionError` if it is not a blob."""
    if len(blob) < HEADER_BYTES + TAG_BYTES:
        raise DecryptionError()
    fmt, version = _HEADER.unpack_from(blob)
    if fmt != FORMAT_V1:
        raise DecryptionError()
    return int(version)


def random_key() -> bytes:
    return AESGCM.generate_key(bit_length=256)
