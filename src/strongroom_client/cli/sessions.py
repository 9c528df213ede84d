"""`strongroom session ...`: live sessions (never a token)."""

from __future__ import annotations

import click

from strongroom_client.cli.context import Connection
from strongroom_client.cli.output import Section, emit, format_option
from strongroom_client.models import as_dict

pass_connection = click.make_pass_decorator(Connection)
COLUMNS = ("id", "username", "ip", "created_at", "last_used_at", "expires_at", "uses", "current")


@click.group()
def session() -> None:
    """List and revoke sessions."""


@session.command("list")
@click.option("--all", "all_users", is_flag=True, help="Everyone's (admins and auditors).")
@click.option("--user", "username", help="One user's (admins and auditors).")
@format_option
@pass_connection
def list_(conn: Connection, all_users: bool, username: str | None, fmt: str | None) -> None:
    """Your live sessions (or everyone's with --all)."""
    items = [as_dict(s) for s in conn.client().sessions.list(username, all=all_users)]
    emit(
        items,
        fmt,
        value=lambda d: [item["id"] for item in d],
        table=lambda d: [Section("", list(COLUMNS), [[i[c] for c in COLUMNS] for i in d])],
    )


@session.command("revoke")
@click.argument("session_id")
@pass_connection
def revoke(conn: Connection, session_id: str) -> None:
    """End a session: yours, or anyone's as admin."""
    conn.client().sessions.revoke(session_id)
    click.echo(f"Session {session_id} revoked.")
