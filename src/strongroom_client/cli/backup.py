"""`strongroom backup create|restore`: an encrypted snapshot of a server, and its restore."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click

from strongroom_client.cli.context import Connection
from strongroom_client.cli.failures import Failure
from strongroom_client.cli.output import emit, format_option

pass_connection = click.make_pass_decorator(Connection)
passphrase_option = click.option(
    "--passphrase-file",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    help="Read the passphrase from this file (first line); else it is asked for.",
)


def _passphrase(path: Path | None, *, confirm: bool) -> str:
    if path is not None:
        text = path.read_text().splitlines()
        phrase = text[0] if text else ""
    else:
        phrase = click.prompt("Passphrase", hide_input=True, confirmation_prompt=confirm, err=True)
    if len(phrase) < 8:
        raise Failure("the passphrase must have at least 8 characters", 2)
    return phrase


@click.group()
def backup() -> None:
    """Back up a whole server to an encrypted file, and restore one (admins).

    Values stay encrypted under the server's keyring, wrapped by its root key: keep the root
    key (or its unseal shares) as well as the passphrase, apart from the backups."""


@backup.command("create")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--sessions", is_flag=True, help="Include the sessions (logins stay valid).")
@passphrase_option
@pass_connection
def create(conn: Connection, file: Path, sessions: bool, passphrase_file: Path | None) -> None:
    """Write a consistent snapshot of the server, encrypted to a passphrase, to FILE."""
    from strongroom_client.backup import create_backup

    phrase = _passphrase(passphrase_file, confirm=True)
    client = conn.client()
    partial = file.with_name(file.name + ".partial")
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    shown = sys.stderr.isatty()
    with (
        click.progressbar(
            length=0, label="rows", file=sys.stderr, show_eta=False, show_percent=False
        )
        if shown
        else _Silent() as bar,
        os.fdopen(fd, "wb") as out,
    ):
        try:
            rows = create_backup(client, out, phrase, sessions=sessions, progress=bar.update)
        except BaseException:
            partial.unlink(missing_ok=True)
            raise
    partial.replace(file)
    click.echo(f"backed up {rows} rows to {file}", err=True)


@backup.command("restore")
@click.argument("file", type=click.Path(dir_okay=False, exists=True, path_type=Path))
@click.option("--dry-run", is_flag=True, help="Check the file and the server; change nothing.")
@passphrase_option
@format_option
@pass_connection
def restore(
    conn: Connection, file: Path, dry_run: bool, passphrase_file: Path | None, fmt: str | None
) -> None:
    """Restore FILE into the server, which must hold no secret yet and run with the root key
    of the server the backup came from. Users, roles and settings come back too; every
    session ends."""
    from strongroom_client.archive import ArchiveError
    from strongroom_client.backup import restore_backup

    phrase = _passphrase(passphrase_file, confirm=False)
    client = conn.client()
    size = file.stat().st_size
    shown = sys.stderr.isatty()
    with (
        click.progressbar(length=size, label="restoring", file=sys.stderr)
        if shown
        else _Silent() as bar,
        file.open("rb") as source,
    ):
        try:
            result = restore_backup(client, source, phrase, dry_run=dry_run, progress=bar.update)
        except ArchiveError as exc:
            raise Failure(str(exc)) from None
    emit(result, fmt, value=lambda d: sum(d["tables"].values()))


class _Silent:
    """The progress bar's stand-in when stderr is not a terminal."""

    def __enter__(self) -> _Silent:
        return self

    def __exit__(self, *_exc: object) -> None:
        return None

    def update(self, _n: int) -> None:
        return None
