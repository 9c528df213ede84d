"""Medians over rounds, and the three outputs: a Markdown table, a JSON file, a PNG chart."""

from __future__ import annotations

import json
import statistics
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.cli_speed import table as cli_table
from harness.common import WORKLOAD_TITLES
from harness.wrk import WrkResult

BASELINE = "openbao"


@dataclass
class Results:
    """Every wrk run of a benchmark, by (workload, system), plus the extra measurements."""

    systems: dict[str, str]  # name -> label, in table order
    runs: dict[tuple[str, str], list[WrkResult]] = field(default_factory=dict)
    # system -> {"alone" | "with_logins" | "logins": runs}
    contention: dict[str, dict[str, list[WrkResult]]] = field(default_factory=dict)
    audit_off: list[WrkResult] = field(default_factory=list)
    rss: dict[str, dict[str, Any]] = field(default_factory=dict)
    audit_lines: dict[str, int | None] = field(default_factory=dict)
    seed_seconds: dict[str, float] = field(default_factory=dict)
    cli: dict[str, Any] | None = None  # harness.cli_speed.measure

    def add(self, workload: str, system: str, result: WrkResult) -> None:
        self.runs.setdefault((workload, system), []).append(result)


def median(runs: Sequence[WrkResult]) -> dict[str, float]:
    keys = ("requests_per_s", "p50_ms", "p90_ms", "p99_ms")
    return {key: statistics.median(getattr(r, key) for r in runs) for key in keys}


def _ratio(value: float, base: float) -> str:
    return f"{value / base:.2f}x" if base else "—"


def _num(value: float) -> str:
    return f"{value:,.0f}" if value >= 100 else f"{value:,.1f}" if value >= 10 else f"{value:.2f}"


def _transport(transport: str | None, postgres: str | None) -> str:
    server = {
        "own": " PostgreSQL: the benchmark's own server, stock settings (autovacuum on) but"
        " shared_buffers at a quarter of the memory.",
        "shared": " PostgreSQL: the machine's shared server.",
    }.get(postgres or "", "")
    if transport == "unix":
        return " PostgreSQL and Redis over Unix sockets." + server
    if transport == "tcp":
        return " PostgreSQL and Redis over TCP (loopback)." + server
    return ""


