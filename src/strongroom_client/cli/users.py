"""`strongroom user ...`: accounts (admins), and your own password."""

from __future__ import annotations

import sys

import click

from strongroom_client.cli.context import Connection
from strongroom_client.cli.failures import Failure
from strongroom_client.cli.output import emit, format_option
from strongroom_client.cli.session import read_secret_stdin
from strongroom_client.models import as_dict

pass_connection = click.make_pass_decorator(Connection)
USER_COLUMNS = ("username", "email", "role", "disabled", "auth_method", "created_at")


def new_password(password_stdin: bool) -> str:
    if password_stdin:
        return read_secret_stdin("password")
    if not sys.stdin.isatty():
        raise Failure("no terminal to ask for the password: use --password-stdin", 2)
    value: str = click.prompt("New password", hide_input=True, confirmation_prompt=True, err=True)
    return value


@click.group()
def user() -> None:
    """Manage user accounts (admins), or your own password."""


@user.command("create")
@click.argument("username")
@click.option("--email", help="Email address.")
@click.option("--role", help="Role (default: auth.default_role).")
@click.option("--password-stdin", is_flag=True, help="Read the password from stdin.")
@format_option
@pass_connection
def create(
    conn: Connection,
    username: str,
    email: str | None,
    role: str | None,
    password_stdin: bool,
    fmt: str | None,
) -> None:
    """Create a user; the password is asked twice without echo."""
    password = new_password(password_stdin)
    created = conn.client().users.create(username, password, email=email, role=role)
    emit(as_dict(created), fmt, value=lambda d: d["username"])


@user.command("list")
@format_option
@pass_connection
def list_(conn: Connection, fmt: str | None) -> None:
    """Every user."""
    items = [as_dict(u) for u in conn.client().users.list()]
    emit(
        [{k: item[k] for k in USER_COLUMNS} for item in items] if fmt in (None, "table") else items,
        fmt,
        value=lambda d: [item["username"] for item in d],
    )


@user.command("get")
@click.argument("username")
@format_option
@pass_connection
def get(conn: Connection, username: str, fmt: str | None) -> None:
    """One user."""
    emit(as_dict(conn.client().users.get(username)), fmt, value=lambda d: d["username"])


def _done(verb: str):  # type: ignore[no-untyped-def]
    @user.command(verb)
    @click.argument("username")
    @format_option
    @pass_connection
    def command(conn: Connection, username: str, fmt: str | None) -> None:
        done = getattr(conn.client().users, verb)(username)
        emit({"username": username, **as_dict(done)}, fmt, value=lambda d: d["sessions_ended"])

    command.__doc__ = {
        "delete": "Delete a user; their sessions end.",
        "disable": "Disable a user; their sessions end at once.",
        "enable": "Enable a disabled user.",
    }[verb]
    return command


for _verb in ("delete", "disable", "enable"):
    _done(_verb)


@user.command("passwd")
@click.argument("username", required=False)
@click.option("--password-stdin", is_flag=True, help="Read the new password from stdin.")
@pass_connection
def passwd(conn: Connection, username: str | None, password_stdin: bool) -> None:
    """Change your password (asks the current one), or set USERNAME's (admins)."""
    client = conn.client()
    if username is None:
        if password_stdin:
            raise Failure("changing your own password asks for the current one: use a terminal", 2)
        if not sys.stdin.isatty():
            raise Failure("no terminal to ask for the passwords", 2)
        current = str(click.prompt("Current password", hide_input=True, err=True))
        done = client.users.change_password(current, new_password(False))
        click.echo(f"Password changed; {done.sessions_ended} other session(s) ended.")
        return
    done = client.users.set_password(username, new_password(password_stdin))
    click.echo(f"Password of {username} set; {done.sessions_ended} session(s) ended.")
