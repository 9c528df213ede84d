"""Runs wrk with bench/lua/workload.lua and reads the JSON line its done() prints."""

from __future__ import annotations

import json
import shutil
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from harness.procs import Processes

LUA_SCRIPT = Path(__file__).resolve().parent.parent / "lua" / "workload.lua"
# A slow login under 32 connections is a result, not an error: no wrk timeouts below this.
TIMEOUT = "60s"


@dataclass(frozen=True)
class Load:
    threads: int
    connections: int
    duration: float


@dataclass(frozen=True)
class WrkResult:
    requests: int
    requests_per_s: float
    p50_ms: float
    p90_ms: float
    p99_ms: float
    max_ms: float
    non2xx: int
    socket_errors: int
    statuses: dict[str, int]  # non-2xx status -> count

    @property
    def errors(self) -> int:
        return self.non2xx + self.socket_errors

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def wrk_path() -> str | None:
    return shutil.which("wrk")


def command(url: str, spec_file: Path, load: Load) -> list[str]:
    return [
        "wrk",
        f"-t{load.threads}",
        f"-c{load.connections}",
        f"-d{load.duration:g}s",
        f"--timeout={TIMEOUT}",
        "-s",
        str(LUA_SCRIPT),
        url,
        "--",
        str(spec_file),
    ]


def run(url: str, spec_file: Path, load: Load, procs: Processes, log: Path) -> WrkResult:
    """One wrk run in its own process group; its JSON summary."""
    process = procs.start(command(url, spec_file, load), log_path=log)
    try:
        process.wait(timeout=load.duration + 120)
    finally:
        procs.stop(process)
    return parse(log)


def parse(log: Path) -> WrkResult:
    """The last BENCH_JSON line of a wrk log."""
    lines = [line for line in log.read_text().splitlines() if line.startswith("BENCH_JSON ")]
    if not lines:
        raise RuntimeError(f"wrk printed no summary; its output:\n{log.read_text()[-2000:]}")
    raw = json.loads(lines[-1].removeprefix("BENCH_JSON "))
    seconds = raw["duration_us"] / 1e6
    return WrkResult(
        requests=raw["requests"],
        requests_per_s=raw["requests"] / seconds if seconds else 0.0,
        p50_ms=raw["p50_us"] / 1000,
        p90_ms=raw["p90_us"] / 1000,
        p99_ms=raw["p99_us"] / 1000,
        max_ms=raw["max_us"] / 1000,
        non2xx=raw["non2xx"],
        socket_errors=raw["connect"] + raw["read"] + raw["write"] + raw["timeout"],
        statuses=raw.get("statuses", {}),
    )
