"""`strongroom operator init|unseal|seal|status|rekey|rotate|rewrap`: the node's keys (issue 21).

`init` needs the node's init token: `--init-token`, STRONGROOM_INIT_TOKEN, or the file
`<data dir>/init-token` (`--data-dir`, STRONGROOM_DATA_DIR) when run on the node itself.
Shares are read from the argument or, when omitted, typed without echo.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

import click

from strongroom_client.cli.context import Connection
from strongroom_client.cli.failures import Failure
from strongroom_client.cli.output import emit, format_option
from strongroom_client.client import Client
from strongroom_client.models import SealStatus, as_dict
from strongroom_client.transport import StdlibTransport

pass_connection = click.make_pass_decorator(Connection)


@click.group()
def operator() -> None:
    """Initialise, unseal, seal, rekey and rotate the server's keys."""


def _anonymous(conn: Connection, token: str | None = None) -> Client:
    target = conn.target
    return Client(
        target.address, target.cacert, token=token, transport=StdlibTransport(target.cacert)
    )


def _init_token(given: str | None, data_dir: str | None) -> str:
    if given:
        return given
    if os.environ.get("STRONGROOM_INIT_TOKEN"):
        return os.environ["STRONGROOM_INIT_TOKEN"]
    path = Path(data_dir or os.environ.get("STRONGROOM_DATA_DIR") or "strongroom-data")
    try:
        return (path / "init-token").read_text(encoding="ascii").strip()
    except OSError:
        raise Failure(
            "give the node's init token: --init-token, STRONGROOM_INIT_TOKEN, or --data-dir "
            "of the node (its init-token file)",
            2,
        ) from None


def _status_data(status: SealStatus) -> dict[str, Any]:
    return {k: v for k, v in as_dict(status).items() if v is not None}


@operator.command("init")
@click.option("--key-shares", "-n", "shares", type=int, default=5, show_default=True)
@click.option("--key-threshold", "-t", "threshold", type=int, default=3, show_default=True)
@click.option("--init-token", help="The node's init token (default: see above).")
@click.option("--data-dir", help="The node's data directory, to read its init-token file.")
@format_option
@pass_connection
def init(
    conn: Connection,
    shares: int,
    threshold: int,
    init_token: str | None,
    data_dir: str | None,
    fmt: str | None,
) -> None:
    """Initialise a new server: its root key split into N key shares, any T of which unseal
    it. The shares (and the first admin's password) are shown once: hand them out now."""
    token = _init_token(init_token, data_dir)
    with _anonymous(conn, token) as client:
        result = client.sys.init(shares, threshold)
    data = as_dict(result)
    emit(data, fmt, value=lambda d: d["keys_base64"])


@operator.command("unseal")
@click.argument("key", required=False)
@click.option("--reset", is_flag=True, help="Forget the shares given so far.")
@format_option
@pass_connection
def unseal(conn: Connection, key: str | None, reset: bool, fmt: str | None) -> None:
    """Give one key share (typed without echo when KEY is omitted); shows the progress."""
    if not reset and key is None:
        key = click.prompt("Unseal key share", hide_input=True)
    with _anonymous(conn) as client:
        status = client.sys.unseal(None if reset else key, reset=reset)
    emit(_status_data(status), fmt, value=lambda d: "sealed" if d["sealed"] else "unsealed")


@operator.command("seal")
@pass_connection
def seal(conn: Connection) -> None:
    """Seal the server: it forgets its keys until unsealed (admin)."""
    conn.client().sys.seal()
    click.echo("Sealed.")


@operator.command("status")
@format_option
@pass_connection
def status(conn: Connection, fmt: str | None) -> int:
    """Seal type, threshold and shares, progress, initialised, sealed. Exit status 0 when
    unsealed, 2 when sealed or not initialised."""
    with _anonymous(conn) as client:
        current = client.sys.seal_status()
    emit(_status_data(current), fmt, value=lambda d: "sealed" if d["sealed"] else "unsealed")
    return 2 if current.sealed else 0


@operator.command("rekey")
@click.option("--key-shares", "-n", "shares", type=int, required=True)
@click.option("--key-threshold", "-t", "threshold", type=int, required=True)
@click.option("--key", "keys", multiple=True, help="A current share (repeat; else prompted).")
@format_option
@pass_connection
def rekey(
    conn: Connection, shares: int, threshold: int, keys: tuple[str, ...], fmt: str | None
) -> None:
    """New key shares (N, threshold T) from a quorum of the current ones; the current shares
    stop working (admin)."""
    client = conn.client()
    started = client.sys.rekey_init(shares, threshold)
    given = list(keys)
    try:
        for index in range(started.required or 0):
            share = (
                given[index]
                if index < len(given)
                else click.prompt(
                    f"Current key share {index + 1} of {started.required}", hide_input=True
                )
            )
            progress = client.sys.rekey_update(share, started.nonce or "")
            click.echo(f"Progress: {progress.progress}/{started.required}", err=True)
    except BaseException:
        client.sys.rekey_cancel()
        raise
    if not progress.keys:
        raise Failure("the rekey did not complete")
    emit(as_dict(progress), fmt, value=lambda d: d["keys_base64"])


@operator.command("rotate")
@pass_connection
def rotate(conn: Connection) -> None:
    """Add a data-key version for new writes (then `operator rewrap` moves old values)."""
    version = conn.client().sys.rotate()
    click.echo(f"Data key version {version}.")


@operator.command("rewrap")
@click.option("--wait/--no-wait", default=True, show_default=True, help="Show progress.")
@pass_connection
def rewrap(conn: Connection, wait: bool) -> None:
    """Re-encrypt every stored value under the newest data key (a background job on the
    server, resumable); shows a progress bar until it is done."""
    client = conn.client()
    job = client.sys.rewrap()
    if not wait:
        click.echo(f"Rewrap job {job.id}: {job.state}.")
        return
    with click.progressbar(length=max(job.total, 1), label="Rewrapping", file=None) as bar:
        shown = 0
        while True:
            job = client.sys.rewrap_status()
            bar.update(max(0, min(job.done, job.total) - shown))
            shown = max(shown, min(job.done, job.total))
            if job.state != "running":
                break
            time.sleep(0.5)
    click.echo(
        f"Rewrap job {job.id}: {job.state}, {job.done} values under data key {job.data_version}."
    )
