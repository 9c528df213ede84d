"""`client.sys`: health, seal status, initialisation, unseal, seal, rekey, key rotation.

`init`, `seal-status` and `rekey` follow the interface fixed by issue 21 (Vault's shapes)."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any, BinaryIO

from strongroom_client._core import Call, copy_docs, no_content, route
from strongroom_client.models import (
    Health,
    InitResult,
    RekeyStatus,
    RewrapStatus,
    SealStatus,
    build,
)

if TYPE_CHECKING:
    from strongroom_client.aio import AsyncClient
    from strongroom_client.client import Client

# Health answers with its body on these too (sealed, uninitialised, degraded; Vault's codes).
HEALTH_ANSWERS = frozenset({429, 472, 473, 501, 503})


def _seal(data: Any) -> SealStatus:
    return build(SealStatus, data)


def health_call() -> Call[Health]:
    return Call(
        "GET", "/sys/health", lambda d: build(Health, d), auth=False, answers=HEALTH_ANSWERS
    )


def seal_status_call() -> Call[SealStatus]:
    return Call("GET", "/sys/seal-status", _seal, auth=False)


def init_call(shares: int, threshold: int) -> Call[InitResult]:
    body = {"secret_shares": shares, "secret_threshold": threshold}
    return Call("POST", "/sys/init", lambda d: build(InitResult, d), json=body)


def unseal_call(key: str | None, reset: bool) -> Call[SealStatus]:
    if (key is None) == (not reset):
        raise ValueError("give a key share, or reset=True")
    body: dict[str, Any] = {"reset": True} if reset else {"key": key}
    return Call("POST", "/sys/unseal", _seal, json=body, auth=False)


def seal_call() -> Call[SealStatus]:
    return Call("POST", "/sys/seal", _seal)


def rotate_call() -> Call[int]:
    return Call("POST", "/sys/rotate", lambda d: int(d["data_key_version"]))


def rewrap_call() -> Call[RewrapStatus]:
    return Call("POST", "/sys/rewrap", lambda d: build(RewrapStatus, d), json={})


def rewrap_status_call() -> Call[RewrapStatus]:
    return Call("GET", "/sys/rewrap", lambda d: build(RewrapStatus, d))


def rekey_init_call(shares: int, threshold: int) -> Call[RekeyStatus]:
    body = {"secret_shares": shares, "secret_threshold": threshold}
    return Call("POST", "/sys/rekey/init", lambda d: build(RekeyStatus, d), json=body)


def rekey_update_call(key: str, nonce: str) -> Call[RekeyStatus]:
    body = {"key": key, "nonce": nonce}
    return Call("POST", "/sys/rekey/update", lambda d: build(RekeyStatus, d), json=body)


def rekey_cancel_call() -> Call[None]:
    return Call("POST", "/sys/rekey/cancel", no_content, json={})


class Sys:
    """The node's state and its keys."""

    def __init__(self, client: Client) -> None:
        self._c = client

    @route("GET", "/sys/health")
    def health(self) -> Health:
        """Liveness and readiness (no token needed), also when sealed or degraded."""
        return self._c.call(health_call())

    @route("GET", "/sys/seal-status")
    def seal_status(self) -> SealStatus:
        """Seal type, threshold and shares, unseal progress, initialised, sealed (no token)."""
        return self._c.call(seal_status_call())

    @route("POST", "/sys/init")
    def init(self, secret_shares: int = 5, secret_threshold: int = 3) -> InitResult:
        """Initialise a new server: root key split into `secret_shares` shares, any
        `secret_threshold` of which unseal it. The shares are shown once."""
        return self._c.call(init_call(secret_shares, secret_threshold))

    @route("POST", "/sys/unseal")
    def unseal(self, key: str | None = None, *, reset: bool = False) -> SealStatus:
        """Give one key share (or, on a `seal=manual` node, the root key); `reset=True`
        forgets the shares given so far. Returns the progress."""
        return self._c.call(unseal_call(key, reset))

    @route("POST", "/sys/seal")
    def seal(self) -> SealStatus:
        """Seal this node: it forgets its keys until unsealed (admin)."""
        return self._c.call(seal_call())

    @route("POST", "/sys/rotate")
    def rotate(self) -> int:
        """Add a data-key version for new writes; returns its number (admin)."""
        return self._c.call(rotate_call())

    @route("POST", "/sys/rewrap")
    def rewrap(self) -> RewrapStatus:
        """Start re-encrypting every stored value under the newest data key, in the
        background (after `rotate`); returns the job (admin)."""
        return self._c.call(rewrap_call())

    @route("GET", "/sys/rewrap")
    def rewrap_status(self) -> RewrapStatus:
        """The latest rewrap job: state, stage, values done of total (admin, auditor)."""
        return self._c.call(rewrap_status_call())

    @route("POST", "/sys/rekey/init")
    def rekey_init(self, secret_shares: int, secret_threshold: int) -> RekeyStatus:
        """Start a rekey to new shares (admin); returns its nonce."""
        return self._c.call(rekey_init_call(secret_shares, secret_threshold))

    @route("POST", "/sys/rekey/update")
    def rekey_update(self, key: str, nonce: str) -> RekeyStatus:
        """Give one share of the old quorum; the last one returns the new `keys`."""
        return self._c.call(rekey_update_call(key, nonce))

    @route("POST", "/sys/rekey/cancel")
    def rekey_cancel(self) -> None:
        """Abandon the rekey in progress."""
        self._c.call(rekey_cancel_call())

    @route("GET", "/sys/backup")
    def backup(self, out: BinaryIO, passphrase: str, *, sessions: bool = False) -> int:
        """Write an encrypted backup of the whole server to `out` (a file opened "wb"):
        secrets with every version and their metadata, users, roles, settings, module data,
        the keyring wrapped by the root key; `sessions=True` adds the sessions. Returns the
        number of rows (admin)."""
        from strongroom_client.backup import create_backup

        return create_backup(self._c, out, passphrase, sessions=sessions)

    @route("POST", "/sys/restore")
    def restore(
        self, source: BinaryIO, passphrase: str, *, dry_run: bool = False
    ) -> dict[str, Any]:
        """Restore an encrypted backup (a file opened "rb") into this server, which must hold
        no secret yet and run with the same root key; `dry_run=True` checks and changes
        nothing. Returns `{"dry_run", "revision", "tables"}` (admin)."""
        from strongroom_client.backup import restore_backup

        return restore_backup(self._c, source, passphrase, dry_run=dry_run)

    @route("GET", "/sys/notifications")
    def notifications(self, limit: int = 100, cursor: str | None = None) -> dict[str, Any]:
        """The expiry notices sent or pending, newest first: `{"items", "next_cursor"}`
        (admin)."""
        return self._c.call(notifications_call(limit, cursor))


