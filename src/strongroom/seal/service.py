"""Initialisation, unseal progress, seal and rekey of one node.

Unseal progress (the shares given so far) stays in this process's memory and nowhere else, as
in Vault: a copy of the database or the session store never holds enough to combine. That is
why `seal=shamir` runs one worker per node (config.py refuses more), and why each node of a
cluster is unsealed separately, with shares sent to each.
"""

from __future__ import annotations

import logging
import secrets
import uuid
from dataclasses import dataclass, field

from strongroom.barrier.service import AlreadyInitialised, Barrier, NotInitialised, WrongRootKey
from strongroom.crypto import generate_root_key
from strongroom.crypto.shamir import Share, check_counts, combine
from strongroom.db import Database
from strongroom.errors import BadRequest, Conflict, InvalidInput
from strongroom.seal import repository
from strongroom.seal.backends import Seal, SealedRoot, SealUnavailable
from strongroom.seal.repository import SealConfig

log = logging.getLogger(__name__)


class InvalidShare(BadRequest):
    def __init__(self, detail: str) -> None:
        super().__init__(detail, code="invalid_key")


@dataclass
class InitOutcome:
    shares: list[Share] = field(repr=False)
    admin_username: str | None = None
    admin_password: str | None = field(default=None, repr=False)


@dataclass
class Progress:
    """Shares given so far towards one goal (an unseal, or a rekey), with its nonce."""

    nonce: str = field(default_factory=lambda: str(uuid.uuid4()))
    shares: list[Share] = field(default_factory=list, repr=False)

    def add(self, share: Share) -> None:
        if share not in self.shares:  # the same share twice counts once
            self.shares.append(share)


@dataclass
class Rekey:
    secret_shares: int
    secret_threshold: int
    progress: Progress = field(default_factory=Progress)


@dataclass
class SealState:
    seal_type: str
    initialised: bool
    sealed: bool
    threshold: int
    shares: int
    progress: int
    nonce: str


