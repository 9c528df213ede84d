"""The README's command-line walk-through: its commands, run for real, and its output.

`python -m tests.client.walkthrough` starts a fresh server (port 8200 when free), runs every
`$ ` line of the README's walk-through block in a temporary HOME, and writes the real output
back into README.md. `test_cli_walkthrough.py` runs the same lines and compares.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

README = Path(__file__).resolve().parents[2] / "README.md"
START, END = "<!-- cli-walkthrough:start -->", "<!-- cli-walkthrough:end -->"
SDK_START, SDK_END = "<!-- sdk-example:start -->", "<!-- sdk-example:end -->"
OUTPUT = "Its output:"
# What differs from run to run: ids, times, the port, the token file's name.
VARIABLE = [
    (re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"), "<id>"),
    (re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z"), "<time>"),
    (re.compile(r"127\.0\.0\.1([:_])\d+"), r"127.0.0.1\1<port>"),
    (re.compile(r"token-127\.0\.0\.1_<port>-[0-9a-f]{8}\.json"), "token-<file>.json"),
]


@dataclass
class Step:
    command: str
    output: str


def steps(readme: str) -> list[Step]:
    """The `$ ` commands of the walk-through block and the output shown under each."""
    block = readme.split(START, 1)[1].split(END, 1)[0]
    lines = block.split("```", 2)[1].split("\n")[1:]
    found: list[Step] = []
    for line in lines:
        if line.startswith("$ "):
            found.append(Step(line[2:], ""))
        elif found:
            found[-1].output += line + "\n"
    for step in found:
        step.output = step.output.rstrip("\n") + "\n" if step.output.strip() else ""
    return found


def normalised(text: str) -> str:
    for pattern, replacement in VARIABLE:
        text = pattern.sub(replacement, text)
    # Table columns holding a variable value keep their width: compare without padding.
    lines = (re.sub(r" {2,}", "  ", re.sub("─+", "─", line)).rstrip() for line in text.splitlines())
    return "\n".join(lines)


def environment(home: Path) -> dict[str, str]:
    """What a user's shell has: PATH with the strongroom command, HOME; tables as on a tty."""
    bin_dir = str(Path(sys.executable).parent)
    return {
        "PATH": f"{bin_dir}:{os.environ.get('PATH', '/usr/bin:/bin')}",
        "HOME": str(home),
        "LANG": "C.UTF-8",
        "STRONGROOM_FORMAT": "table",
    }


def run(step: Step, cwd: Path, env: dict[str, str]) -> str:
    done = subprocess.run(
        ["bash", "-c", step.command],
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        timeout=60,
    )
    return done.stdout.decode()


def sdk_example(readme: str) -> tuple[str, str]:
    """The Python example of the README and the output shown for it."""
    block = readme.split(SDK_START, 1)[1].split(SDK_END, 1)[0]
    code = block.split("```python\n", 1)[1].split("```", 1)[0]
    output = block.split(OUTPUT, 1)[1].split("```\n", 1)[1].rsplit("```", 1)[0]
    return code, output


def run_python(code: str, cwd: Path, env: dict[str, str]) -> str:
    done = subprocess.run(
        [sys.executable, "-c", code],
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        timeout=60,
    )
    return done.stdout.decode()


def update_readme() -> None:
    from tests.support import ServerProcess

    readme = README.read_text()
    with tempfile.TemporaryDirectory() as scratch:
        base = Path(scratch)
        node = ServerProcess(base / "strongroom-data", {}, tls=True)
        if _port_free(8200):
            node.port = 8200
            node.env["STRONGROOM_PORT"] = "8200"
        node.start()
        try:
            env = environment(base / "home")
            shown = []
            for step in steps(readme):
                shown.append(f"$ {step.command}\n{run(step, base, env)}")
            code, _ = sdk_example(readme)
            printed = run_python(code, base, env)
        finally:
            node.stop()
    block = "```\n" + "\n".join(shown).rstrip("\n") + "\n```\n"
    head, rest = readme.split(START, 1)
    _, tail = rest.split(END, 1)
    readme = f"{head}{START}\n{block}{END}{tail}"
    head, rest = readme.split(SDK_START, 1)
    body, tail = rest.split(SDK_END, 1)
    body = body.split(OUTPUT, 1)[0] + OUTPUT + "\n\n```\n" + printed + "```\n"
    README.write_text(f"{head}{SDK_START}{body}{SDK_END}{tail}")


def _port_free(port: int) -> bool:
    import socket

    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


if __name__ == "__main__":
    update_readme()
