"""`strongroom settings ...`: runtime settings."""

from __future__ import annotations

import json
from typing import Any

import click

from strongroom_client.cli.context import Connection
from strongroom_client.cli.output import Section, emit, format_option
from strongroom_client.models import as_dict

pass_connection = click.make_pass_decorator(Connection)


def parsed(text: str) -> Any:
    """A setting's value: JSON when it parses (600, true, ["10.0.0.0/8"]), else the string."""
    try:
        return json.loads(text)
    except ValueError:
        return text


@click.group()
def settings() -> None:
    """Read (admins, auditors) and change (admins) runtime settings."""


@settings.command("list")
@format_option
@pass_connection
def list_(conn: Connection, fmt: str | None) -> None:
    """Every setting with its value and default (secret values masked)."""
    items = [as_dict(s) for s in conn.client().settings.list()]
    emit(
        items,
        fmt,
        value=lambda d: [f"{item['key']}={json.dumps(item['value'])}" for item in d],
        table=lambda d: [
            Section(
                "",
                ["Key", "Value", "Default", "Updated by"],
                [
                    [i["key"], json.dumps(i["value"]), json.dumps(i["default"]), i["updated_by"]]
                    for i in d
                ],
            )
        ],
    )


@settings.command("get")
@click.argument("key")
@format_option
@pass_connection
def get(conn: Connection, key: str, fmt: str | None) -> None:
    """One setting."""
    emit(as_dict(conn.client().settings.get(key)), fmt, value=lambda d: d["value"])


@settings.command("set")
@click.argument("key")
@click.argument("value")
@format_option
@pass_connection
def set_(conn: Connection, key: str, value: str, fmt: str | None) -> None:
    """Set a setting; VALUE is JSON when it parses (600, true, ["10.0.0.0/8"]), else text."""
    emit(as_dict(conn.client().settings.set(key, parsed(value))), fmt, value=lambda d: d["value"])
