"""strongroom vs OpenBao on this machine, side by side: `make bench` (see bench/README.md).

Starts OpenBao (raft, TLS, file audit) and strongroom in two configurations (embedded SQLite;
PostgreSQL + Redis), both with audit on and TLS, loads the same data into each, and drives the
same five workloads with wrk, alternating the systems, for several rounds. Writes
bench/results/latest.{md,json,png}. `--scale` runs bench/scale.py instead (1M secrets).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shlex
import shutil
import sys
import tempfile
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from harness import wrk
from harness.common import WORKLOADS, System
from harness.machine import machine_info, worker_rss
from harness.openbao import OpenBao, bao_binary, bao_version
from harness.procs import Processes, exit_on_signals
from harness.report import Results, write_all
from harness.rounds import BenchFailure, Plan, Runner
from harness.seed import seed
from harness.stores import (
    POSTGRES_SERVERS,
    TRANSPORTS,
    fresh_database,
    postgres_server,
    session_redis,
)
from harness.strongroom_node import StrongroomNode, strongroom_version
from harness.tls import make_tls

ROOT = Path(__file__).resolve().parent.parent
PROJECT_BIN = ROOT / ".venv" / "bin"
RESULTS = ROOT / "bench" / "results" / "latest"


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="make bench BENCH_ARGS=...", description=__doc__.split("\n\n")[0]
    )
    add = parser.add_argument
    add("--rounds", type=int, default=3, help="rounds, systems alternated in each (default 3)")
    add("--duration", type=float, default=10, help="seconds per wrk run (default 10)")
    add("--warmup", type=float, default=2, help="seconds of warm-up per workload (0: none)")
    add("--workers", type=int, default=2, help="strongroom worker processes (default 2)")
    add("--threads", type=int, default=2, help="wrk threads (default 2)")
    add("--connections", type=int, default=32, help="wrk connections (default 32)")
    add("--secrets", type=int, default=10_000, help="secrets for random reads (default 10000)")
    add("--write-secrets", type=int, default=1_000, help="secrets to overwrite (default 1000)")
    add("--workloads", default=",".join(WORKLOADS), help="comma-separated subset of workloads")
    add("--no-postgres", action="store_true", help="skip strongroom on PostgreSQL + Redis")
    add(
        "--transport",
        choices=TRANSPORTS,
        default="unix",
        help="how the PostgreSQL + Redis node reaches them: Unix sockets (default) or TCP",
    )
    add(
        "--postgres",
        choices=POSTGRES_SERVERS,
        default="own",
        help="the PostgreSQL server: one of the benchmark's own with stock settings (default)"
        " or the machine's shared one at 127.0.0.1:5432",
    )
    add("--no-contention", action="store_true", help="skip read p99 under concurrent logins")
    add("--no-audit-off", action="store_true", help="skip the audit-off strongroom run")
    add("--no-rss", action="store_true", help="skip the memory measurement")
    add("--output", type=Path, default=RESULTS, help="output stem: .md, .json and .png")
    add("--strongroom", type=Path, default=PROJECT_BIN / "strongroom", help="strongroom command")
    add("--keep", action="store_true", help="keep the work directory (logs, data) afterwards")
    add("--scale", action="store_true", help="run bench/scale.py (1M secrets) instead")
    add("--cli-runs", type=int, default=20, help="runs of each CLI's `kv get` (0: skip)")
    add(
        "--only-cli",
        action="store_true",
        help="only the command-line row: OpenBao and strongroom SQLite, no wrk workloads",
    )
    args = parser.parse_args(argv)
    if args.only_cli:
        args.no_postgres = args.no_audit_off = args.no_contention = args.no_rss = True
        args.secrets = args.write_secrets = 0
        if args.output == RESULTS:
            args.output = RESULTS.with_name("cli")
    unknown = set(args.workloads.split(",")) - set(WORKLOADS)
    if unknown:
        parser.error(f"unknown workloads {sorted(unknown)}; choose from {', '.join(WORKLOADS)}")
    return args


def preflight(args: argparse.Namespace) -> None:
    if wrk.wrk_path() is None:
        sys.exit("wrk is not installed. Install it with:  apt-get install wrk")
    if not args.strongroom.exists():
        sys.exit(f"{args.strongroom} not found: install the project first (make bench does)")


def start_systems(
    args: argparse.Namespace, procs: Processes, workdir: Path, stack: ExitStack
) -> tuple[list[System], StrongroomNode | None]:
    """OpenBao and the strongroom nodes, started and set up; the audit-off node apart."""
    tls = make_tls(workdir / "openbao" / "tls")
    bao = OpenBao(procs, workdir / "openbao", bao_binary(Path(sys.executable)), tls)
    bao.start()
    bao.prepare()

    def node(name: str, label: str, env: dict[str, str] | None = None) -> StrongroomNode:
        directory = workdir / name.removeprefix("strongroom-")
        return StrongroomNode(
            name, label, procs, directory, args.strongroom, workers=args.workers, env=env
        )

    nodes = [node("strongroom-sqlite", "strongroom SQLite")]
    if not args.no_postgres:
        server = stack.enter_context(postgres_server(args.postgres))
        database = stack.enter_context(fresh_database(transport=args.transport, server=server))
        redis_url, prefix = stack.enter_context(
            session_redis(procs, workdir / "redis", args.transport)
        )
        env = {
            "STRONGROOM_DATABASE_URL": database,
            "STRONGROOM_REDIS_URL": redis_url,
            "STRONGROOM_REDIS_PREFIX": prefix,
        }
        nodes.append(node("strongroom-pg-redis", "strongroom PostgreSQL+Redis", env))
    audit_off = None
    if not args.no_audit_off:
        audit_off = node(
            "strongroom-sqlite-noaudit",
            "strongroom SQLite, audit off",
            {"STRONGROOM_AUDIT_DISABLE": "true"},
        )
    # Stop the servers before the database and Redis prefix go (ExitStack runs callbacks LIFO).
    stack.callback(procs.stop_all)
    for server in [*nodes, *([audit_off] if audit_off else [])]:
        server.start()
        server.prepare()
        print(f"started {server.name} at {server.base_url} ({args.workers} workers)", flush=True)
    return [bao, *nodes], audit_off


def load_data(args: argparse.Namespace, systems: list[System], results: Results) -> None:
    for system in systems:
        seconds = asyncio.run(seed(system, args.secrets, args.write_secrets))
        results.seed_seconds[system.name] = round(seconds, 1)
        total = args.secrets + args.write_secrets + 1
        print(f"seeded {system.name}: {total:,} secrets in {seconds:.1f} s", flush=True)


def metadata(args: argparse.Namespace, argv: list[str]) -> dict[str, Any]:
    return {
        "machine": machine_info(),
        "versions": {
            "openbao": bao_version(bao_binary(Path(sys.executable))),
            "strongroom": strongroom_version(args.strongroom),
        },
        "command": shlex.join([os.path.relpath(sys.executable, ROOT), "bench/run.py", *argv]),
        "settings": {
            "rounds": args.rounds,
            "duration": args.duration,
            "warmup": args.warmup,
            "workers": args.workers,
            "threads": args.threads,
            "connections": args.connections,
            "secrets": args.secrets,
            "write_secrets": args.write_secrets,
            "transport": args.transport if not args.no_postgres else None,
            "postgres": args.postgres if not args.no_postgres else None,
            "workloads": args.workloads.split(","),
        },
    }


def benchmark(args: argparse.Namespace, procs: Processes, workdir: Path) -> Results:
    with ExitStack() as stack:
        systems, audit_off = start_systems(args, procs, workdir, stack)
        results = Results(systems={s.name: s.label for s in systems})
        load_data(args, systems, results)
        if audit_off is not None:
            asyncio.run(seed(audit_off, 0, 0))
            results.systems[audit_off.name] = audit_off.label
        workloads = args.workloads.split(",")
        plan = Plan(
            systems=systems,
            workloads=workloads,
            load=wrk.Load(args.threads, args.connections, args.duration),
            rounds=args.rounds,
            warmup=args.warmup,
            contention=not args.no_contention,
            audit_off=audit_off if "read_one" in workloads else None,
        )
        everything: list[System] = [*systems, *([audit_off] if audit_off else [])]
        if args.cli_runs:
            from harness.cli_speed import measure

            results.cli = measure(systems[0], systems[1], args.cli_runs)  # type: ignore[arg-type]
            print(f"command line: {results.cli['median_ms']}", flush=True)
        if args.only_cli:
            return results
        runner = Runner(plan, procs, workdir, results)
        runner.smoke(systems, workloads)
        runner.smoke(everything[len(systems) :], ["read_one"])
        runner.warm_up()
        runner.run()
        if not args.no_rss:
            results.rss = {s.name: worker_rss(s.pid) for s in everything}
        results.audit_lines = {s.name: s.audit_lines() for s in everything}
        _check_audit(results)
        return results


def _check_audit(results: Results) -> None:
    """Both systems really audited what they served (a run without audit would flatter them)."""
    for name, lines in results.audit_lines.items():
        if lines is not None and lines < 100:
            raise BenchFailure(f"{name} wrote only {lines} audit records: is its audit on?")


def main(argv: list[str]) -> int:
    if "--scale" in argv:
        rest = [a for a in argv if a != "--scale"]
        scale = ROOT / "bench" / "scale.py"
        os.execv(PROJECT_BIN / "python", [str(PROJECT_BIN / "python"), str(scale), *rest])
    args = parse_args(argv)
    preflight(args)
    exit_on_signals()
    procs = Processes()
    workdir = Path(tempfile.mkdtemp(prefix="strongroom-bench-"))
    print(f"work directory: {workdir}", flush=True)
    try:
        results = benchmark(args, procs, workdir)
        text = write_all(results, metadata(args, argv), args.output)
    except BenchFailure as exc:
        print(f"\nBENCHMARK FAILED: {exc}", file=sys.stderr)
        return 1
    finally:
        procs.stop_all()
        if args.keep:
            print(f"kept {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    print("\n" + text)
    print(f"wrote {args.output}.md, .json and .png")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
