"""Opaque bearer tokens: 256 random bits with a type prefix; only their hash is ever stored."""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets

ACCESS_PREFIX = "sra_"
REFRESH_PREFIX = "srr_"
TOKEN_BYTES = 32
# token_urlsafe(32) gives 43 characters of the URL-safe alphabet.
_TOKEN_BODY = re.compile(r"[A-Za-z0-9_-]{43}")


def new_token(prefix: str) -> str:
    """A fresh token: `prefix` + 256 bits from `secrets`, URL-safe base64."""
    return prefix + secrets.token_urlsafe(TOKEN_BYTES)


def looks_like(token: str, prefix: str) -> bool:
    """Shape check before any lookup: right prefix and a well-formed body."""
    return token.startswith(prefix) and _TOKEN_BODY.fullmatch(token[len(prefix) :]) is not None


def token_hash(token: str) -> str:
    """The stored form of a token: SHA-256, hex. A 256-bit random token needs no salt or key."""
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def constant_time_equal(a: str | bytes, b: str | bytes) -> bool:
    left = a.encode() if isinstance(a, str) else a
    right = b.encode() if isinstance(b, str) else b
    return hmac.compare_digest(left, right)


def random_id(nbytes: int = 16) -> str:
    return secrets.token_urlsafe(nbytes)