def notifications_call(limit: int, cursor: str | None) -> Call[dict[str, Any]]:
    params = [("limit", str(limit))] + ([("cursor", cursor)] if cursor else [])
    return Call("GET", "/sys/notifications", dict, params=params)


class AsyncSys:
    def __init__(self, client: AsyncClient) -> None:
        self._c = client

    @route("GET", "/sys/health")
    async def health(self) -> Health:
        return await self._c.call(health_call())

    @route("GET", "/sys/seal-status")
    async def seal_status(self) -> SealStatus:
        return await self._c.call(seal_status_call())

    @route("POST", "/sys/init")
    async def init(self, secret_shares: int = 5, secret_threshold: int = 3) -> InitResult:
        return await self._c.call(init_call(secret_shares, secret_threshold))

    @route("POST", "/sys/unseal")
    async def unseal(self, key: str | None = None, *, reset: bool = False) -> SealStatus:
        return await self._c.call(unseal_call(key, reset))

    @route("POST", "/sys/seal")
    async def seal(self) -> SealStatus:
        return await self._c.call(seal_call())

    @route("POST", "/sys/rotate")
    async def rotate(self) -> int:
        return await self._c.call(rotate_call())

    @route("POST", "/sys/rewrap")
    async def rewrap(self) -> RewrapStatus:
        return await self._c.call(rewrap_call())

    @route("GET", "/sys/rewrap")
    async def rewrap_status(self) -> RewrapStatus:
        return await self._c.call(rewrap_status_call())

    @route("POST", "/sys/rekey/init")
    async def rekey_init(self, secret_shares: int, secret_threshold: int) -> RekeyStatus:
        return await self._c.call(rekey_init_call(secret_shares, secret_threshold))

    @route("POST", "/sys/rekey/update")
    async def rekey_update(self, key: str, nonce: str) -> RekeyStatus:
        return await self._c.call(rekey_update_call(key, nonce))

    @route("POST", "/sys/rekey/cancel")
    async def rekey_cancel(self) -> None:
        await self._c.call(rekey_cancel_call())

    @route("GET", "/sys/backup")
    async def backup(self, out: BinaryIO, passphrase: str, *, sessions: bool = False) -> int:
        await self._c.users.me()  # a fresh access token for the synchronous stream

        def run() -> int:
            with self._sync() as client:
                return client.sys.backup(out, passphrase, sessions=sessions)

        return await asyncio.to_thread(run)

    @route("POST", "/sys/restore")
    async def restore(
        self, source: BinaryIO, passphrase: str, *, dry_run: bool = False
    ) -> dict[str, Any]:
        await self._c.users.me()

        def run() -> dict[str, Any]:
            with self._sync() as client:
                return client.sys.restore(source, passphrase, dry_run=dry_run)

        return await asyncio.to_thread(run)

    def _sync(self) -> Client:
        from strongroom_client.client import Client

        return Client(self._c.target.address, self._c.target.cacert, token=self._c.token)

    @route("GET", "/sys/notifications")
    async def notifications(self, limit: int = 100, cursor: str | None = None) -> dict[str, Any]:
        return await self._c.call(notifications_call(limit, cursor))


copy_docs(AsyncSys, Sys)
