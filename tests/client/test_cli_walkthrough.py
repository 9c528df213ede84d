"""Acceptance 1 of issue 19: the README's command-line walk-through, run against a real TLS
server in a temporary HOME, each command's output and exit status compared with the README
(ids, times and the port aside); the token file is 0600 and gone after logout. The README's
Python example runs after it and prints what the README shows."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from tests.client.walkthrough import (
    README,
    environment,
    normalised,
    run,
    run_python,
    sdk_example,
    steps,
)
from tests.support import ServerProcess


@pytest.mark.slow
def test_readme_walkthrough(tmp_path: Path) -> None:
    node = ServerProcess(tmp_path / "strongroom-data", {}, tls=True).start()
    try:
        home = tmp_path / "home"
        env = environment(home)
        cache = home / ".config" / "strongroom"
        walk = steps(README.read_text())
        assert len(walk) >= 20
        for step in walk:
            got = run(step, tmp_path, env)
            assert normalised(got) == normalised(step.output), step.command
            if "login --username alice" in step.command:
                (token_file,) = cache.glob("token-*.json")
                assert stat.S_IMODE(token_file.stat().st_mode) == 0o600
                assert stat.S_IMODE(cache.stat().st_mode) == 0o700
                assert "sra_" not in got and "srr_" not in got
            if step.command == "strongroom logout":
                assert list(cache.glob("token-*.json")) == []
        # Then the README's Python example, as alice, beside the same data directory.
        code, output = sdk_example(README.read_text())
        assert normalised(run_python(code, tmp_path, env)) == normalised(output)
    finally:
        node.stop()
