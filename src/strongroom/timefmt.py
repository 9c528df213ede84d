"""The one time format of the API and the audit log: RFC 3339, UTC, microseconds, `Z`.

Formatting runs several times per request (audit record, response bodies), and
`datetime.strftime` is slow; the date-and-seconds part is cached per second.
"""

from __future__ import annotations

import math
import time
from typing import overload

_PREFIXES: dict[int, str] = {}
_MAX_CACHED = 65536


def _prefix(seconds: int) -> str:
    prefix = _PREFIXES.get(seconds)
    if prefix is None:
        if len(_PREFIXES) >= _MAX_CACHED:
            _PREFIXES.clear()
        prefix = _PREFIXES[seconds] = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds))
    return prefix


@overload
def rfc3339(timestamp: float) -> str: ...


@overload
def rfc3339(timestamp: None) -> None: ...


@overload
def rfc3339(timestamp: float | None) -> str | None: ...


def rfc3339(timestamp: float | None) -> str | None:
    """Unix seconds as `2026-01-02T03:04:05.678901Z`; None stays None."""
    if timestamp is None:
        return None
    # The rounding of datetime.fromtimestamp: the fraction alone, to the nearest microsecond.
    fraction, whole = math.modf(timestamp)
    micros = round(fraction * 1_000_000)
    seconds = int(whole)
    if micros >= 1_000_000:
        seconds, micros = seconds + 1, micros - 1_000_000
    elif micros < 0:
        seconds, micros = seconds - 1, micros + 1_000_000
    return f"{_prefix(seconds)}.{micros:06d}Z"
