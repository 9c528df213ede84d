"""The barrier: holds the unwrapped keyring while unsealed; everything secret passes through it.

Secret values are sealed in envelopes (`seal_value` / `open_value`, crypto/envelope.py): each
under a data-encryption key of its own, stored wrapped by the keyring's newest data key, so
that deleting that wrapped key destroys the value for good. Secret-typed settings use
`encrypt` / `decrypt` (the keyring's data key directly).

While sealed (no root key), `keyring` raises `Sealed` (503) and nothing can be decrypted. A key
rotation on any node adds a data-key version; other nodes pick it up when they meet a
ciphertext of a version they lack, or at their next config-epoch reload.
"""

from __future__ import annotations

import asyncio
import logging

from sqlalchemy import insert, select, update
from sqlalchemy.exc import IntegrityError

from strongroom.barrier.models import keyring as keyring_table
from strongroom.crypto import (
    DecryptionError,
    Envelope,
    KeyPurpose,
    Keyring,
    RootKey,
    WrappedKey,
    envelope,
)
from strongroom.db import Database, now
from strongroom.errors import BadRequest, ServiceUnavailable

log = logging.getLogger(__name__)


class Sealed(ServiceUnavailable):
    def __init__(self) -> None:
        super().__init__("strongroom is sealed: no secret can be read or written", code="sealed")


class NotInitialised(ServiceUnavailable):
    def __init__(self) -> None:
        super().__init__(
            "strongroom is not initialised: POST /api/v1/sys/init (strongroom operator init)",
            code="not_initialised",
        )


class AlreadyInitialised(BadRequest):
    def __init__(self) -> None:
        super().__init__("strongroom is already initialised", code="already_initialised")


class WrongRootKey(Exception):
    """The root key does not unwrap the stored keyring."""


