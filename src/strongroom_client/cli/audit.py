"""`strongroom audit ...`: verify a log file (offline), read the database sink's records."""

from __future__ import annotations

from pathlib import Path

import click

from strongroom_client.cli.context import Connection
from strongroom_client.cli.output import emit, format_option

pass_connection = click.make_pass_decorator(Connection)


@click.group()
def audit() -> None:
    """Verify an audit log file; read the audit records."""


@audit.command("verify")
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--data-dir", help="The node's data directory [env STRONGROOM_DATA_DIR].")
@click.option("--key-file", help="The node's root key file [env STRONGROOM_KEY_FILE].")
@click.option("--database-url", help="The node's database [env STRONGROOM_DATABASE_URL].")
@click.option("--config", "config_file", type=click.Path(path_type=Path), help="Node TOML file.")
def verify(
    files: tuple[Path, ...],
    data_dir: str | None,
    key_file: str | None,
    database_url: str | None,
    config_file: Path | None,
) -> int:
    """Verify the keyed hash chain of an audit log and its rotated files (several FILEs or a
    glob): `OK: N records`, or the first bad record (exit 1). Runs beside the node: the key
    comes from its keyring (data directory, seal) and the database's checkpoint shows a cut
    tail."""
    from strongroom.audit.verify import verify_command

    overrides: dict[str, object] = {
        name: value
        for name, value in (
            ("data_dir", data_dir),
            ("key_file", key_file),
            ("database_url", database_url),
            ("config", config_file),
        )
        if value is not None
    }
    return verify_command(list(files), overrides)


@audit.command("list")
@click.option("--user", help="Principal or attempted username.")
@click.option("--path", help="Request paths starting with this.")
@click.option("--since", help="RFC 3339 or Unix seconds.")
@click.option("--until", help="RFC 3339 or Unix seconds.")
@click.option("--outcome", type=click.Choice(["success", "denied", "error", "auth_failed"]))
@click.option("--limit", type=click.IntRange(1, 100000), default=50, show_default=True)
@format_option
@pass_connection
def list_(
    conn: Connection,
    user: str | None,
    path: str | None,
    since: str | None,
    until: str | None,
    outcome: str | None,
    limit: int,
    fmt: str | None,
) -> None:
    """The newest audit records (the node needs --audit-database)."""
    filters = {"user": user, "path": path, "since": since, "until": until, "outcome": outcome}
    records = conn.client().audit.list(limit=limit, **filters)
    emit(records, fmt, value=lambda d: [item.get("request_id") for item in d])