def markdown(results: Results, meta: dict[str, Any]) -> str:
    m, s = meta["machine"], meta["settings"]
    out = [
        "# strongroom vs OpenBao",
        "",
        f"{m['date']} · {m['cpu_model']}, {m['cores']} cores, {m['ram_gib']} GiB, "
        f"Linux {m['kernel']}, Python {m['python']} · {meta['versions']['openbao']}, "
        f"{meta['versions']['strongroom']}",
        "",
        f"wrk -t{s['threads']} -c{s['connections']} -d{s['duration']:g}s, median of "
        f"{s['rounds']} rounds (systems alternated), strongroom workers: {s['workers']}, "
        f"{s['secrets']:,} secrets for random reads, writes over {s['write_secrets']:,}."
        + _transport(s.get("transport"), s.get("postgres")),
        f"Command: `{meta['command']}`",
        "",
        "| workload | system | req/s | p50 ms | p99 ms | req/s ÷ OpenBao | p99 ÷ OpenBao |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    for workload, title in WORKLOAD_TITLES.items():
        base = results.runs.get((workload, BASELINE))
        base_m = median(base) if base else None
        for system, label in results.systems.items():
            runs = results.runs.get((workload, system))
            if not runs:
                continue
            med = median(runs)
            rps_ratio = _ratio(med["requests_per_s"], base_m["requests_per_s"]) if base_m else "—"
            p99_ratio = _ratio(med["p99_ms"], base_m["p99_ms"]) if base_m else "—"
            out.append(
                f"| {title} | {label} | {_num(med['requests_per_s'])} | {_num(med['p50_ms'])} | "
                f"{_num(med['p99_ms'])} | {rps_ratio} | {p99_ratio} |"
            )
    out += _vault_table(results)
    out += _contention_table(results) + _audit_table(results) + _rss_table(results)
    out += cli_table(results.cli)
    return "\n".join(out) + "\n"


def _vault_table(results: Results) -> list[str]:
    """The Vault-compatible API against the native one: the same secret read both ways."""
    rows = []
    for system, label in results.systems.items():
        native, vault = (
            results.runs.get(("read_one", system)),
            results.runs.get(("vault_read", system)),
        )
        if system == BASELINE or not native or not vault:
            continue
        native_rps, vault_rps = median(native)["requests_per_s"], median(vault)["requests_per_s"]
        rows.append(
            f"| {label} | {_num(native_rps)} | {_num(vault_rps)} | "
            f"{_ratio(vault_rps, native_rps)} |"
        )
    if not rows:
        return []
    return [
        "",
        "Vault-compatible API: the same 1 KiB secret read natively (`GET /api/v1/secrets/{id}`) "
        "and as KV v2 (`GET /v1/secret/data/bench/one`, X-Vault-Token).",
        "",
        "| system | native read req/s | /v1/ read req/s | /v1/ ÷ native |",
        "|---|---:|---:|---:|",
        *rows,
    ]


def _contention_table(results: Results) -> list[str]:
    if not results.contention:
        return []
    out = [
        "",
        "## Read one secret while 4 clients log in continuously",
        "",
        "| system | read p99 ms alone | with logins | ratio | read req/s alone | with logins "
        "| logins/s meanwhile |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for system, parts in results.contention.items():
        alone, loaded, logins = (median(parts[k]) for k in ("alone", "with_logins", "logins"))
        out.append(
            f"| {results.systems[system]} | {_num(alone['p99_ms'])} | {_num(loaded['p99_ms'])} | "
            f"{_ratio(loaded['p99_ms'], alone['p99_ms'])} | {_num(alone['requests_per_s'])} | "
            f"{_num(loaded['requests_per_s'])} | {_num(logins['requests_per_s'])} |"
        )
    return out


def _audit_table(results: Results) -> list[str]:
    audit_on = results.runs.get(("read_one", "strongroom-sqlite"))
    if not results.audit_off or not audit_on:
        return []
    on, off = median(audit_on), median(results.audit_off)
    return [
        "",
        "## What the audit file sink costs (strongroom SQLite, read one secret)",
        "",
        "| audit | req/s | p50 ms | p99 ms |",
        "|---|---:|---:|---:|",
        f"| file sink on (default) | {_num(on['requests_per_s'])} | {_num(on['p50_ms'])} | "
        f"{_num(on['p99_ms'])} |",
        f"| off (`STRONGROOM_AUDIT_DISABLE=true`) | {_num(off['requests_per_s'])} | "
        f"{_num(off['p50_ms'])} | {_num(off['p99_ms'])} |",
        f"| on ÷ off | {_ratio(on['requests_per_s'], off['requests_per_s'])} | | "
        f"{_ratio(on['p99_ms'], off['p99_ms'])} |",
    ]


def _rss_table(results: Results) -> list[str]:
    if not results.rss:
        return []
    out = [
        "",
        "## Resident memory after the runs",
        "",
        "| system | per worker MiB | supervisor MiB | password hashing MiB | total MiB |",
        "|---|---|---:|---|---:|",
    ]
    for system, rss in results.rss.items():
        workers = ", ".join(f"{w:.0f}" for w in rss["workers_mib"])
        supervisor = "—" if rss["supervisor_mib"] is None else f"{rss['supervisor_mib']:.0f}"
        hashers = ", ".join(f"{h:.0f}" for h in rss.get("hashers_mib", [])) or "—"
        out.append(
            f"| {results.systems.get(system, system)} | {workers} | {supervisor} | {hashers} | "
            f"{rss['total_mib']:.0f} |"
        )
    return out


def as_json(results: Results, meta: dict[str, Any]) -> dict[str, Any]:
    workloads: dict[str, Any] = {}
    for (workload, system), runs in results.runs.items():
        workloads.setdefault(workload, {})[system] = {
            "median": median(runs),
            "runs": [r.as_dict() for r in runs],
        }
    return {
        **meta,
        "systems": results.systems,
        "workloads": workloads,
        "login_contention": {
            system: {
                k: {"median": median(v), "runs": [r.as_dict() for r in v]} for k, v in p.items()
            }
            for system, p in results.contention.items()
        },
        "audit_off_read_one": {
            "median": median(results.audit_off) if results.audit_off else None,
            "runs": [r.as_dict() for r in results.audit_off],
        },
        "rss": results.rss,
        "audit_log_lines": results.audit_lines,
        "seed_seconds": results.seed_seconds,
        "cli": results.cli,
    }


def write_all(results: Results, meta: dict[str, Any], stem: Path) -> str:
    """Writes <stem>.md, .json and .png; returns the Markdown."""
    stem.parent.mkdir(parents=True, exist_ok=True)
    text = markdown(results, meta)
    stem.with_suffix(".md").write_text(text)
    stem.with_suffix(".json").write_text(json.dumps(as_json(results, meta), indent=1) + "\n")
    if results.runs:
        chart(results, stem.with_suffix(".png"))
    return text


def chart(results: Results, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    workloads = [w for w in WORKLOAD_TITLES if any((w, s) in results.runs for s in results.systems)]
    systems = [s for s in results.systems if any((w, s) in results.runs for w in workloads)]
    fig, axes = plt.subplots(2, 1, figsize=(10, 7.5), dpi=80)
    width = 0.8 / max(len(systems), 1)
    for axis, key, title in (
        (axes[0], "requests_per_s", "requests/s (higher is better)"),
        (axes[1], "p99_ms", "p99 latency, ms (lower is better)"),
    ):
        for i, system in enumerate(systems):
            values = [
                median(results.runs[(w, system)])[key] if (w, system) in results.runs else 0
                for w in workloads
            ]
            xs = [x + (i - (len(systems) - 1) / 2) * width for x in range(len(workloads))]
            bars = axis.bar(xs, values, width, label=results.systems[system])
            axis.bar_label(bars, labels=[_num(v) for v in values], fontsize=7, padding=1)
        axis.set_yscale("log")
        axis.set_title(title, fontsize=10)
        axis.set_xticks(range(len(workloads)), [WORKLOAD_TITLES[w] for w in workloads])
        axis.tick_params(axis="x", labelsize=8)
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="upper center", ncol=len(systems), fontsize=8, frameon=False)
    fig.tight_layout(rect=(0, 0, 1, 0.96))
    fig.savefig(path)
    plt.close(fig)
