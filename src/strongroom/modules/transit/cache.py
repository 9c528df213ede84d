"""The per-node cache of hot transit keys: a key's latest version as stored (its row and the
material blob, never the material in clear), valid exactly as long as the key name's watched
value in the session store holds. The same scheme as the secret cache (secrets/cache.py):

- the fast lane's session check asks the store, in the same round trip, for the watched value
  of `transit:<key name>` (one name for that key name of every user: a change of anyone's key
  of that name drops everyone's copy, which costs a read, never a stale answer);
- every change that can alter what a use of a key finds marks the names pending before it
  commits and gives them new values after (`changing`): creating, rotating, configuring or
  deleting a key, and enabling, disabling or purging the module for a user (all their keys);
- `--secret-cache-size 0` turns this cache off too;
- only lookups of the latest version are cached (encrypt, datakey, sign); a ciphertext of an
  older version is looked up in the database;
- nothing is cached while a change is pending, nor with the database session store (it offers
  no watching, and there a lookup costs microseconds anyway); entries also age out after
  `MAX_AGE` seconds.

Whether the module is available and the caller's role may use it is checked on every request
from the node's settings, which the session check keeps current (the config epoch).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import OrderedDict
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass

from strongroom.modules.transit.repository import VersionRow, key_names
from strongroom.services import Services
from strongroom.sessions.store import StoreUnavailable, is_stable

log = logging.getLogger(__name__)
CAPACITY = 10_000
MAX_AGE = 60.0


def watch_name(key_name: str) -> str:
    return f"transit:{key_name}"


@dataclass(slots=True)  # built per request: a frozen __init__ costs 8x; never mutated
class _Entry:
    watched: str
    row: VersionRow
    stored_at: float


class KeyCache:
    def __init__(self, capacity: int = CAPACITY, max_age: float = MAX_AGE) -> None:
        self._entries: OrderedDict[tuple[str, str], _Entry] = OrderedDict()
        self._capacity = capacity
        self._max_age = max_age

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, user_id: str, name: str, watched: str | None) -> VersionRow | None:
        if not is_stable(watched):
            return None
        slot = (user_id, name)
        entry = self._entries.get(slot)
        if entry is None:
            return None
        if entry.watched != watched or time.monotonic() - entry.stored_at > self._max_age:
            del self._entries[slot]
            return None
        self._entries.move_to_end(slot)
        return entry.row

    def put(self, user_id: str, name: str, watched: str | None, row: VersionRow) -> None:
        if not self._capacity or watched is None or not is_stable(watched) or not row.enabled:
            return
        slot = (user_id, name)
        self._entries[slot] = _Entry(watched, row, time.monotonic())
        self._entries.move_to_end(slot)
        if len(self._entries) > self._capacity:
            self._entries.popitem(last=False)


def key_cache(services: Services) -> KeyCache:
    cache = services.extras.get("transit.keys")
    if not isinstance(cache, KeyCache):
        capacity = CAPACITY if services.config.secret_cache_size else 0
        cache = services.extras["transit.keys"] = KeyCache(capacity)
    return cache


@asynccontextmanager
async def changing(services: Services, key_names: Iterable[str]) -> AsyncIterator[None]:
    """Bracket a change of these keys for every node's cache: pending before, new values
    after. If a closing call fails (or the request is cancelled), the mark stays pending until
    it expires: nodes then read the database, never a stale copy."""
    names = [watch_name(name) for name in sorted(set(key_names))]
    tokens = [await services.store.begin_change(name) for name in names]
    try:
        yield
    except asyncio.CancelledError:
        raise  # the marks stay pending
    except BaseException:
        await _end(services, names, tokens)
        raise
    await _end(services, names, tokens)


@asynccontextmanager
async def changing_user(services: Services, user_id: str) -> AsyncIterator[None]:
    """Bracket a change of the module for one user (enable, disable, purge): every key of
    theirs, those there before and any that appeared meanwhile, gets a new watched value."""
    async with services.db.connect() as conn:
        before = await key_names(conn, user_id)
    async with changing(services, before):
        yield
    async with services.db.connect() as conn:
        appeared = set(await key_names(conn, user_id)) - set(before)
    if appeared:
        async with changing(services, appeared):
            pass


async def _end(services: Services, names: list[str], tokens: list[str]) -> None:
    for name, token in zip(names, tokens, strict=True):
        try:
            await services.store.end_change(name, token)
        except StoreUnavailable:
            log.warning("could not close the cache mark of %s; it expires", name)
