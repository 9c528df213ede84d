"""Checks of secret values, metadata and TTLs against the `secrets.*` runtime settings."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping

import orjson

from strongroom.errors import InvalidInput, PayloadTooLarge
from strongroom.secrets.schemas import Duration, Value
from strongroom.system.registry import SecretsSettings
from strongroom.system.values import parse_duration

MAX_METADATA_KEY = 128
MAX_METADATA_VALUE = 512
# Far beyond any real TTL; keeps `now + ttl` a sane float.
MAX_TTL_SECONDS = 100 * 365 * 86400
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def binding(secret_id: str, version: int) -> bytes:
    """Associated data tying a ciphertext to its row: moved elsewhere, it fails to decrypt."""
    return f"secret:{secret_id}:{version}".encode()


def value_type(value: Value) -> str:
    return "string" if isinstance(value, str) else "json"


def _finite(value: object) -> bool:
    if isinstance(value, float):
        return math.isfinite(value)
    if isinstance(value, dict):
        return all(_finite(item) for item in value.values())
    if isinstance(value, list):
        return all(_finite(item) for item in value)
    return True


def encode_value(value: Value, limits: SecretsSettings) -> bytes:
    """The JSON bytes that get encrypted; 413 beyond `secrets.max_value_bytes`; 422 for NaN or
    Infinity anywhere in it (JSON has neither: they would be stored as `null`)."""
    if not isinstance(value, str) and not _finite(value):
        raise InvalidInput(
            "NaN and Infinity are not JSON numbers: numbers must be finite",
            loc=("body", "value"),
        )
    try:
        encoded = orjson.dumps(value)
    except (TypeError, orjson.JSONEncodeError):
        # e.g. integers beyond 64 bits: not representable in the stored form.
        raise InvalidInput(
            "value must be a string or a JSON object of representable values",
            loc=("body", "value"),
        ) from None
    if len(encoded) > limits.max_value_bytes:
        raise PayloadTooLarge(
            f"the value is {len(encoded)} bytes as JSON; the limit "
            f"(secrets.max_value_bytes) is {limits.max_value_bytes}",
            code="value_too_large",
        )
    return encoded


def check_metadata(metadata: Mapping[str, str], limits: SecretsSettings) -> dict[str, str]:
    """Metadata within the limits: entry count, key 1-128 chars, value up to 512 chars."""
    if len(metadata) > limits.max_metadata_entries:
        raise InvalidInput(
            f"at most {limits.max_metadata_entries} metadata entries are allowed "
            "(secrets.max_metadata_entries)",
            loc=("body", "metadata"),
        )
    for key, value in metadata.items():
        loc = ("body", "metadata", key)
        if not key or len(key) > MAX_METADATA_KEY:
            raise InvalidInput(
                f"a metadata key has 1 to {MAX_METADATA_KEY} characters", loc=("body", "metadata")
            )
        if _CONTROL.search(key):
            raise InvalidInput(
                "control characters are not allowed in a metadata key", loc=("body", "metadata")
            )
        if len(value) > MAX_METADATA_VALUE:
            raise InvalidInput(
                f"a metadata value has at most {MAX_METADATA_VALUE} characters", loc=loc
            )
        if "\x00" in value:
            raise InvalidInput("NUL is not allowed in a metadata value", loc=loc)
    return dict(metadata)


def resolve_ttl(raw: Duration | None, limits: SecretsSettings, *, use_default: bool) -> int | None:
    """Seconds until expiry, or None for none.

    Omitted: `secrets.default_ttl` when `use_default`, or `secrets.max_ttl` when only that is
    set (0 = none). An explicit 0 means "no expiry", which `secrets.max_ttl` (when set) forbids
    like any TTL above it.
    """
    if raw is None:
        if not use_default:
            return None
        return limits.default_ttl or limits.max_ttl or None
    try:
        seconds = parse_duration(raw)
    except ValueError as exc:
        raise InvalidInput(f"ttl: {exc}", loc=("body", "ttl")) from None
    if seconds > MAX_TTL_SECONDS:
        raise InvalidInput(f"ttl is at most {MAX_TTL_SECONDS} seconds", loc=("body", "ttl"))
    if limits.max_ttl and (seconds == 0 or seconds > limits.max_ttl):
        raise InvalidInput(
            f"ttl must be between 1 and {limits.max_ttl} seconds (secrets.max_ttl)",
            loc=("body", "ttl"),
        )
    return seconds or None
