"""Backup and restore through the server's admin API, encrypted on this side (archive.py).

`create_backup` streams `GET /sys/backup` into an encrypted file; `restore_backup` decrypts a
file and streams it to `POST /sys/restore`. Both hold one chunk at a time: memory stays flat
however large the backup. The passphrase never leaves this process.
"""

from __future__ import annotations

import ssl
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any, BinaryIO

import httpx

from strongroom_client.archive import Writer, read
from strongroom_client.errors import StrongroomError, error_from

if TYPE_CHECKING:
    from strongroom_client.client import Client

Progress = Callable[[int], None]
TIMEOUT = httpx.Timeout(30.0, read=600.0)


def _http(client: Client) -> httpx.Client:
    client.users.me()  # a fresh access token (renewed by the client if it expired)
    token = client.token
    cacert = client.target.cacert
    return httpx.Client(
        base_url=client.target.api,
        verify=ssl.create_default_context(cafile=cacert) if cacert else True,
        headers={"Authorization": f"Bearer {token}"} if token else {},
        timeout=TIMEOUT,
        trust_env=False,
    )


def _raise_for(response: httpx.Response) -> None:
    if response.status_code < 400:
        return
    response.read()
    try:
        body: Any = response.json()
    except ValueError:
        body = {"detail": response.text[:200]}
    raise error_from(response.status_code, body)


def create_backup(
    client: Client,
    out: BinaryIO,
    passphrase: str,
    *,
    sessions: bool = False,
    progress: Progress | None = None,
) -> int:
    """Write an encrypted backup of the server to `out`; returns the rows it holds."""
    writer = Writer(out, passphrase)
    rows = 0
    with (
        _http(client) as http,
        http.stream(
            "GET", "/sys/backup", params={"sessions": "true" if sessions else "false"}
        ) as response,
    ):
        _raise_for(response)
        for chunk in response.iter_bytes():
            writer.write(chunk)
            lines = chunk.count(b"\n")
            rows += lines
            if progress is not None:
                progress(lines)
    writer.close()
    return max(rows - 2, 0)  # the header and the end line


def restore_backup(
    client: Client,
    source: BinaryIO,
    passphrase: str,
    *,
    dry_run: bool = False,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """Decrypt the backup in `source` and restore it into the server (which holds no secret
    yet); with `dry_run`, the server checks everything and changes nothing. Returns
    `{"dry_run", "revision", "tables": {name: rows}}`."""

    def body() -> Iterator[bytes]:
        for plain in read(source, passphrase):
            if progress is not None:
                progress(len(plain))
            yield plain

    with _http(client) as http:
        response = http.post(
            "/sys/restore",
            params={"dry_run": "true" if dry_run else "false"},
            content=body(),
            headers={"Content-Type": "application/x-ndjson"},
        )
        _raise_for(response)
        result: dict[str, Any] = response.json()
        return result


__all__ = ["StrongroomError", "create_backup", "restore_backup"]
