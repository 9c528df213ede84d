"""otpauth:// URLs (the Key URI format authenticator apps read) and base32 seeds.

    otpauth://totp/<issuer>:<account>?secret=<base32>&issuer=<issuer>&algorithm=SHA1&digits=6&period=30

Errors name the part that is wrong, never the seed.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from urllib.parse import parse_qs, quote, unquote, urlsplit

from strongroom.errors import InvalidInput

ALGORITHMS = ("SHA1", "SHA256", "SHA512")
DIGITS = (6, 8)
MIN_PERIOD, MAX_PERIOD = 1, 3600
MIN_SEED_BYTES, MAX_SEED_BYTES = 10, 128
MAX_LABEL = 256


@dataclass(frozen=True, slots=True)
class TotpParams:
    issuer: str
    account_name: str
    algorithm: str
    digits: int
    period: int


def _invalid(detail: str, field: str = "url") -> InvalidInput:
    return InvalidInput(detail, loc=("body", field))


def parse_base32(text: str, field: str = "key") -> bytes:
    """A base32 seed as apps show it: case and spaces ignored, padding optional."""
    cleaned = "".join(text.split()).upper().rstrip("=")
    try:
        seed = base64.b32decode(cleaned + "=" * (-len(cleaned) % 8))
    except (binascii.Error, ValueError):
        raise _invalid(f"{field} is not a valid base32 seed", field) from None
    if not MIN_SEED_BYTES <= len(seed) <= MAX_SEED_BYTES:
        raise _invalid(
            f"a seed has {MIN_SEED_BYTES} to {MAX_SEED_BYTES} bytes "
            f"({MIN_SEED_BYTES * 8 // 5 + 1} to {MAX_SEED_BYTES * 8 // 5} base32 characters)",
            field,
        )
    return seed


def check_params(params: TotpParams, field_prefix: str = "") -> TotpParams:
    algorithm = params.algorithm.upper()
    if algorithm not in ALGORITHMS:
        raise _invalid(f"algorithm is one of {', '.join(ALGORITHMS)}", field_prefix + "algorithm")
    if params.digits not in DIGITS:
        raise _invalid("digits is 6 or 8", field_prefix + "digits")
    if not MIN_PERIOD <= params.period <= MAX_PERIOD:
        raise _invalid(f"period is {MIN_PERIOD} to {MAX_PERIOD} seconds", field_prefix + "period")
    for name, value in (("issuer", params.issuer), ("account_name", params.account_name)):
        if len(value) > MAX_LABEL or any(ord(ch) < 32 or ord(ch) == 127 for ch in value):
            raise _invalid(f"{name} is at most {MAX_LABEL} printable characters", name)
    return TotpParams(params.issuer, params.account_name, algorithm, params.digits, params.period)


def _number(query: dict[str, list[str]], name: str, default: int) -> int:
    raw = query.get(name, [str(default)])[0]
    if not raw.isascii() or not raw.isdigit() or len(raw) > 6:
        raise _invalid(f"the URL's {name} is not a number")
    return int(raw)


def parse_url(url: str) -> tuple[bytes, TotpParams]:
    """(seed, parameters) of an otpauth://totp/ URL; 422 on anything else."""
    parts = urlsplit(url.strip())
    if parts.scheme.lower() != "otpauth" or parts.netloc.lower() != "totp":
        raise _invalid("the URL must start with otpauth://totp/")
    query = parse_qs(parts.query, keep_blank_values=True)
    secrets = query.get("secret")
    if not secrets or not secrets[0]:
        raise _invalid("the URL has no secret parameter")
    seed = parse_base32(secrets[0], "url")
    label = unquote(parts.path.lstrip("/"))
    label_issuer, _, account = label.rpartition(":")
    issuer = query.get("issuer", [label_issuer])[0] or label_issuer
    params = TotpParams(
        issuer.strip(),
        account.strip(),
        query.get("algorithm", ["SHA1"])[0],
        _number(query, "digits", 6),
        _number(query, "period", 30),
    )
    return seed, check_params(params)


def build_url(seed: bytes, params: TotpParams) -> str:
    secret = base64.b32encode(seed).decode().rstrip("=")
    label = quote(params.account_name, safe="@")
    if params.issuer:
        label = f"{quote(params.issuer, safe='')}:{label}"
    query = f"secret={secret}"
    if params.issuer:
        query += f"&issuer={quote(params.issuer, safe='')}"
    query += f"&algorithm={params.algorithm}&digits={params.digits}&period={params.period}"
    return f"otpauth://totp/{label}?{query}"
