"""CPU time per request, per process, for one strongroom node and one workload.

Throughput on a 2-core machine is the CPU each request costs across strongroom, PostgreSQL,
Redis and the kernel; this script shows where it goes. It starts one real `strongroom server`
(SQLite, or PostgreSQL + Redis with `--postgres`), creates the bench role, user and secrets,
warms up, then runs `wrk` several times and prints, per run, req/s, p99 and the CPU seconds
each process name used per request (from /proc, user + system, processes alive at both ends).

    bench/.venv/bin/python bench/cpu_cost.py write --postgres --runs 3
    bench/.venv/bin/python bench/cpu_cost.py read_one
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import sys
import tempfile
from collections import Counter
from contextlib import ExitStack
from pathlib import Path

from harness import wrk
from harness.common import WORKLOADS
from harness.procs import Processes, exit_on_signals
from harness.seed import seed
from harness.stores import (
    POSTGRES_SERVERS,
    TRANSPORTS,
    fresh_database,
    postgres_server,
    session_redis,
)
from harness.strongroom_node import StrongroomNode

ROOT = Path(__file__).resolve().parent.parent
MIN_MICROSECONDS = 5  # process names below this per request are left out of the line


def cpu_ticks() -> Counter[str]:
    """User + system clock ticks of every live process, summed by process name."""
    ticks: Counter[str] = Counter()
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
        except OSError:
            continue
        name = stat[stat.index("(") + 1 : stat.rindex(")")]
        fields = stat[stat.rindex(")") + 2 :].split()
        ticks[name] += int(fields[11]) + int(fields[12])
    return ticks


def per_request(before: Counter[str], after: Counter[str], requests: int) -> dict[str, int]:
    """Microseconds of CPU per request by process name, largest first."""
    hz = os.sysconf("SC_CLK_TCK")
    costs = {
        name: (after[name] - before.get(name, 0)) / hz / requests * 1e6
        for name in after
        if after[name] > before.get(name, 0)
    }
    ranked = sorted(costs.items(), key=lambda item: -item[1])
    return {name: round(us) for name, us in ranked if us >= MIN_MICROSECONDS}


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("workload", choices=WORKLOADS)
    parser.add_argument("--postgres", action="store_true", help="PostgreSQL + Redis")
    parser.add_argument("--transport", choices=TRANSPORTS, default="unix")
    parser.add_argument("--postgres-server", choices=POSTGRES_SERVERS, default="own")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--duration", type=float, default=10)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--secrets", type=int, default=1_000)
    parser.add_argument(
        "--secret-cache-size",
        type=int,
        default=None,
        help="the node's STRONGROOM_SECRET_CACHE_SIZE (0: every read goes to the database)",
    )
    args = parser.parse_args(argv)
    exit_on_signals()
    procs = Processes()
    workdir = Path(tempfile.mkdtemp(prefix="strongroom-cpu-"))
    try:
        with ExitStack() as stack:
            env: dict[str, str] = {}
            if args.postgres:
                redis_url, prefix = stack.enter_context(
                    session_redis(procs, workdir / "redis", args.transport)
                )
                server = stack.enter_context(postgres_server(args.postgres_server))
                env = {
                    "STRONGROOM_DATABASE_URL": stack.enter_context(
                        fresh_database("cpu", args.transport, server)
                    ),
                    "STRONGROOM_REDIS_URL": redis_url,
                    "STRONGROOM_REDIS_PREFIX": prefix,
                }
            if args.secret_cache_size is not None:
                env["STRONGROOM_SECRET_CACHE_SIZE"] = str(args.secret_cache_size)
            stack.callback(procs.stop_all)
            node = StrongroomNode(
                "strongroom",
                "strongroom",
                procs,
                workdir / "data",
                ROOT / ".venv" / "bin" / "strongroom",
                workers=args.workers,
                env=env,
            )
            node.start()
            node.prepare()
            asyncio.run(seed(node, args.secrets, args.secrets))
            spec = node.spec(args.workload).write(workdir / "spec")
            wrk.run(node.base_url, spec, wrk.Load(2, 32, 2), procs, workdir / "warm.log")
            for run in range(args.runs):
                before = cpu_ticks()
                result = wrk.run(
                    node.base_url, spec, wrk.Load(2, 32, args.duration), procs, workdir / "wrk.log"
                )
                costs = per_request(before, cpu_ticks(), max(1, result.requests))
                print(
                    f"run {run + 1}: {result.requests_per_s:,.0f} req/s, p99 {result.p99_ms} ms,"
                    f" {result.non2xx} non-2xx; CPU µs per request: {costs}",
                    flush=True,
                )
    finally:
        procs.stop_all()
        shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
