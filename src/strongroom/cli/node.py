"""The node commands of `strongroom` (argparse): `server`, `migrate`, `settings-table`,
and `audit verify` for callers of `main` from the time before the client commands."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pydantic import SecretStr

from strongroom import __version__
from strongroom.config import Config, ConfigError, load_config


def _add_config_options(parser: argparse.ArgumentParser) -> None:
    """One flag per configuration field, documented with its variable and default."""
    parser.add_argument("--config", type=Path, help="TOML file with any of the options below.")
    for name, info in Config.model_fields.items():
        flag = "--" + name.replace("_", "-")
        default = info.default
        if isinstance(default, SecretStr) or default is None:
            shown = "unset"
        else:
            shown = str(getattr(default, "value", default))
        help_text = f"{info.description} [env STRONGROOM_{name.upper()}; default: {shown}]"
        if info.annotation is bool:
            parser.add_argument(
                flag, dest=name, action=argparse.BooleanOptionalAction, default=None, help=help_text
            )
        else:
            parser.add_argument(flag, dest=name, default=None, metavar=name.upper(), help=help_text)


def _config_from(args: argparse.Namespace) -> Config:
    overrides: dict[str, Any] = {name: getattr(args, name, None) for name in Config.model_fields}
    return load_config(args.config, **overrides)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="strongroom",
        description="strongroom: a self-hosted secrets manager.",
    )
    parser.add_argument("--version", action="version", version=f"strongroom {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    server = commands.add_parser(
        "server",
        help="run a server node",
        description="Run a server node. With no options: the embedded default "
        "(SQLite, key file and self-signed TLS in ./strongroom-data, https://127.0.0.1:8200).",
    )
    _add_config_options(server)

    migrate = commands.add_parser("migrate", help="apply database migrations and exit")
    _add_config_options(migrate)

    audit = commands.add_parser("audit", help="audit log tools")
    audit_commands = audit.add_subparsers(dest="audit_command", metavar="AUDIT_COMMAND")
    verify = audit_commands.add_parser(
        "verify", help="verify the keyed hash chain of an audit log (and its rotated files)"
    )
    verify.add_argument(
        "files", type=Path, nargs="+", metavar="FILE", help="audit log files, or a glob"
    )
    for name in ("data_dir", "key_file", "database_url"):
        verify.add_argument(
            "--" + name.replace("_", "-"),
            dest=name,
            default=None,
            help=f"the node's {name.replace('_', ' ')} (env STRONGROOM_{name.upper()})",
        )
    verify.add_argument("--config", type=Path, default=None, help="the node's TOML file")

    tables = commands.add_parser(
        "settings-table", help="print the runtime settings (or --config options) as Markdown"
    )
    tables.add_argument(
        "--config", action="store_true", help="the node configuration options instead"
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        if args.command == "server":
            config = _config_from(args)
            # Every file the node writes is private whatever the umask it inherited, from the
            # first one on (prometheus_client writes its files when cli.server is imported).
            os.umask(0o077)
            # Before anything imports prometheus_client (cli.server does): the workers then
            # count into files in this directory, and a scrape adds them up.
            from strongroom.metrics.directory import prepare_multiprocess_dir

            prepare_multiprocess_dir(config.data_dir / "metrics")
            from strongroom.cli.server import serve

            return serve(config)
        if args.command == "migrate":
            from strongroom.cli.server import migrate

            return migrate(_config_from(args))
        if args.command == "audit" and args.audit_command == "verify":
            from strongroom.audit.verify import verify_command

            overrides = {
                name: getattr(args, name)
                for name in ("data_dir", "key_file", "database_url", "config")
                if getattr(args, name) is not None
            }
            return verify_command(args.files, overrides)
        if args.command == "settings-table":
            from strongroom.system.docs import config_table, settings_table

            sys.stdout.write(config_table() if args.config else settings_table())
            return 0
    except ConfigError as exc:
        sys.stderr.write(f"strongroom: error: {exc}\n")
        return 2
    except OSError as exc:
        where = f" ({exc.filename})" if exc.filename else ""
        sys.stderr.write(f"strongroom: error: {exc.strerror or exc}{where}\n")
        return 1
    except KeyboardInterrupt:
        return 130
    parser.print_help()
    return 2
