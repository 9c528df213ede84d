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
@click.argument("file", type=click.Path(path_type=Path))
def verify(file: Path) -> int:
    """Verify the hash chain of an audit log file (JSON lines): `OK: N records`, or the
    first bad record (exit 1). Runs offline, on the file."""
    from strongroom.audit.verify import verify_command

    return verify_command(file)


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
