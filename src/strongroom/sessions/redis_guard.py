"""What a node checks on every new Redis connection before any request may use it, and the
generation its sessions belong to (sessions/generation.py).

A new connection must reach a primary that has finished loading its data (else 503, and the
next call tries again); if it is another Redis process than the one this node trusted (a
restart, a failover), the generation is settled with the database before the connection is
used. The persistence settings of each new process are reported in the log.
"""

from __future__ import annotations

import asyncio
import secrets

from sqlalchemy.exc import SQLAlchemyError

from strongroom.db import Database
from strongroom.db.engine import DatabaseUnavailable
from strongroom.sessions import redis_scripts as lua
from strongroom.sessions.generation import (
    GenerationUnsettled,
    identity_of,
    parse_generation,
    parse_info,
    settle,
)
from strongroom.sessions.ledger import GenerationLedger
from strongroom.sessions.redis_persistence import CONFIG_KEYS, config_reply, log_persistence
from strongroom.sessions.redis_replies import Call, Script, checked, evalsha
from strongroom.sessions.redis_wire import Handshake
from strongroom.sessions.store import StoreUnavailable

_RAISE = Script(lua.RAISE_GENERATION)


class GenerationGuard:
    """The Redis process a node trusts (`identity`) and the current `generation` (as the
    decimal string the guarded scripts compare; "" before the first connection)."""

    def __init__(self, db: Database, prefix: str) -> None:
        self._ledger = GenerationLedger(db, prefix)
        self._gen_key = f"{prefix}gen"
        self._epoch_key = f"{prefix}epoch"
        self.identity: str | None = None
        self.generation = ""
        self._lock: asyncio.Lock | None = None

    async def on_connect(self, handshake: Handshake) -> None:
        """The check of a new connection (RedisWire's `on_connect`)."""
        info = parse_info(
            checked(await handshake.call("INFO", "server", "replication", "persistence"))
        )
        if info.get("loading") == "1":
            raise StoreUnavailable("LOADING")
        if info.get("role") != "master":
            raise StoreUnavailable("READONLY")
        identity = identity_of(info)
        if identity == self.identity:
            return  # the connection broke, Redis did not change
        await self._settle(identity, handshake.call, seen=self.generation)
        log_persistence(await _persistence_config(handshake.call))

    async def resettle(self, call: Call, seen: str) -> None:
        """After a guarded script said this node's generation `seen` is not Redis's."""
        if self.identity is None:
            raise StoreUnavailable("not connected")
        await self._settle(self.identity, call, seen=seen)

    async def check_identity(self, call: Call) -> None:
        """Whether the connected Redis is still the process trusted (the sweeper asks now and
        then: a server turned replica and back keeps its connections)."""
        info = parse_info(checked(await call("INFO", "server", "replication")))
        identity = identity_of(info)
        if self.identity is not None and identity != self.identity:
            await self._settle(identity, call, seen=self.generation)

    async def _settle(self, identity: str, call: Call, *, seen: str) -> None:
        if self._lock is None:
            self._lock = asyncio.Lock()
        async with self._lock:
            if self.generation != seen and self.identity == identity:
                return  # settled by another caller while this one waited

            async def raise_to(generation: int, new_epoch: bool) -> int:
                epoch = secrets.token_hex(8) if new_epoch else ""
                keys, args = (self._gen_key, self._epoch_key), (str(generation), epoch)
                held = parse_generation(checked(await evalsha(call, _RAISE, keys, args)))
                return held if held is not None else 0

            stored = parse_generation(checked(await call("GET", self._gen_key)))
            try:
                generation = await settle(self._ledger, identity, stored, raise_to)
            except (DatabaseUnavailable, SQLAlchemyError, OSError, GenerationUnsettled) as exc:
                raise StoreUnavailable(f"generation: {type(exc).__name__}") from None
            self.identity, self.generation = identity, str(generation)


async def _persistence_config(call: Call) -> dict[str, str] | None:
    reply = await call("CONFIG", "GET", *CONFIG_KEYS)
    if not isinstance(reply, list):
        return None  # refused (an error reply): managed services often disable CONFIG
    return config_reply(reply)
