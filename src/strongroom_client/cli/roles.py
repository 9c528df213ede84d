"""`strongroom role ...`: roles and their path rules (admins)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from strongroom_client.cli.context import Connection
from strongroom_client.cli.output import Section, emit, format_option
from strongroom_client.models import Role

pass_connection = click.make_pass_decorator(Connection)


def role_dict(role: Role) -> dict[str, Any]:
    return {
        "name": role.name,
        "description": role.description,
        "rules": [{"path": r.path, "capabilities": list(r.capabilities)} for r in role.rules],
        "builtin": role.builtin,
        "created_at": role.created_at,
        "updated_at": role.updated_at,
    }


def rule_of(text: str) -> dict[str, Any]:
    path, sep, caps = text.rpartition(":")
    if not sep or not path or not caps:
        raise click.UsageError(
            f"--rule takes PATH:CAP,CAP (e.g. 'team-a/*:read,list'), not {text!r}"
        )
    return {"path": path, "capabilities": [c.strip() for c in caps.split(",") if c.strip()]}


@click.group()
def role() -> None:
    """Manage roles: path rules granting capabilities on secrets (admins)."""


@role.command("list")
@format_option
@pass_connection
def list_(conn: Connection, fmt: str | None) -> None:
    """Every role."""
    items = [role_dict(r) for r in conn.client().roles.list()]
    emit(
        items,
        fmt,
        value=lambda d: [item["name"] for item in d],
        table=lambda d: [
            Section(
                "",
                ["Name", "Built-in", "Rules", "Description"],
                [[i["name"], i["builtin"], len(i["rules"]), i["description"]] for i in d],
            )
        ],
    )


@role.command("get")
@click.argument("name")
@format_option
@pass_connection
def get(conn: Connection, name: str, fmt: str | None) -> None:
    """One role with its rules."""
    data = role_dict(conn.client().roles.get(name))
    emit(data, fmt, value=lambda d: d["name"], table=_role_table)


def _role_table(data: dict[str, Any]) -> list[Section]:
    about = [[k, data[k]] for k in ("name", "description", "builtin", "updated_at")]
    rules = [[r["path"], ", ".join(r["capabilities"])] for r in data["rules"]]
    return [
        Section("Role", ["Key", "Value"], about),
        Section("Rules", ["Path", "Capabilities"], rules),
    ]


@role.command("put")
@click.argument("name")
@click.option(
    "--rule", "-r", "rules", multiple=True, metavar="PATH:CAP,CAP", help="A rule (repeat)."
)
@click.option("--file", "rules_file", type=click.Path(dir_okay=False), help="Rules as a JSON list.")
@click.option("--description", "-d", default="", help="What the role is for.")
@format_option
@pass_connection
def put(
    conn: Connection,
    name: str,
    rules: tuple[str, ...],
    rules_file: str | None,
    description: str,
    fmt: str | None,
) -> None:
    """Create a role, or replace its rules. Capabilities: create read update delete list deny."""
    found = [rule_of(text) for text in rules]
    if rules_file:
        loaded = json.loads(Path(rules_file).read_text())
        found += loaded.get("rules", []) if isinstance(loaded, dict) else loaded
    data = role_dict(conn.client().roles.put(name, found, description))
    emit(data, fmt, value=lambda d: d["name"], table=_role_table)


@role.command("delete")
@click.argument("name")
@pass_connection
def delete(conn: Connection, name: str) -> None:
    """Delete a custom role that no user holds."""
    conn.client().roles.delete(name)
    click.echo(f"Role {name} deleted.")
