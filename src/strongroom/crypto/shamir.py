"""Shamir's secret sharing of the root key (the `shamir` seal), through `pyshamir`, a port of
Vault's own split/combine over GF(2^8): no field arithmetic is written here.

A share is the key's length plus one byte (the x coordinate), shown to operators as hex
(`keys`) or standard base64 (`keys_base64`), as Vault shows them. With a threshold of 1 every
share is the root key itself (nothing to combine), as Vault does for a single share.
"""

from __future__ import annotations

import base64
import binascii
import string

import pyshamir

from strongroom.crypto.seal import RootKey

MAX_SHARES = 255
SHARE_BYTES = 33  # 32-byte key + x coordinate
_HEX = set(string.hexdigits)


class Share:
    """One operator's share: never printed."""

    __slots__ = ("_raw",)

    def __init__(self, raw: bytes) -> None:
        self._raw = bytes(raw)

    def __repr__(self) -> str:
        return "Share(***)"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Share) and other._raw == self._raw

    def __hash__(self) -> int:
        return hash(self._raw)

    def reveal(self) -> bytes:
        return self._raw

    @property
    def hex(self) -> str:
        return self._raw.hex()

    @property
    def base64(self) -> str:
        return base64.b64encode(self._raw).decode("ascii")

    @classmethod
    def parse(cls, text: str) -> Share:
        """Hex or base64 (standard or URL-safe) of a share; `ValueError` otherwise."""
        cleaned = text.strip()
        raw: bytes | None = None
        if len(cleaned) in (2 * SHARE_BYTES, 2 * 32) and set(cleaned) <= _HEX:
            raw = bytes.fromhex(cleaned)
        else:
            try:
                padded = cleaned + "=" * (-len(cleaned) % 4)
                raw = base64.b64decode(padded.replace("-", "+").replace("_", "/"), validate=True)
            except (binascii.Error, ValueError):
                raw = None
        if raw is None or len(raw) not in (SHARE_BYTES, 32):
            raise ValueError("a key share is hex or base64 of 33 bytes (32 for a single key)")
        return cls(raw)


def check_counts(shares: int, threshold: int) -> None:
    """`ValueError` unless 1 <= threshold <= shares <= 255."""
    if not 1 <= threshold <= shares <= MAX_SHARES:
        raise ValueError(
            "secret_threshold and secret_shares must satisfy 1 <= threshold <= shares <= 255"
        )


def split(root: RootKey, shares: int, threshold: int) -> list[Share]:
    check_counts(shares, threshold)
    if threshold == 1:
        return [Share(root.reveal()) for _ in range(shares)]
    return [Share(bytes(part)) for part in pyshamir.split(root.reveal(), shares, threshold)]


def combine(shares: list[Share], threshold: int) -> RootKey:
    """The key the shares make; a wrong share makes a wrong key (the caller checks it against
    the keyring). `ValueError` for shares that cannot be combined at all."""
    if threshold == 1:
        return RootKey(shares[0].reveal()[:32])
    parts = [bytearray(share.reveal()) for share in shares]
    if any(len(part) != SHARE_BYTES for part in parts):
        raise ValueError("the key shares do not belong together")
    try:
        return RootKey(bytes(pyshamir.combine(parts)))
    except ValueError:
        raise ValueError("the key shares do not belong together") from None
