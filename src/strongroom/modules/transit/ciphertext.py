"""The text form of transit ciphertexts and signatures: `strongroom:v{N}:{base64}`.

`N` is the key version that made it (decimal, from 1) and the base64 (standard alphabet, with
padding) holds the bytes: for a ciphertext the 12-byte nonce, the ciphertext and the 16-byte
tag; for a signature the signature (Ed25519: 64 bytes; ECDSA P-256 with SHA-256: DER).
"""

from __future__ import annotations

import base64
import binascii

PREFIX = "strongroom"
MAX_VERSION_DIGITS = 9


def encode(version: int, raw: bytes) -> str:
    return f"{PREFIX}:v{version}:{base64.b64encode(raw).decode()}"


def decode(text: str) -> tuple[int, bytes] | None:
    """(version, bytes), or None for anything that is not exactly this format."""
    prefix, _, rest = text.partition(":")
    tag, _, body = rest.partition(":")
    digits = tag[1:]
    if (
        prefix != PREFIX
        or not tag.startswith("v")
        or not digits.isascii()
        or not digits.isdigit()
        or len(digits) > MAX_VERSION_DIGITS
        or digits.startswith("0")
    ):
        return None
    try:
        raw = base64.b64decode(body, validate=True)
    except (binascii.Error, ValueError):
        return None
    return int(digits), raw
