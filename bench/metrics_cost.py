"""The cost of counting: read throughput of one node with metrics on vs off (issue 22).

One real `strongroom server` (SQLite, TLS, audit on, two workers), the bench role, user and
secrets of `make bench`; then `wrk` runs of one workload, alternating the setting
`metrics.access` between `token` (every request counted: the counter and the latency
histogram, in prometheus-client's multiprocess files) and `off` (no counting), so that drift of
a shared machine falls on both alike. Prints each run, the medians and their ratio, both of
throughput and of the node's CPU time per request (user + system of the supervisor and its
workers, from /proc): on a busy machine throughput swings with the neighbours' load, the CPU a
request costs much less.

    .venv/bin/python bench/metrics_cost.py                       # read_one, 5 rounds of 10 s
    .venv/bin/python bench/metrics_cost.py --workload read_random --rounds 3
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import statistics
import sys
import tempfile
from pathlib import Path

import httpx

from harness import wrk
from harness.common import WORKLOADS
from harness.procs import Processes, exit_on_signals
from harness.seed import seed
from harness.strongroom_node import StrongroomNode

ROOT = Path(__file__).resolve().parent.parent
API = "/api/v1"


def node_ticks(pid: int) -> int:
    """User + system clock ticks of process `pid` and its children (the workers)."""
    total = 0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2 :].split()
        if int(entry.name) == pid or int(fields[1]) == pid:
            total += int(fields[11]) + int(fields[12])
    return total


def set_metrics(node: StrongroomNode, access: str) -> None:
    with httpx.Client(base_url=node.base_url, verify=str(node.ca_file), timeout=60) as http:
        grant = {"grant_type": "password", "username": "admin", "password": node.admin_password()}
        admin = http.post(f"{API}/auth/token/create", data=grant).json()["access_token"]
        answer = http.post(
            f"{API}/sys/setting",
            json={"key": "metrics.access", "value": access},
            headers={"Authorization": f"Bearer {admin}"},
        )
        answer.raise_for_status()


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workload", choices=WORKLOADS, default="read_one")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--duration", type=float, default=10)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--secrets", type=int, default=1_000)
    parser.add_argument("--json", type=Path, help="also write the runs and medians here")
    args = parser.parse_args(argv)
    exit_on_signals()
    procs = Processes()
    workdir = Path(tempfile.mkdtemp(prefix="strongroom-metrics-"))
    runs: dict[str, list[float]] = {"token": [], "off": []}
    cpu: dict[str, list[float]] = {"token": [], "off": []}
    hz = os.sysconf("SC_CLK_TCK")
    try:
        node = StrongroomNode(
            "strongroom",
            "strongroom",
            procs,
            workdir / "data",
            ROOT / ".venv" / "bin" / "strongroom",
            workers=args.workers,
        )
        node.start()
        node.prepare()
        asyncio.run(seed(node, args.secrets, args.secrets))
        spec = node.spec(args.workload).write(workdir / "spec")
        wrk.run(node.base_url, spec, wrk.Load(2, 32, 3), procs, workdir / "warm.log")
        for round_number in range(args.rounds):
            # ABBA order: a trend over the rounds weighs on both settings equally.
            order = ("token", "off") if round_number % 2 == 0 else ("off", "token")
            for access in order:
                set_metrics(node, access)
                before = node_ticks(node.pid)
                result = wrk.run(
                    node.base_url,
                    spec,
                    wrk.Load(2, 32, args.duration),
                    procs,
                    workdir / "wrk.log",
                )
                if result.errors:
                    raise SystemExit(f"{result.errors} failed requests with metrics {access}")
                used = (node_ticks(node.pid) - before) / hz / max(1, result.requests) * 1e6
                runs[access].append(result.requests_per_s)
                cpu[access].append(used)
                print(
                    f"round {round_number + 1}, metrics {access:5}: "
                    f"{result.requests_per_s:,.0f} req/s, p99 {result.p99_ms} ms, "
                    f"{used:.0f} µs CPU per request",
                    flush=True,
                )
    finally:
        procs.stop_all()
        shutil.rmtree(workdir, ignore_errors=True)
    on, off = statistics.median(runs["token"]), statistics.median(runs["off"])
    cpu_on, cpu_off = statistics.median(cpu["token"]), statistics.median(cpu["off"])
    print(
        f"\n{args.workload}, {args.workers} workers, {args.rounds} rounds of {args.duration:g} s:"
        f"\n  metrics on (token): {on:,.0f} req/s, {cpu_on:.0f} µs CPU per request (medians)"
        f"\n  metrics off:        {off:,.0f} req/s, {cpu_off:.0f} µs CPU per request (medians)"
        f"\n  throughput on / off = {on / off:.3f}"
        f"\n  CPU per request on / off = {cpu_on / cpu_off:.3f}"
        f" (cost of counting: {(cpu_on / cpu_off - 1) * 100:.1f} %)"
    )
    if args.json:
        summary = {
            "workload": args.workload,
            "runs": runs,
            "cpu_us_per_request": cpu,
            "on": on,
            "off": off,
        }
        args.json.write_text(json.dumps(summary, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
