"""The root of the client commands: global options, lazy command groups, exit statuses.

Exit statuses: 0 success; 1 an error (one line on stderr: `strongroom: error: CODE: message`);
2 a usage error or something not found (`kv get` of a missing path prints nothing on stdout);
130 interrupted. Never a traceback, never a token or a password.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Sequence
from typing import Any

import click

from strongroom import __version__

#: name -> (module under strongroom_client.cli, attribute, one-line help). A new command group
#: (e.g. `operator`) is one module and one line here.
COMMANDS: dict[str, tuple[str, str, str]] = {
    "login": ("session", "login", "Log in and cache the token for this server."),
    "logout": ("session", "logout", "Revoke the cached session and delete its token file."),
    "whoami": ("session", "whoami", "Show the user behind the current token."),
    "status": ("session", "status", "Show the server's health, seal state and version."),
    "kv": ("kv", "kv", "Read and write secrets by path."),
    "user": ("users", "user", "Manage user accounts (admins)."),
    "role": ("roles", "role", "Manage roles and their path rules (admins)."),
    "session": ("sessions", "session", "List and revoke sessions."),
    "settings": ("settings", "settings", "Read and change runtime settings."),
    "audit": ("audit", "audit", "Verify an audit log file; read the audit records."),
    "modules": ("modules", "modules", "List, enable and disable modules."),
    "backup": ("backup", "backup", "Back up a server to an encrypted file; restore one."),
    "operator": ("operator", "operator", "Initialise, unseal, seal, rekey, rotate, rewrap."),
    "completion": ("completion", "completion", "Print the shell completion script."),
}
#: Node commands, handled by `strongroom.cli.node` (argparse): listed in the help only.
NODE_COMMANDS = {
    "server": "Run a server node (see `strongroom server --help`).",
    "migrate": "Apply database migrations and exit.",
    "settings-table": "Print the runtime settings (or --config options) as Markdown.",
}


class LazyGroup(click.Group):
    """Imports a command's module only when that command is run (or help lists it)."""

    def __init__(self, *args: Any, lazy: dict[str, tuple[str, str, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.lazy = lazy

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted([*self.lazy, *NODE_COMMANDS])

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        spec = self.lazy.get(cmd_name)
        if spec is None:
            if cmd_name in NODE_COMMANDS:
                return click.Command(cmd_name, help=NODE_COMMANDS[cmd_name], add_help_option=False)
            return None
        module = importlib.import_module(f"strongroom_client.cli.{spec[0]}")
        command: click.Command = getattr(module, spec[1])
        return command

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = [(name, spec[2]) for name, spec in sorted(self.lazy.items())]
        rows += sorted(NODE_COMMANDS.items())
        with formatter.section("Commands"):
            formatter.write_dl(rows)


@click.group(
    cls=LazyGroup,
    lazy=COMMANDS,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
)
@click.version_option(
    __version__, "--version", prog_name="strongroom", message="%(prog)s %(version)s"
)
@click.option(
    "--address",
    envvar="STRONGROOM_ADDR",
    metavar="URL",
    help="Server address [env STRONGROOM_ADDR; default: ./strongroom-data/address, "
    "else https://127.0.0.1:8200].",
)
@click.option(
    "--cacert",
    envvar="STRONGROOM_CACERT",
    metavar="FILE",
    help="CA certificate to trust (PEM) [env STRONGROOM_CACERT; default: "
    "./strongroom-data/ca.pem for a local server, else the system's CAs].",
)
@click.pass_context
def cli(ctx: click.Context, address: str | None, cacert: str | None) -> None:
    """strongroom: a self-hosted secrets manager.

    Client commands talk to a server over HTTPS; `strongroom login` caches a token per server
    in ~/.config/strongroom/ (STRONGROOM_TOKEN overrides it). Reads take --format
    table|json|yaml|value (table on a terminal, json otherwise)."""
    from strongroom_client.cli.context import Connection

    ctx.obj = Connection(address, cacert)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the client commands; returns the exit status."""
    from strongroom_client.cli.failures import run

    return run(cli, list(sys.argv[1:] if argv is None else argv))