class Barrier:
    def __init__(self, db: Database) -> None:
        self._db = db
        self._root: RootKey | None = None
        self._keyring: Keyring | None = None
        self._initialised = False
        self._lock = asyncio.Lock()

    def __repr__(self) -> str:
        return f"Barrier(sealed={self.sealed})"

    @property
    def sealed(self) -> bool:
        return self._keyring is None

    @property
    def keyring(self) -> Keyring:
        if self._keyring is None:
            raise Sealed()
        return self._keyring

    @property
    def initialised(self) -> bool:
        """A keyring exists (as last seen by this node: `refresh_initialised` to look again)."""
        return self._initialised

    async def refresh_initialised(self) -> bool:
        if not self._initialised:
            self._initialised = bool(await self._load())
        return self._initialised

    async def initialise(self, root: RootKey) -> None:
        """Create the keyring under `root`, once: `AlreadyInitialised` if one exists (on any
        node). The only way a keyring comes to exist; callers authenticate the caller."""
        async with self._lock:
            if await self._load():
                self._initialised = True
                raise AlreadyInitialised()
            try:
                await self._insert(
                    [Keyring.new_wrapped(root, purpose, 1) for purpose in KeyPurpose], first=True
                )
            except IntegrityError:
                raise AlreadyInitialised() from None  # another node initialised at that moment
            self._initialised = True
            self._keyring = self._check(root, await self._load())
            self._root = root

    async def unseal(self, root: RootKey) -> None:
        """Unwrap the stored keyring; `WrongRootKey` if it doesn't fit, `NotInitialised` if
        there is none: unsealing never creates a keyring (a key chosen by whoever came first)."""
        async with self._lock:
            entries = await self._load()
            if not entries:
                raise NotInitialised()
            self._initialised = True
            self._check(root, entries)
            missing = [p for p in KeyPurpose if not any(e.purpose is p for e in entries)]
            if missing:  # a keyring from before a purpose existed: add it under the same root
                await self._insert([Keyring.new_wrapped(root, purpose, 1) for purpose in missing])
                entries = await self._load()
            self._keyring = self._check(root, entries)
            self._root = root

    async def rewrap_root(self, old: RootKey, new: RootKey) -> None:
        """Wrap every keyring entry under `new` in one transaction (root key rotation, rekey);
        afterwards `old` unwraps nothing. `WrongRootKey` if `old` is not the current root."""
        async with self._lock:
            entries = await self._load()
            try:
                rewrapped = Keyring.rewrap(old, new, entries)
            except DecryptionError:
                raise WrongRootKey() from None
            async with self._db.begin() as conn:
                for entry in rewrapped:
                    await conn.execute(
                        update(keyring_table)
                        .where(
                            keyring_table.c.purpose == entry.purpose.value,
                            keyring_table.c.version == entry.version,
                        )
                        .values(wrapped_key=entry.wrapped)
                    )
            if self._keyring is not None:
                self._root = new

    def seal(self) -> None:
        self._keyring = None
        self._root = None

    async def reload(self) -> None:
        if self._root is None:
            return
        async with self._lock:
            try:
                self._keyring = self._check(self._root, await self._load())
            except WrongRootKey:
                # Another node rekeyed: the root key in memory is no longer the cluster's.
                log.warning("the keyring was rekeyed elsewhere: sealing; unseal with new shares")
                self.seal()
                raise Sealed() from None

    def fits(self, entries: list[WrappedKey]) -> bool:
        """Whether this node's root key unwraps `entries` (a keyring from elsewhere, e.g. a
        backup); False while sealed."""
        root = self._root
        if root is None or not entries:
            return False
        try:
            self._check(root, entries)
        except WrongRootKey:
            return False
        return True

    async def rotate(self) -> int:
        """Add a data-key version; new encryptions use it. Returns the new version."""
        root = self._root
        if root is None:
            raise Sealed()
        for _ in range(5):
            entries = await self._load()
            try:
                # A node rekeyed elsewhere holds a root key the keyring no longer has: an entry
                # wrapped under it would make the whole keyring unopenable. Seal instead.
                self._check(root, entries)
            except WrongRootKey:
                log.warning("the keyring was rekeyed elsewhere: sealing; unseal with new shares")
                self.seal()
                raise Sealed() from None
            version = max(e.version for e in entries if e.purpose is KeyPurpose.data) + 1
            try:
                await self._insert([Keyring.new_wrapped(root, KeyPurpose.data, version)])
            except IntegrityError:
                continue  # another node rotated at the same moment; take the next number
            await self.reload()
            return version
        raise ServiceUnavailable("key rotation kept conflicting with other nodes; try again")

    def encrypt(self, plaintext: bytes, associated_data: bytes) -> bytes:
        return self.keyring.encrypt(plaintext, associated_data)

    async def decrypt(self, blob: bytes, associated_data: bytes) -> bytes:
        """Decrypt; reloads the keyring once if the blob names a version rotated in elsewhere."""
        keyring = self.keyring
        if not keyring.knows_version_of(blob):
            await self.reload()
            keyring = self.keyring
        return keyring.decrypt(blob, associated_data)

    def seal_value(self, plaintext: bytes, binding: bytes) -> Envelope:
        """A secret value in its envelope: ciphertext under a fresh key, that key wrapped."""
        return envelope.seal_value(self.keyring, plaintext, binding)

    async def open_value(
        self, ciphertext: bytes, wrapped_key: bytes | None, binding: bytes
    ) -> bytes:
        """Open a stored value (`wrapped_key` None: a value stored before envelopes, under the
        keyring itself); reloads the keyring once if it names a version rotated in elsewhere."""
        keyring = self.keyring
        if not keyring.knows_version_of(envelope.keyring_blob(ciphertext, wrapped_key)):
            await self.reload()
            keyring = self.keyring
        return envelope.open_value(keyring, ciphertext, wrapped_key, binding)

    def rewrap_value_key(self, wrapped_key: bytes, binding: bytes) -> bytes:
        """A value's key (secret_version_keys.wrapped_key) wrapped anew under the newest data
        key, for re-keying after a rotation; its ciphertext stays as it is."""
        return envelope.rewrap_key(self.keyring, wrapped_key, binding)

    @staticmethod
    def _check(root: RootKey, entries: list[WrappedKey]) -> Keyring:
        try:
            return Keyring.unwrap(root, entries)
        except DecryptionError:
            raise WrongRootKey() from None

    async def _load(self) -> list[WrappedKey]:
        async with self._db.connect() as conn:
            rows = await conn.execute(
                select(
                    keyring_table.c.purpose, keyring_table.c.version, keyring_table.c.wrapped_key
                )
            )
            return [WrappedKey(KeyPurpose(p), v, w) for p, v, w in rows]

    async def _insert(self, entries: list[WrappedKey], *, first: bool = False) -> None:
        try:
            async with self._db.begin() as conn:
                await conn.execute(
                    insert(keyring_table),
                    [
                        {
                            "purpose": e.purpose.value,
                            "version": e.version,
                            "wrapped_key": e.wrapped,
                            "created_at": now(),
                        }
                        for e in entries
                    ],
                )
        except IntegrityError:
            # Several nodes adding a missing purpose at once: keep theirs.
            if first or any(e.version > 1 for e in entries):
                raise
