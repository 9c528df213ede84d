"""`strongroom login`, `logout`, `whoami`, `status`."""

from __future__ import annotations

import sys
from typing import Any

import click

from strongroom_client.cli.context import Connection
from strongroom_client.cli.failures import Failure
from strongroom_client.cli.output import Section, emit, format_option, write
from strongroom_client.models import as_dict

pass_connection = click.make_pass_decorator(Connection)


def shown(path: object) -> str:
    """A path under the home directory as `~/...`."""
    import os

    text, home = str(path), os.path.expanduser("~")
    return "~" + text[len(home) :] if home != "~" and text.startswith(home + os.sep) else text


def read_secret_stdin(what: str) -> str:
    """A password or token from stdin: the first line, without its line ending."""
    line = sys.stdin.readline()
    secret = line.removesuffix("\n").removesuffix("\r")
    if not secret:
        raise Failure(f"no {what} on stdin", 2)
    return secret


def prompt_secret(what: str) -> str:
    if not sys.stdin.isatty():
        raise Failure(f"no terminal to ask for the {what}: use --{what}-stdin", 2)
    value: str = click.prompt(what.capitalize(), hide_input=True, err=True)
    return value


@click.command()
@click.option("--username", "-u", help="Your username (asked if not given).")
@click.option("--password-stdin", is_flag=True, help="Read the password from stdin.")
@click.option(
    "--method",
    type=click.Choice(["password", "github"]),
    default="password",
    show_default=True,
    help="How to log in.",
)
@click.option(
    "--token-stdin", is_flag=True, help="--method github: read the GitHub token from stdin."
)
@click.option("--ttl", help="Access-token lifetime, e.g. 15m (at most security.max_token_ttl).")
@click.option(
    "--print-token", is_flag=True, help="Print the access token on stdout (and cache it)."
)
@pass_connection
def login(
    conn: Connection,
    username: str | None,
    password_stdin: bool,
    method: str,
    token_stdin: bool,
    ttl: str | None,
    print_token: bool,
) -> None:
    """Log in and cache the session's tokens for this server (file mode 0600).

    The password is asked without echo, or read from stdin with --password-stdin. The cached
    token is renewed transparently when it expires."""
    client = conn.client(login_required=False)
    options: dict[str, Any] = {"ttl": ttl} if ttl else {}
    if method == "github":
        github_token = read_secret_stdin("token") if token_stdin else prompt_secret("token")
        client.login_github(github_token, **options)
    else:
        if username is None:
            if not sys.stdin.isatty():
                raise Failure("give --username (no terminal to ask for it)", 2)
            username = str(click.prompt("Username", err=True))
        password = read_secret_stdin("password") if password_stdin else prompt_secret("password")
        client.login(username, password, **options)
    me = client.users.me()
    conn.store.save(client.tokens, me.username)  # type: ignore[arg-type]
    if print_token:
        write(f"{client.token}\n")
        return
    write(
        f"Logged in to {conn.target.address} as {me.username} (role {me.role}).\n"
        f"Token cached in {shown(conn.store.path)}\n"
    )


@click.command()
@pass_connection
def logout(conn: Connection) -> None:
    """Revoke the cached session on the server and delete its token file."""
    tokens = conn.store.load()
    if tokens is None:
        import os

        if not os.environ.get("STRONGROOM_TOKEN"):
            write(f"Not logged in to {conn.target.address}.\n")
            return
    client = conn.client()
    assert client.tokens is not None
    client.revoke(client.tokens.refresh_token or client.tokens.access_token)
    conn.store.delete()
    write(f"Logged out of {conn.target.address}; the session is revoked.\n")


@click.command()
@format_option
@pass_connection
def whoami(conn: Connection, fmt: str | None) -> None:
    """Show the user behind the current token."""
    me = as_dict(conn.client().users.me())
    emit(me, fmt, value=lambda data: data["username"])


@click.command()
@format_option
@pass_connection
def status(conn: Connection, fmt: str | None) -> int:
    """Show the server's health, seal state and version. Exit status 0 when unsealed, 2 when
    sealed, 1 when it cannot be reached (as `bao status`)."""
    from strongroom_client.errors import NotFound

    client = conn.client(login_required=False)
    health = client.sys.health()
    data: dict[str, Any] = {"address": conn.target.address, **as_dict(health)}
    try:
        seal = as_dict(client.sys.seal_status())
    except NotFound:
        seal = {}
    for key in ("type", "t", "n", "progress", "initialized"):
        if seal.get(key) is not None:
            data[f"seal_{key}" if key != "initialized" else key] = seal[key]
    data = {k: v for k, v in data.items() if v is not None}
    emit(data, fmt, value=lambda d: d["status"], table=_status_table)
    return 2 if health.sealed else 0


def _status_table(data: dict[str, Any]) -> list[Section]:
    return [Section("", ["Key", "Value"], list(data.items()))]
