"""One-time passwords: HOTP (RFC 4226) and TOTP (RFC 6238) with SHA-1, SHA-256 or SHA-512.

The seed is secret material: callers keep it only encrypted through the barrier and never
print it. Codes are compared in constant time.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import struct
from collections.abc import Callable
from typing import Any

ALGORITHMS: dict[str, Callable[..., Any]] = {
    "SHA1": hashlib.sha1,
    "SHA256": hashlib.sha256,
    "SHA512": hashlib.sha512,
}
_COUNTER = struct.Struct(">Q")


def new_seed(size: int) -> bytes:
    """A fresh random seed of `size` bytes (RFC 4226 asks for at least 16; 20 is usual)."""
    return os.urandom(size)


def hotp(seed: bytes, counter: int, algorithm: str, digits: int) -> str:
    """The HOTP value of `counter` (RFC 4226 §5.3, dynamic truncation), `digits` long."""
    mac = hmac.new(seed, _COUNTER.pack(counter), ALGORITHMS[algorithm]).digest()
    offset = mac[-1] & 0x0F
    number = int.from_bytes(mac[offset : offset + 4], "big") & 0x7FFFFFFF
    return str(number % 10**digits).zfill(digits)


def totp_step(at: float, period: int) -> int:
    """The RFC 6238 time step (T0 = 0) of the instant `at` (Unix seconds)."""
    return int(at // period)


def matching_step(seed: bytes, code: str, steps: range, algorithm: str, digits: int) -> int | None:
    """The latest step in `steps` whose code is `code` (constant-time compares), or None."""
    found = None
    supplied = code.encode()
    for step in steps:
        if hmac.compare_digest(hotp(seed, step, algorithm, digits).encode(), supplied):
            found = step
    return found
