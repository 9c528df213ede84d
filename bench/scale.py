"""Does strongroom stay fast with 1,000,000 secrets? (PostgreSQL; run with the PROJECT venv)

For each count (default 10,000 then 1,000,000): a fresh PostgreSQL database; strongroom's own
bootstrap creates the schema, the root key and the keyring in-process; the secrets are then
bulk-loaded with COPY as real rows: AES-256-GCM ciphertexts made by the node's barrier under
that keyring, bound to their rows, with metadata. Then a real `strongroom server` (PostgreSQL +
Redis sessions, TLS, audit on) starts on that database, and the script measures random-read
throughput over all the secrets (wrk), the time of a listing page at the start, at 10 % and at
90 % of the keyspace (via the cursor), and the RSS of each worker.

    .venv/bin/python bench/scale.py                     # or: make bench BENCH_ARGS=--scale
    .venv/bin/python bench/scale.py --counts 10000,100000 --duration 5
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shlex
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import orjson

from harness import wrk
from harness.common import RequestSpec, secret_row, secret_value
from harness.machine import machine_info, worker_rss
from harness.procs import Processes, exit_on_signals
from harness.stores import (
    POSTGRES_SERVERS,
    TRANSPORTS,
    fresh_database,
    postgres_server,
    session_redis,
)
from harness.strongroom_node import API, StrongroomNode
from strongroom import __version__
from strongroom.app import create_app
from strongroom.config import Config
from strongroom.secrets.listing import encode_cursor
from strongroom.secrets.models import secret_metadata, secret_versions, secrets
from strongroom.secrets.validation import binding
from strongroom.services import Services

ROOT = Path(__file__).resolve().parent.parent
BATCH = 20_000


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--counts", default="10000,1000000", help="secret counts to measure")
    parser.add_argument("--duration", type=float, default=10, help="seconds of random reads")
    parser.add_argument("--rounds", type=int, default=3, help="rounds, counts alternated in each")
    parser.add_argument("--workers", type=int, default=2, help="strongroom worker processes")
    parser.add_argument("--threads", type=int, default=2, help="wrk threads")
    parser.add_argument("--connections", type=int, default=32, help="wrk connections")
    parser.add_argument("--transport", choices=TRANSPORTS, default="unix", help="to PG and Redis")
    parser.add_argument(
        "--postgres", choices=POSTGRES_SERVERS, default="own", help="own server or the shared one"
    )
    parser.add_argument("--value-size", type=int, default=1024, help="bytes per secret value")
    parser.add_argument("--page-size", type=int, default=100, help="listing page size")
    parser.add_argument("--repeat", type=int, default=20, help="timings per page (median)")
    parser.add_argument("--output", type=Path, default=ROOT / "bench" / "results" / "scale")
    parser.add_argument("--strongroom", type=Path, default=ROOT / ".venv" / "bin" / "strongroom")
    parser.add_argument("--keep", action="store_true", help="keep the work directory")
    args = parser.parse_args()
    smallest = min(int(c) for c in args.counts.split(","))
    if smallest < 10 * args.page_size:  # the page at 90 % must still be a full page
        parser.error(f"--counts must be at least 10 times --page-size ({10 * args.page_size})")
    return args


def path_of(n: int) -> str:
    return f"bench/team-{n % 64:02d}/app-{n:07d}/db-password"


# Loading ------------------------------------------------------------------------------------


async def load(config: Config, database_url: str, count: int, value_size: int) -> list[str]:
    """Bootstrap the node in-process, then COPY `count` secrets in; their ids."""
    app = create_app(config)
    async with app.router.lifespan_context(app):
        services: Services = app.state.holder.get()
        conn = await asyncpg.connect(database_url)
        try:
            ids = await _copy_secrets(conn, services, count, value_size)
            await conn.execute("ANALYZE")  # fresh statistics, as autovacuum would leave them
        finally:
            await conn.close()
    return ids


async def _copy_secrets(conn: Any, services: Services, count: int, value_size: int) -> list[str]:
    ids: list[str] = []
    at = time.time()
    for start in range(0, count, BATCH):
        rows: list[dict[str, Any]] = []
        versions: list[dict[str, Any]] = []
        metadata: list[dict[str, Any]] = []
        for n in range(start, min(start + BATCH, count)):
            secret_id = str(uuid.uuid4())
            meta = {"env": "prod" if n % 3 else "dev", "team": f"team-{n % 64:02d}"}
            rows.append(secret_row(secret_id, path_of(n), meta, at))
            plaintext = orjson.dumps(secret_value(value_size))
            versions.append(
                {
                    "secret_id": secret_id,
                    "version": 1,
                    "ciphertext": services.barrier.encrypt(plaintext, binding(secret_id, 1)),
                    "value_type": "string",
                    "created_at": at,
                    "created_by": "bench",
                    "destroyed_at": None,
                }
            )
            metadata += [{"secret_id": secret_id, "key": k, "value": v} for k, v in meta.items()]
            ids.append(secret_id)
        for table, records in (
            (secrets, rows),
            (secret_versions, versions),
            (secret_metadata, metadata),
        ):
            columns = [c.name for c in table.columns]
            await conn.copy_records_to_table(
                table.name, records=[tuple(r[c] for c in columns) for r in records], columns=columns
            )
        print(f"  loaded {min(start + BATCH, count):,} / {count:,}", end="\r", flush=True)
    print()
    return ids


async def database_mib(database_url: str) -> float:
    conn = await asyncpg.connect(database_url)
    try:
        size: int = await conn.fetchval("SELECT pg_database_size(current_database())")
    finally:
        await conn.close()
    return round(size / 2**20, 1)


# Measuring ----------------------------------------------------------------------------------


def page_times(node: StrongroomNode, count: int, size: int, repeat: int) -> dict[str, float]:
    """Median ms of the listing page starting at 0, 10 % and 90 % of the sorted paths."""
    paths = sorted(path_of(n) for n in range(count))
    timings: dict[str, float] = {}
    headers = {"Authorization": f"Bearer {node.token}"}
    with httpx.Client(base_url=node.base_url, verify=str(node.ca_file), headers=headers) as http:
        for label, skip in (("first", 0), ("at_10pct", count // 10), ("at_90pct", count * 9 // 10)):
            params: dict[str, Any] = {"limit": size}
            if skip:
                params["cursor"] = encode_cursor(paths[skip - 1])
            samples = []
            for attempt in range(repeat + 1):  # the first one warms the caches
                started = time.perf_counter()
                response = http.get(f"{API}/secrets", params=params)
                elapsed = (time.perf_counter() - started) * 1000
                response.raise_for_status()
                items = response.json()["items"]
                if len(items) != size or items[0]["path"] != paths[skip]:
                    raise SystemExit(f"listing page at {skip} is wrong: {response.text[:300]}")
                if attempt:
                    samples.append(elapsed)
            timings[label] = round(statistics.median(samples), 2)
    return timings


def random_reads(
    node: StrongroomNode, ids: list[str], args: argparse.Namespace, procs: Processes, work: Path
) -> wrk.WrkResult:
    auth = {"Authorization": f"Bearer {node.token}"}
    spec = RequestSpec("GET", tuple(f"{API}/secrets/{i}" for i in ids), auth)
    spec_file = spec.write(work / "read.spec")
    load = wrk.Load(args.threads, args.connections, args.duration)
    warmup = wrk.Load(args.threads, args.connections, 2)
    wrk.run(node.base_url, spec_file, warmup, procs, work / "warmup.log")
    result = wrk.run(node.base_url, spec_file, load, procs, work / "wrk.log")
    if result.errors or not result.requests:
        raise SystemExit(
            f"random reads over {len(ids):,} secrets had {result.non2xx} non-2xx "
            f"{result.statuses} and {result.socket_errors} socket errors"
        )
    return result


def start_nodes(
    count: int, args: argparse.Namespace, procs: Processes, work: Path, stack: ExitStack
) -> tuple[list[StrongroomNode], list[str], dict[str, Any]]:
    """A fresh database with `count` secrets and two nodes serving it (live until `stack`
    closes): one with the per-node secret cache (default size), one with it off, so that the
    database path is measured on its own too (a uniform random read over 1M secrets mostly
    misses a 10,000-entry cache; over 10,000 it always hits)."""
    server = stack.enter_context(postgres_server(args.postgres))
    database = stack.enter_context(fresh_database("scale", args.transport, server))
    redis_url, prefix = stack.enter_context(session_redis(procs, work / "redis", args.transport))
    data_dir = work / "data"
    config = Config(data_dir=data_dir, database_url=database, log_level="warning")
    started = time.perf_counter()
    ids = asyncio.run(load(config, database, count, args.value_size))
    loaded = time.perf_counter() - started
    env = {
        "STRONGROOM_DATABASE_URL": database,
        "STRONGROOM_REDIS_URL": redis_url,
        "STRONGROOM_REDIS_PREFIX": prefix,
    }
    label = "strongroom PostgreSQL+Redis"
    cached = StrongroomNode(
        f"scale-{count}", label, procs, data_dir, args.strongroom, workers=args.workers, env=env
    )
    cached.start()
    cached.prepare()
    uncached = StrongroomNode(
        f"scale-{count}-nocache",
        label,
        procs,
        data_dir,
        args.strongroom,
        workers=args.workers,
        env={**env, "STRONGROOM_SECRET_CACHE_SIZE": "0"},
    )
    uncached.start()
    uncached.token = cached.token  # one cluster: the session is in the shared Redis
    facts = {
        "secrets": count,
        "load_seconds": round(loaded, 1),
        "database_mib": asyncio.run(database_mib(database)),
    }
    return [cached, uncached], ids, facts


def _median_run(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """The run with the median throughput (its p50 and p99 come with it), and every run."""
    ordered = sorted(runs, key=lambda run: run["requests_per_s"])
    return {**ordered[len(ordered) // 2], "runs": runs}


def measure(
    counts: list[int], args: argparse.Namespace, procs: Processes, work: Path
) -> list[dict[str, Any]]:
    """Every node up at once, then rounds alternating between them (A, B, C, D, A ...): drift
    of the machine hits each alike. Medians over the rounds."""
    with ExitStack() as stack:
        stack.callback(procs.stop_all)
        runs: list[tuple[StrongroomNode, list[str], dict[str, Any]]] = []
        for count in counts:
            print(f"loading {count:,} secrets", flush=True)
            (work / str(count)).mkdir()
            nodes, ids, facts = start_nodes(count, args, procs, work / str(count), stack)
            for node, cache in zip(nodes, ("on", "off"), strict=True):
                runs.append((node, ids, {**facts, "cache": cache}))
        reads: dict[str, list[dict[str, Any]]] = {node.name: [] for node, _, _ in runs}
        pages: dict[str, list[dict[str, float]]] = {node.name: [] for node, _, _ in runs}
        for round_no in range(1, args.rounds + 1):
            for node, ids, facts in runs:
                count = facts["secrets"]
                result = random_reads(node, ids, args, procs, work / str(count))
                reads[node.name].append(result.as_dict())
                pages[node.name].append(page_times(node, count, args.page_size, args.repeat))
                print(
                    f"  round {round_no}, {count:,} secrets, cache {facts['cache']}: "
                    f"{result.requests_per_s:,.0f} req/s, pages {pages[node.name][-1]}",
                    flush=True,
                )
        return [
            {
                **facts,
                "random_read": _median_run(reads[node.name]),
                "list_page_ms": {
                    label: round(statistics.median(p[label] for p in pages[node.name]), 2)
                    for label in pages[node.name][0]
                },
                "rss": worker_rss(node.pid),
            }
            for node, _ids, facts in runs
        ]


def markdown(rows: list[dict[str, Any]], meta: dict[str, Any]) -> str:
    m, s = meta["machine"], meta["settings"]
    out = [
        "# strongroom at scale (PostgreSQL + Redis)",
        "",
        f"{m['date']} · {m['cpu_model']}, {m['cores']} cores, {m['ram_gib']} GiB, Linux "
        f"{m['kernel']} · strongroom {meta['strongroom']} · {s['workers']} workers · "
        f"wrk -t{s['threads']} -c{s['connections']} -d{s['duration']:g}s over all the secrets, "
        f"median of {s['rounds']} rounds alternating the counts · "
        f"list pages of {s['page_size']}, median of {s['repeat']} per round",
        f"Command: `{meta['command']}`",
        "",
        "| secrets | secret cache | loaded in s | DB MiB | read req/s | p50 ms | p99 ms "
        "| list page 1 ms | page at 10 % ms | page at 90 % ms | RSS per worker MiB |",
        "|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for row in rows:
        r, p = row["random_read"], row["list_page_ms"]
        workers = ", ".join(f"{w:.0f}" for w in row["rss"]["workers_mib"])
        out.append(
            f"| {row['secrets']:,} | {row['cache']} | {row['load_seconds']:,.0f} | "
            f"{row['database_mib']:,.0f} | "
            f"{r['requests_per_s']:,.0f} | "
            f"{r['p50_ms']:.1f} | {r['p99_ms']:.1f} | {p['first']:.1f} | {p['at_10pct']:.1f} | "
            f"{p['at_90pct']:.1f} | {workers} |"
        )
    counts = sorted({row["secrets"] for row in rows})
    if len(counts) > 1:
        out.append("")
        for cache in ("on", "off"):
            rate = {
                row["secrets"]: row["random_read"]["requests_per_s"]
                for row in rows
                if row["cache"] == cache
            }
            out.append(
                f"- secret cache {cache}: read req/s at {counts[-1]:,} ÷ at {counts[0]:,} = "
                f"{rate[counts[-1]] / rate[counts[0]]:.2f}x"
            )
    return "\n".join(out) + "\n"


def main() -> int:
    args = parse_args()
    if wrk.wrk_path() is None:
        sys.exit("wrk is not installed. Install it with:  apt-get install wrk")
    exit_on_signals()
    procs = Processes()
    workdir = Path(tempfile.mkdtemp(prefix="strongroom-scale-"))
    try:
        rows = measure([int(c) for c in args.counts.split(",")], args, procs, workdir)
    finally:
        procs.stop_all()
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)
    meta = {
        "machine": machine_info(),
        "strongroom": __version__,
        "command": shlex.join(
            [os.path.relpath(sys.executable, ROOT), "bench/scale.py", *sys.argv[1:]]
        ),
        "settings": {k: v for k, v in vars(args).items() if not isinstance(v, Path)},
    }
    text = markdown(rows, meta)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.with_suffix(".md").write_text(text)
    args.output.with_suffix(".json").write_text(json.dumps({**meta, "rows": rows}, indent=1))
    print("\n" + text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
