"""Every process the benchmark starts lives in its own process group and dies with us.

`Processes.start` puts the child in a new session (so its workers share its process group);
`stop_all` runs at exit, on failure and on Ctrl-C / SIGTERM (turned into `SystemExit` so that
`finally` blocks run), and signals only the groups it created.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import FrameType


class Processes:
    def __init__(self) -> None:
        self._running: list[subprocess.Popen[bytes]] = []

    def start(
        self,
        argv: Sequence[str],
        *,
        log_path: Path,
        env: Mapping[str, str] | None = None,
        cwd: Path | None = None,
    ) -> subprocess.Popen[bytes]:
        with log_path.open("ab") as log:
            process = subprocess.Popen(
                list(argv),
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env=dict(env) if env is not None else None,
                cwd=cwd,
                start_new_session=True,
            )
        self._running.append(process)
        return process

    def stop(self, process: subprocess.Popen[bytes], timeout: float = 15) -> None:
        """SIGTERM to the process group, SIGKILL if it lingers."""
        if process in self._running:
            self._running.remove(process)
        if process.poll() is None:
            _signal_group(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                _signal_group(process.pid, signal.SIGKILL)
                process.wait(timeout=5)
        # Workers of a supervisor that died first may still hold the group.
        _signal_group(process.pid, signal.SIGKILL)

    def stop_all(self) -> None:
        for process in reversed(list(self._running)):
            self.stop(process)


def _signal_group(pgid: int, signum: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signum)


def exit_on_signals() -> None:
    """SIGINT, SIGTERM and SIGHUP end the run through the cleanup path (`finally` blocks).

    SIGINT is set explicitly: a shell starting us in the background leaves it ignored.
    """

    def _exit(signum: int, _frame: FrameType | None) -> None:
        raise SystemExit(f"stopped by signal {signal.Signals(signum).name}; cleaning up")

    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, _exit)


def wait_until(check: object, what: str, timeout: float = 60, interval: float = 0.2) -> None:
    """Poll `check()` (a callable returning truthy when ready) until it holds or time runs out."""
    assert callable(check)
    deadline = time.monotonic() + timeout
    last_error: Exception | None = None
    while time.monotonic() < deadline:
        try:
            if check():
                return
        except Exception as exc:  # a server that is still starting refuses or resets
            last_error = exc
        time.sleep(interval)
    raise RuntimeError(f"timed out waiting for {what} (last error: {last_error!r})")


def log_tail(path: Path, lines: int = 30) -> str:
    """The end of a server log, minus the line where strongroom announces the admin password."""
    if not path.exists():
        return "(no log)"
    kept = [
        line
        for line in path.read_text(errors="replace").splitlines()
        if not line.strip().startswith("password:")
    ]
    return "\n".join(kept[-lines:])
