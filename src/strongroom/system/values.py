"""Parsing of setting and request values: durations, CIDR lists, role maps."""

from __future__ import annotations

import ipaddress
import re

_DURATION_PART = re.compile(r"(\d+)(ms|s|m|h|d|w)")
_DURATION_FULL = re.compile(r"(?:\d+(?:ms|s|m|h|d|w))+")
_UNIT_SECONDS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_DURATION_HELP = "a duration is integer seconds or a string like '90s', '15m', '1h30m', '7d'"


def parse_duration(value: object) -> int:
    """Integer seconds from an int or a string like "90", "15m", "1h30m", "7d".

    Raises `ValueError` with a message fit for a 422.
    """
    if isinstance(value, bool):
        raise ValueError(_DURATION_HELP)
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, int):
        if value < 0:
            raise ValueError("a duration cannot be negative")
        return value
    if isinstance(value, str):
        text = value.strip().lower().replace(" ", "")
        if text.isdigit():
            return int(text)
        if _DURATION_FULL.fullmatch(text):
            return int(
                sum(int(n) * _UNIT_SECONDS[unit] for n, unit in _DURATION_PART.findall(text))
            )
    raise ValueError(_DURATION_HELP)


def parse_networks(
    values: list[str] | tuple[str, ...],
) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    """CIDR networks (or single addresses); `ValueError` naming the first bad entry."""
    networks = []
    for entry in values:
        try:
            networks.append(ipaddress.ip_network(str(entry).strip(), strict=False))
        except ValueError:
            raise ValueError(f"{entry!r} is not an IP address or CIDR network") from None
    return tuple(networks)
