"""The per-node cache of hot secrets: their current version as stored (ciphertext, never a
plaintext), valid exactly as long as the secret's watched value in the session store holds.

The session check of every request already makes one round trip to Redis; the fast lane asks
it, in the same script, for the watched value of the secret the URL names (`secret:<id>`).
Writers mark that value pending before they commit and give it a new value after
(`SessionStore.begin_change`/`end_change`), so:

- a copy cached under value V is used only while the store still says V: any committed
  change since has replaced V, and the next read goes to the database;
- nothing is cached while a change is pending, or when the store offers no watching (the
  database session store: there a read of SQLite costs microseconds anyway);
- burn-after-N secrets (`max_reads`) and `?version=N` reads never come from here.

Entries also age out after `MAX_AGE` seconds: a last line of defence should Redis lose a
change's pending mark and the change's end fail too. Expiry of the secret itself is checked
on every read from the cached row, like any other.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from dataclasses import dataclass

from strongroom.secrets.repository import VersionedRow
from strongroom.services import Services
from strongroom.sessions.store import is_stable

CAPACITY = 10_000
MAX_AGE = 60.0


def watch_name(secret_id: str) -> str:
    return f"secret:{secret_id}"


@dataclass(frozen=True, slots=True)
class _Entry:
    watched: str
    row: VersionedRow
    stored_at: float


class SecretCache:
    def __init__(self, capacity: int = CAPACITY, max_age: float = MAX_AGE) -> None:
        self._entries: OrderedDict[str, _Entry] = OrderedDict()
        self._capacity = capacity
        self._max_age = max_age

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, secret_id: str, watched: str | None) -> VersionedRow | None:
        if not is_stable(watched):
            return None
        entry = self._entries.get(secret_id)
        if entry is None:
            return None
        if entry.watched != watched or time.monotonic() - entry.stored_at > self._max_age:
            del self._entries[secret_id]
            return None
        self._entries.move_to_end(secret_id)
        return entry.row

    def put(self, secret_id: str, watched: str | None, row: VersionedRow) -> None:
        if not self._capacity or not is_stable(watched) or row.secret.max_reads is not None:
            return
        if watched is None:  # (is_stable said so already; for the type checker)
            return
        self._entries[secret_id] = _Entry(watched, row, time.monotonic())
        self._entries.move_to_end(secret_id)
        if len(self._entries) > self._capacity:
            self._entries.popitem(last=False)


def secret_cache(services: Services) -> SecretCache:
    cache = services.extras.get("secret_cache")
    if not isinstance(cache, SecretCache):
        cache = services.extras["secret_cache"] = SecretCache(services.config.secret_cache_size)
    return cache
