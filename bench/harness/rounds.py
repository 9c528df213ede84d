"""The measurement loop: workloads in turn, systems alternated within each, for N rounds.

Every wrk run is checked: a single non-2xx response or socket error stops the benchmark with
the status codes seen, the request that failed and the end of the server's log.
"""

from __future__ import annotations

import subprocess
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import httpx

from harness import wrk
from harness.common import System
from harness.procs import Processes, log_tail
from harness.report import Results

# The background login clients of the contention measurement (`wrk -t1 -c4`).
LOGIN_THREADS, LOGIN_CONNECTIONS = 1, 4


class BenchFailure(Exception):
    """A workload answered errors: its numbers would be meaningless."""


@dataclass
class Plan:
    systems: Sequence[System]  # alternated in this order
    workloads: Sequence[str]
    load: wrk.Load
    rounds: int
    warmup: float
    contention: bool
    audit_off: System | None  # a strongroom node like systems' "strongroom-sqlite", audit off


class Runner:
    def __init__(self, plan: Plan, procs: Processes, workdir: Path, results: Results) -> None:
        self.plan = plan
        self.procs = procs
        self.workdir = workdir
        self.results = results
        self.specs: dict[tuple[str, str], Path] = {}
        self.count = 0
        (workdir / "specs").mkdir(exist_ok=True)
        (workdir / "wrk").mkdir(exist_ok=True)

    def spec_file(self, system: System, workload: str) -> Path:
        key = (system.name, workload)
        if key not in self.specs:
            spec = system.spec(workload)
            self.specs[key] = spec.write(self.workdir / "specs" / f"{system.name}-{workload}")
        return self.specs[key]

    def smoke(self, systems: Sequence[System], workloads: Sequence[str]) -> None:
        """One request of each workload on each system, checked, before any timing."""
        for system in systems:
            with httpx.Client(base_url=system.base_url, verify=str(system.ca_file)) as http:
                for workload in workloads:
                    spec = system.spec(workload)
                    response = http.request(
                        spec.method, spec.paths[0], headers=spec.headers, content=spec.body
                    )
                    if not response.is_success:
                        raise BenchFailure(
                            f"{workload} on {system.name}: {spec.method} {spec.paths[0]} answered "
                            f"{response.status_code} {response.text[:300]}"
                        )

    def once(
        self, system: System, workload: str, load: wrk.Load, *, warmup: bool = False
    ) -> wrk.WrkResult:
        self.count += 1
        log = self.workdir / "wrk" / f"{self.count:04d}-{system.name}-{workload}.log"
        result = wrk.run(system.base_url, self.spec_file(system, workload), load, self.procs, log)
        # A short warm-up may end before the first slow login answers; a measured run may not.
        self.check(system, workload, result, allow_none=warmup)
        return result

    def check(
        self, system: System, workload: str, result: wrk.WrkResult, *, allow_none: bool = False
    ) -> None:
        if (result.requests == 0 and not allow_none) or result.errors:
            spec = system.spec(workload)
            raise BenchFailure(
                f"{workload} on {system.name}: {result.non2xx} non-2xx responses "
                f"{result.statuses} and {result.socket_errors} socket errors out of "
                f"{result.requests} requests ({spec.method} {spec.paths[0]}).\n"
                f"End of {system.log_path}:\n{log_tail(system.log_path)}"
            )

    def warm_up(self) -> None:
        if self.plan.warmup <= 0:
            return
        load = wrk.Load(self.plan.load.threads, self.plan.load.connections, self.plan.warmup)
        extra = [self.plan.audit_off] if self.plan.audit_off else []
        for workload in self.plan.workloads:
            for system in [*self.plan.systems, *extra]:
                if system in extra and workload != "read_one":
                    continue
                self.once(system, workload, load, warmup=True)

    def run(self) -> None:
        for number in range(1, self.plan.rounds + 1):
            started = time.monotonic()
            for workload in self.plan.workloads:
                for system in self.plan.systems:
                    result = self.once(system, workload, self.plan.load)
                    self.results.add(workload, system.name, result)
                    _progress(number, workload, system.name, result)
                    if workload == "read_one" and system.name == "strongroom-sqlite":
                        self._audit_off(number)
            if self.plan.contention and "read_one" in self.plan.workloads:
                for system in self.plan.systems:
                    self._contended_read(number, system)
            print(f"round {number} done in {time.monotonic() - started:.0f} s", flush=True)

    def _audit_off(self, number: int) -> None:
        # Right after the audited node's run, so the two see the same machine state.
        if self.plan.audit_off is None:
            return
        result = self.once(self.plan.audit_off, "read_one", self.plan.load)
        self.results.audit_off.append(result)
        _progress(number, "read_one", self.plan.audit_off.name, result)

    def _contended_read(self, number: int, system: System) -> None:
        """read_one alone, then at once read_one while a second wrk (-t1 -c4) logs in for the
        whole run, and a bit more. The pair runs back to back: on a shared machine, a baseline
        taken minutes earlier (the round's read_one) drifts as much as the effect measured."""
        load = self.plan.load
        alone = self.once(system, "read_one", load)
        _progress(number, "read_one (pair)", system.name, alone)
        logins = wrk.Load(LOGIN_THREADS, LOGIN_CONNECTIONS, load.duration + 2)
        self.count += 1
        login_log = self.workdir / "wrk" / f"{self.count:04d}-{system.name}-login-background.log"
        argv = wrk.command(system.base_url, self.spec_file(system, "login"), logins)
        background = self.procs.start(argv, log_path=login_log)
        try:
            time.sleep(1)  # the logins are under way before the reads start
            read = self.once(system, "read_one", load)
            background.wait(timeout=load.duration + 120)
        except subprocess.TimeoutExpired as exc:
            raise BenchFailure(f"the background login wrk on {system.name} hung") from exc
        finally:
            self.procs.stop(background)
        login = wrk.parse(login_log)
        self.check(system, "login", login)
        parts = self.results.contention.setdefault(
            system.name, {"alone": [], "with_logins": [], "logins": []}
        )
        parts["alone"].append(alone)
        parts["with_logins"].append(read)
        parts["logins"].append(login)
        _progress(number, "read_one+logins", system.name, read)


def _progress(number: int, workload: str, system: str, result: wrk.WrkResult) -> None:
    print(
        f"  round {number} {workload:<16} {system:<28} {result.requests_per_s:>9,.0f} req/s  "
        f"p50 {result.p50_ms:7.2f} ms  p99 {result.p99_ms:8.2f} ms",
        flush=True,
    )
