"""What the results were measured on, read from /proc and the tools themselves."""

from __future__ import annotations

import datetime as dt
import os
import platform
import subprocess
from pathlib import Path
from typing import Any


def machine_info() -> dict[str, Any]:
    return {
        "cpu_model": _cpu_model(),
        "cores": os.cpu_count(),
        "ram_gib": round(_meminfo_kib("MemTotal") / 1024 / 1024, 1),
        "kernel": platform.release(),
        "python": platform.python_version(),
        "wrk": _first_line(["wrk", "-v"]),
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
    }


def _cpu_model() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown"


def _meminfo_kib(field: str) -> int:
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1])
    return 0


def _first_line(argv: list[str]) -> str:
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=10)
    except OSError:
        return "not found"
    return ((done.stdout or done.stderr).strip().splitlines() or ["?"])[0]


def process_tree(pid: int) -> list[dict[str, Any]]:
    """`pid` and its descendants: pid, parent, command line, resident memory in MiB."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            parent = _ppid(int(entry.name))
            if parent is not None:
                children.setdefault(parent, []).append(int(entry.name))
    found: list[dict[str, Any]] = []
    stack = [(pid, 0)]
    while stack:
        current, parent = stack.pop()
        rss = _meminfo_of(current)
        if rss is None:
            continue
        found.append(
            {"pid": current, "ppid": parent, "cmd": _cmdline(current), "rss_mib": rss / 1024}
        )
        stack.extend((child, current) for child in children.get(current, []))
    return found


def _ppid(pid: int) -> int | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # The command name may hold spaces and parentheses: fields start after the last ')'.
    return int(stat.rsplit(")", 1)[1].split()[1])


def _meminfo_of(pid: int) -> int | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        return None
    return 0


def _cmdline(pid: int) -> str:
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return ""
    return raw.replace(b"\0", b" ").decode(errors="replace").strip()[:200]


def worker_rss(pid: int) -> dict[str, Any]:
    """RSS of a server: its supervisor, each worker process (a single process is both) and
    the password-hashing processes the workers started (strongroom.crypto.hashd)."""
    tree = process_tree(pid)
    hashers = [p for p in tree if "strongroom.crypto.hashd" in p["cmd"]]
    workers = [
        p
        for p in tree
        if p["pid"] != pid and "resource_tracker" not in p["cmd"] and p not in hashers
    ]
    main = next((p for p in tree if p["pid"] == pid), None)
    return {
        "supervisor_mib": round(main["rss_mib"], 1) if main and workers else None,
        "workers_mib": [round(p["rss_mib"], 1) for p in (workers or ([main] if main else []))],
        "hashers_mib": [round(p["rss_mib"], 1) for p in hashers],
        "total_mib": round(sum(p["rss_mib"] for p in tree), 1),
    }
