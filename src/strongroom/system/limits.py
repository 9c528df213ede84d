"""Process limits a node sets for itself at start (issue 17, finding 6).

A node holds one descriptor per client connection, plus its database and Redis pools, audit
file and TLS files. The soft open-files limit it inherits is often 1024 (a login shell, a
container runtime), far below the hard limit: at start the node raises the soft limit to the
hard one and logs the figure. Raising the hard limit is the service manager's job
(`LimitNOFILE=` with systemd; see the README's operations section).
"""

from __future__ import annotations

import logging
import resource
from dataclasses import dataclass

log = logging.getLogger(__name__)

# The kernel's ceiling when the hard limit is "unlimited" (setrlimit refuses RLIM_INFINITY).
_NR_OPEN = "/proc/sys/fs/nr_open"


@dataclass(frozen=True, slots=True)
class OpenFiles:
    before: int
    soft: int
    hard: int


def _ceiling(hard: int) -> int:
    if hard != resource.RLIM_INFINITY:
        return hard
    try:
        with open(_NR_OPEN, encoding="ascii") as handle:
            return int(handle.read().strip())
    except (OSError, ValueError):
        return 1024 * 1024


def raise_open_files_limit() -> OpenFiles:
    """Raise the soft RLIMIT_NOFILE to the hard limit; log the figure; never fails."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = _ceiling(hard)
    if soft != resource.RLIM_INFINITY and soft < target:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
        except (ValueError, OSError) as exc:
            log.warning("cannot raise the open-files limit from %d to %d: %s", soft, target, exc)
    now, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    shown_hard = "unlimited" if hard == resource.RLIM_INFINITY else str(hard)
    if now < 4096:
        log.warning(
            "open files limit: %d (hard limit %s): too low for many clients; raise the hard "
            "limit (systemd: LimitNOFILE=65536)",
            now,
            shown_hard,
        )
    else:
        log.info("open files limit: %d (was %d; hard limit %s)", now, soft, shown_hard)
    return OpenFiles(soft, now, hard)
