"""What a Redis's persistence settings mean for strongroom, said in the log when a node first
reaches a Redis process (and again after a restart or failover brings another one).

Sessions never outlive a Redis restart, whatever these settings (sessions/generation.py): the
report says how much Redis itself keeps, and warns about what does matter, eviction.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

log = logging.getLogger(__name__)

CONFIG_KEYS = ("save", "appendonly", "appendfsync", "maxmemory-policy")

_AFTER_RESTART = (
    "strongroom notices every Redis restart or failover and ends every session issued "
    "before it, so no revoked token comes back; users log in again"
)


def describe(config: dict[str, str]) -> list[tuple[int, str]]:
    """(log level, message) lines for the values of `CONFIG GET` (`CONFIG_KEYS`)."""
    lines = [(logging.INFO, f"Redis persistence: {_persistence(config)}; {_AFTER_RESTART}")]
    policy = config.get("maxmemory-policy", "")
    if policy and policy != "noeviction":
        lines.append(
            (
                logging.WARNING,
                f"Redis may evict keys when full (maxmemory-policy {policy}): sessions may end "
                "early and the reuse of a rotated refresh token may go unnoticed; set "
                "maxmemory-policy noeviction",
            )
        )
    return lines


def _persistence(config: dict[str, str]) -> str:
    snapshots = config.get("save", "").strip()
    if config.get("appendonly") == "yes":
        fsync = config.get("appendfsync", "everysec")
        if fsync == "always":
            return (
                "append-only file fsynced on every write: a crash loses no acknowledged write, "
                "but a failover to a replica can (replication is asynchronous), and a node "
                "cannot tell a complete restart from a lossy one"
            )
        return (
            f"append-only file (appendfsync {fsync}): a crash loses the writes of about the "
            "last second"
        )
    if snapshots:
        return (
            f"RDB snapshots only (save {snapshots!r}): a restart brings Redis back to its last "
            "snapshot, undoing every revocation made since"
        )
    return "none: a restart empties Redis"


def config_reply(reply: Sequence[str]) -> dict[str, str]:
    """`CONFIG GET`'s flat [name, value, ...] reply as a dict."""
    return {reply[index]: reply[index + 1] for index in range(0, len(reply) - 1, 2)}


def log_persistence(config: dict[str, str] | None) -> None:
    """Log the report; `None` when Redis refused `CONFIG GET` (managed services often do)."""
    if config is None:
        log.info("Redis refused CONFIG GET, so its persistence is unknown here; %s", _AFTER_RESTART)
        return
    for level, message in describe(config):
        log.log(level, message)
