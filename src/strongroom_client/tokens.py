"""Where a login's tokens live between runs: `TokenStore`, and the command line's file cache.

`FileTokenStore` keeps one JSON file per server address in `$XDG_CONFIG_HOME/strongroom/`
(default `~/.config/strongroom/`), mode 0600 in a 0700 directory. Renewals take an exclusive
lock on the file, so that two processes never renew with the same refresh token (the server
would take the second use for a stolen token and end the session).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Protocol

from strongroom_client.models import Tokens


class TokenStore(Protocol):
    """Keeps a session's tokens for a client; `lock()` excludes other renewers."""

    def load(self) -> Tokens | None: ...

    def save(self, tokens: Tokens, username: str | None = None) -> None: ...

    def lock(self) -> contextlib.AbstractContextManager[None]: ...


def config_dir() -> Path:
    base = os.environ.get("XDG_CONFIG_HOME") or os.path.join(os.path.expanduser("~"), ".config")
    return Path(base) / "strongroom"


def cache_file(address: str) -> Path:
    """The token file of one server address, e.g. `token-127.0.0.1_8200-1a2b3c4d.json`."""
    readable = re.sub(r"[^A-Za-z0-9.-]+", "_", address.split("://", 1)[-1]).strip("_")
    digest = hashlib.sha256(address.encode()).hexdigest()[:8]
    return config_dir() / f"token-{readable}-{digest}.json"


class FileTokenStore:
    """The cached login of one server address (the command line's `strongroom login`)."""

    def __init__(self, address: str) -> None:
        self.address = address
        self.path = cache_file(address)

    def read(self) -> dict[str, object] | None:
        """The cached record, or None (no login, or a file that is not ours)."""
        try:
            data = json.loads(self.path.read_text())
        except (OSError, ValueError):
            return None
        if not isinstance(data, dict) or not isinstance(data.get("access_token"), str):
            return None
        return data

    def load(self) -> Tokens | None:
        data = self.read()
        if data is None:
            return None
        refresh = data.get("refresh_token")
        session = data.get("session_id")
        return Tokens(
            access_token=str(data["access_token"]),
            refresh_token=refresh if isinstance(refresh, str) else None,
            session_id=session if isinstance(session, str) else None,
        )

    def save(self, tokens: Tokens, username: str | None = None) -> None:
        previous = self.read() or {}
        now = time.time()
        record = {
            "address": self.address,
            "username": username or previous.get("username"),
            "session_id": tokens.session_id,
            "access_token": tokens.access_token,
            "refresh_token": tokens.refresh_token,
            "expires_at": now + tokens.expires_in if tokens.expires_in else None,
            "refresh_expires_at": (
                now + tokens.refresh_expires_in if tokens.refresh_expires_in else None
            ),
        }
        self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        temporary = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            os.fchmod(fd, 0o600)
            os.write(fd, json.dumps(record, indent=1).encode())
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(temporary, self.path)

    def delete(self) -> bool:
        """Forget the login; True if there was one."""
        with contextlib.suppress(FileNotFoundError):
            self.path.with_name(self.path.name + ".lock").unlink()
        try:
            self.path.unlink()
        except FileNotFoundError:
            return False
        return True

    @contextlib.contextmanager
    def lock(self) -> Iterator[None]:
        import fcntl

        self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd = os.open(self.path.with_name(self.path.name + ".lock"), os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)