class SealKeeper:
    """The node's custody of its root key: one per process."""

    def __init__(self, seal: Seal, barrier: Barrier, db: Database) -> None:
        self.seal = seal
        self._barrier = barrier
        self._db = db
        self._unseal = Progress()
        self._rekey: Rekey | None = None
        self._required = 1

    def __repr__(self) -> str:
        return f"SealKeeper({self.seal.type}, sealed={self._barrier.sealed})"

    # State -------------------------------------------------------------------------------------

    async def config(self) -> SealConfig | None:
        async with self._db.connect() as conn:
            return await repository.load(conn)

    async def state(self) -> SealState:
        initialised = await self._barrier.refresh_initialised()
        stored = await self.config() if initialised else None
        # A keyring from before seal_config existed: one key, as the former seal=manual.
        shares = stored.secret_shares if stored else int(initialised)
        threshold = stored.secret_threshold if stored else int(initialised)
        return SealState(
            seal_type=self.seal.type,
            initialised=initialised,
            sealed=self._barrier.sealed,
            threshold=threshold,
            shares=shares,
            progress=len(self._unseal.shares) if self._barrier.sealed else 0,
            nonce=self._unseal.nonce if self._unseal.shares else "",
        )

    # Start ---------------------------------------------------------------------------------------

    async def start(self) -> None:
        """At start: an automatic seal unseals the node (an initialised one); a failure leaves it
        sealed with one clear log line, never a fallback."""
        if not await self._barrier.refresh_initialised() or not self.seal.automatic:
            if not self._barrier.initialised:
                log.warning(
                    "strongroom is not initialised (seal=%s): POST /api/v1/sys/init "
                    "(strongroom operator init)",
                    self.seal.type,
                )
            else:
                log.warning("starting sealed (seal=%s): unseal with key shares", self.seal.type)
            return
        stored = await self.config()
        try:
            root = self.seal.recover(stored.wrapped_root if stored else None)
        except SealUnavailable as exc:
            log.error("staying sealed: %s", exc)
            return
        try:
            await self._barrier.unseal(root)
        except WrongRootKey:
            log.error(
                "staying sealed: the %s seal's key does not open this keyring", self.seal.type
            )

    # Init ----------------------------------------------------------------------------------------

    async def initialise(self, secret_shares: int, secret_threshold: int) -> InitOutcome:
        """Create the root key and the keyring, once. The caller checked the init credential."""
        if await self._barrier.refresh_initialised():
            raise AlreadyInitialised()
        if self.seal.type != "shamir":
            secret_shares = secret_threshold = 1
        try:
            check_counts(secret_shares, secret_threshold)
        except ValueError as exc:
            raise InvalidInput(str(exc), loc=("body", "secret_threshold")) from None
        root = generate_root_key()
        try:
            sealed: SealedRoot = self.seal.create(root, secret_shares, secret_threshold)
        except SealUnavailable as exc:
            raise Conflict(str(exc), code="seal_unavailable") from None
        await self._barrier.initialise(root)
        async with self._db.begin() as conn:
            await repository.save(
                conn,
                SealConfig(self.seal.type, secret_shares, secret_threshold, sealed.wrapped_root),
            )
        log.info("initialised (seal=%s, %d of %d)", self.seal.type, secret_threshold, secret_shares)
        return InitOutcome(sealed.shares)

    # Unseal / seal -----------------------------------------------------------------------------

    async def unseal(self, key: str | None, reset: bool) -> None:
        """One share towards the quorum; at the quorum, combine and unseal. A wrong share set
        (or a malformed share) answers 400 and resets the progress."""
        if reset:
            self._unseal = Progress()
            return
        if not await self._barrier.refresh_initialised():
            raise NotInitialised()
        if not self._barrier.sealed:
            return
        stored = await self.config()
        threshold = stored.secret_threshold if stored else 1
        if key is None:
            raise InvalidInput("give a key share (key) or reset", loc=("body", "key"))
        try:
            share = Share.parse(key)
        except ValueError as exc:
            self._unseal = Progress()
            raise InvalidShare(f"{exc}; unseal progress reset") from None
        self._unseal.add(share)
        if len(self._unseal.shares) < threshold:
            return
        given, self._unseal = self._unseal.shares, Progress()
        try:
            root = combine(given, threshold)
            await self._barrier.unseal(root)
        except (ValueError, WrongRootKey):
            raise InvalidShare(
                "these key shares do not make this cluster's root key; unseal progress reset"
            ) from None
        log.info("unsealed with %d key shares", threshold)

    def seal_node(self) -> None:
        self._barrier.seal()
        self._unseal = Progress()

    # Rekey -------------------------------------------------------------------------------------

    def rekey_status(self) -> dict[str, object]:
        rekey = self._rekey
        if rekey is None:
            return {"nonce": "", "started": False, "t": 0, "n": 0, "progress": 0, "required": 0}
        return {
            "nonce": rekey.progress.nonce,
            "started": True,
            "t": rekey.secret_threshold,
            "n": rekey.secret_shares,
            "progress": len(rekey.progress.shares),
            "required": self._required,
        }

    async def rekey_init(self, secret_shares: int, secret_threshold: int) -> dict[str, object]:
        if self.seal.type != "shamir":
            raise Conflict("only a shamir seal has key shares to rekey", code="not_shamir")
        if self._rekey is not None:
            raise Conflict("a rekey is already in progress (cancel it first)", code="rekey_busy")
        try:
            check_counts(secret_shares, secret_threshold)
        except ValueError as exc:
            raise InvalidInput(str(exc), loc=("body", "secret_threshold")) from None
        stored = await self.config()
        self._required = stored.secret_threshold if stored else 1
        self._rekey = Rekey(secret_shares, secret_threshold)
        return self.rekey_status()

    def rekey_cancel(self) -> None:
        self._rekey = None

    async def rekey_update(self, key: str, nonce: str) -> tuple[dict[str, object], list[Share]]:
        """One old share; at the old quorum, a new root key split into new shares, the keyring
        rewrapped under it (the old shares then open nothing)."""
        rekey = self._rekey
        if rekey is None:
            raise BadRequest("no rekey in progress: start one with rekey/init", code="no_rekey")
        if not secrets.compare_digest(nonce.encode(), rekey.progress.nonce.encode()):
            raise BadRequest("that is not this rekey's nonce", code="invalid_nonce")
        try:
            share = Share.parse(key)
        except ValueError as exc:
            rekey.progress = Progress(nonce=rekey.progress.nonce)
            raise InvalidShare(f"{exc}; rekey progress reset") from None
        rekey.progress.add(share)
        if len(rekey.progress.shares) < self._required:
            return self.rekey_status(), []
        given = rekey.progress.shares
        rekey.progress = Progress(nonce=rekey.progress.nonce)
        try:
            old = combine(given, self._required)
            new = generate_root_key()
            await self._barrier.rewrap_root(old, new)
        except (ValueError, WrongRootKey):
            raise InvalidShare(
                "these key shares do not make this cluster's root key; rekey progress reset"
            ) from None
        sealed = self.seal.create(new, rekey.secret_shares, rekey.secret_threshold)
        async with self._db.begin() as conn:
            await repository.save(
                conn,
                SealConfig(self.seal.type, rekey.secret_shares, rekey.secret_threshold, None),
            )
        status = {**self.rekey_status(), "complete": True}
        self._rekey = None
        log.info("rekeyed: %d of %d new key shares", rekey.secret_threshold, rekey.secret_shares)
        return status, sealed.shares
