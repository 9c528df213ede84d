"""Command-line start-up: `strongroom kv get` vs `bao kv get`, each against its own server.

One secret on each (OpenBao: KV v2 at secret/, a token with the bench policy plus OpenBao's
default policy, which lets the CLI look the mount up as any user's token does; strongroom: the
bench user's token), read with `--field` / `-field` so that both print only the value. Two
warm-up runs each, then `runs` runs alternating the two commands; median wall time of each.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from harness.common import expect
from harness.openbao import OpenBao
from harness.strongroom_node import API, StrongroomNode

VALUE = "cli-bench-value"
WARMUP = 2


def _bao_setup(bao: OpenBao) -> tuple[list[str], dict[str, str]]:
    with httpx.Client(base_url=bao.base_url, verify=str(bao.ca_file), timeout=30) as http:
        root = {"X-Vault-Token": bao._root}
        write = {"data": {"password": VALUE}}
        expect(http.post("/v1/secret/data/bench/cli", json=write, headers=root), "bao put")
        body = {"policies": ["bench"], "ttl": "1h"}
        created = expect(http.post("/v1/auth/token/create", json=body, headers=root), "token")
        token: str = created.json()["auth"]["client_token"]
    env = {**_base_env(), "BAO_ADDR": bao.base_url, "BAO_CACERT": str(bao.ca_file)}
    env["BAO_TOKEN"] = token
    return [str(bao.binary), "kv", "get", "-field=password", "secret/bench/cli"], env


def _strongroom_setup(node: StrongroomNode, home: Path) -> tuple[list[str], dict[str, str]]:
    with httpx.Client(base_url=node.base_url, verify=str(node.ca_file), timeout=30) as http:
        auth = {"Authorization": f"Bearer {node.token}"}
        body = {"path": "bench/cli", "value": {"password": VALUE}}
        response = http.post(f"{API}/secrets/create", json=body, headers=auth)
        if response.status_code != 409:
            expect(response, "strongroom put")
    env = {
        **_base_env(),
        "HOME": str(home),
        "STRONGROOM_ADDR": node.base_url,
        "STRONGROOM_CACERT": str(node.ca_file),
        "STRONGROOM_TOKEN": node.token,
    }
    return [str(node.executable), "kv", "get", "--field", "password", "bench/cli"], env


def _base_env() -> dict[str, str]:
    keep = ("PATH", "LANG", "LC_ALL", "TMPDIR")
    return {k: v for k, v in os.environ.items() if k in keep}


def _timed(command: list[str], env: dict[str, str]) -> float:
    started = time.perf_counter()
    done = subprocess.run(command, env=env, capture_output=True, timeout=60)
    elapsed = time.perf_counter() - started
    if done.returncode != 0 or done.stdout.strip() != VALUE.encode():
        raise SystemExit(f"{command[0]} kv get failed ({done.returncode}): {done.stderr[-500:]!r}")
    return elapsed


def measure(bao: OpenBao, node: StrongroomNode, runs: int = 20) -> dict[str, Any]:
    """Median wall time (ms) of each command over `runs` alternated runs."""
    with tempfile.TemporaryDirectory() as home:
        bao_cmd, bao_env = _bao_setup(bao)
        sr_cmd, sr_env = _strongroom_setup(node, Path(home))
        for _ in range(WARMUP):
            _timed(bao_cmd, bao_env)
            _timed(sr_cmd, sr_env)
        times: dict[str, list[float]] = {"openbao": [], "strongroom": []}
        for _ in range(runs):
            times["openbao"].append(_timed(bao_cmd, bao_env) * 1000)
            times["strongroom"].append(_timed(sr_cmd, sr_env) * 1000)
    medians = {name: statistics.median(values) for name, values in times.items()}
    return {
        "runs": runs,
        "commands": {
            "openbao": "bao kv get -field=password secret/bench/cli",
            "strongroom": "strongroom kv get --field password bench/cli",
        },
        "median_ms": medians,
        "min_ms": {name: min(values) for name, values in times.items()},
        "ms": times,
        "ratio": medians["strongroom"] / medians["openbao"],
    }


def table(cli: dict[str, Any] | None) -> list[str]:
    if not cli:
        return []
    med, low = cli["median_ms"], cli["min_ms"]
    return [
        "",
        f"Command-line start-up: wall time of one read, median of {cli['runs']} runs each "
        "(alternated), each CLI against its own server (target: strongroom at most 1.5x OpenBao)",
        "",
        "| command | median ms | fastest ms | ÷ OpenBao |",
        "|---|---:|---:|---:|",
        f"| `{cli['commands']['openbao']}` | {med['openbao']:.1f} | {low['openbao']:.1f} | 1.00x |",
        f"| `{cli['commands']['strongroom']}` | {med['strongroom']:.1f} | "
        f"{low['strongroom']:.1f} | {cli['ratio']:.2f}x |",
    ]
