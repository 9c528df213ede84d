"""The connection of a client command: the server, its CA, the cached login."""

from __future__ import annotations

import json
import os
from functools import cached_property
from pathlib import Path

from strongroom_client.cli.failures import Failure
from strongroom_client.client import Client
from strongroom_client.config import Target, resolve
from strongroom_client.tokens import FileTokenStore
from strongroom_client.transport import StdlibTransport

MAX_REMEMBERED = 100


class Connection:
    """Made lazily from the global options: a command that needs no server opens none."""

    def __init__(self, address: str | None, cacert: str | None) -> None:
        self._address = address
        self._cacert = cacert

    @cached_property
    def target(self) -> Target:
        try:
            return resolve(self._address, self._cacert)
        except ValueError as exc:
            raise Failure(str(exc), 2) from None

    @cached_property
    def store(self) -> FileTokenStore:
        return FileTokenStore(self.target.address)

    def client(self, *, login_required: bool = True) -> Client:
        """A client on the standard library's HTTP (fast to start), with the cached login."""
        target = self.target
        client = Client(
            target.address,
            target.cacert,
            token_store=self.store,
            transport=StdlibTransport(target.cacert),
        )
        if login_required and client.token is None:
            raise Failure(
                f"not logged in to {target.address}: run `strongroom login` "
                "(or set STRONGROOM_TOKEN)"
            )
        return client

    # Ids of secrets deleted from this machine, so that `kv undelete PATH` finds them (the
    # API looks deleted secrets up by id only).

    @property
    def _deleted_file(self) -> Path:
        return self.store.path.with_name(self.store.path.name.replace("token-", "deleted-", 1))

    def deleted(self) -> dict[str, str]:
        try:
            data = json.loads(self._deleted_file.read_text())
        except (OSError, ValueError):
            return {}
        if not isinstance(data, dict):
            return {}
        return {str(k): str(v) for k, v in data.items()}

    def remember_deleted(self, path: str, secret_id: str) -> None:
        known = self.deleted()
        known.pop(path, None)
        known[path] = secret_id
        entries = list(known.items())[-MAX_REMEMBERED:]
        target = self._deleted_file
        target.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as out:
            json.dump(dict(entries), out)
