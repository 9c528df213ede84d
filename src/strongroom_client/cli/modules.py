"""`strongroom modules ...`: the module library (issue 18)."""

from __future__ import annotations

import click

from strongroom_client.cli.context import Connection
from strongroom_client.cli.output import emit, format_option
from strongroom_client.models import as_dict

pass_connection = click.make_pass_decorator(Connection)


@click.group()
def modules() -> None:
    """List the modules and switch them on or off for yourself."""


@modules.command("list")
@format_option
@pass_connection
def list_(conn: Connection, fmt: str | None) -> None:
    """Every module with its status for you."""
    items = [as_dict(m) for m in conn.client().modules.list()]
    emit(items, fmt, value=lambda d: [item["id"] for item in d])


@modules.command("enable")
@click.argument("module_id")
@pass_connection
def enable(conn: Connection, module_id: str) -> None:
    """Switch a module on for you."""
    conn.client().modules.enable(module_id)
    click.echo(f"Module {module_id} enabled.")


@modules.command("disable")
@click.argument("module_id")
@pass_connection
def disable(conn: Connection, module_id: str) -> None:
    """Switch a module off for you (its data is kept)."""
    conn.client().modules.disable(module_id)
    click.echo(f"Module {module_id} disabled.")
