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

Should the store lose or roll back data (a Redis restarted from an old snapshot brings old
watched values back), its generation changes (sessions/generation.py) and the whole cache is
dropped before anything is read from it: no node serves a version older than the database's.

Entries also age out after `MAX_AGE` seconds: a last line of defence should Redis lose a
change's pending mark and the change's end fail too. Expiry of the secret itself is checked
on every read from the cached row, like any other.

A cached row carries a ciphertext and its wrapped key (never an unwrapped key: unwrapping
costs about a microsecond a read). When a secret is destroyed (secrets/erasure.py), the node
that destroyed it drops its entry at once (`forget`); every other node's entry stops matching
the watched value, and goes at its next read or, unread, when the sweeper drops aged entries
(`drop_aged`): no node keeps a destroyed version past `MAX_AGE` plus one sweep interval.

A secret is cached from its second read on (`wants`): the first read of an id this node has
not seen lately neither asks for the watched value nor stores the row. Watching costs Redis
a read and, for a name nobody watched yet, a write; reads spread over a million secrets
mostly miss a 10,000-entry cache, and paid that for nothing (5,069 reads/s with the cache
against 6,342 without it, at 1,000,000 secrets).
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
# About 200 bytes an entry: 100,000 ids cost some 20 MB per worker at most.
PATH_MEMO_CAPACITY = 100_000


def watch_name(secret_id: str) -> str:
    return f"secret:{secret_id}"


@dataclass(slots=True)  # built per request: a frozen __init__ costs 8x; never mutated
class _Entry:
    watched: str
    row: VersionedRow
    stored_at: float


class SecretCache:
    def __init__(self, capacity: int = CAPACITY, max_age: float = MAX_AGE) -> None:
        self._entries: OrderedDict[str, _Entry] = OrderedDict()
        self._capacity = capacity
        self._max_age = max_age
        # Ids read once lately (oldest first), up to twice the capacity.
        self._seen: dict[str, None] = {}
        # The session store's generation the entries were cached under.
        self._generation = ""

    def align(self, generation: str) -> None:
        """Drop everything if the store's generation is no longer the one of the entries."""
        if generation != self._generation:
            self._entries.clear()
            self._seen.clear()
            self._generation = generation

    def wants(self, secret_id: str) -> bool:
        """Whether a read of `secret_id` should watch it (and so may use and fill the cache):
        it is cached, or was read lately. A first read only notes the id."""
        if not self._capacity:
            return False
        if secret_id in self._entries or secret_id in self._seen:
            return True
        if len(self._seen) >= 2 * self._capacity:
            del self._seen[next(iter(self._seen))]
        self._seen[secret_id] = None
        return False

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

    def forget(self, secret_id: str) -> None:
        self._entries.pop(secret_id, None)

    def drop_aged(self) -> int:
        """Drop every entry older than `max_age` (each would be refused at its next read);
        the number dropped."""
        oldest = time.monotonic() - self._max_age
        aged = [key for key, entry in self._entries.items() if entry.stored_at < oldest]
        for key in aged:
            del self._entries[key]
        return len(aged)

    @property
    def generation(self) -> str:
        return self._generation

    def put(self, secret_id: str, watched: str | None, row: VersionedRow, generation: str) -> None:
        """Keep `row`, read while `watched` was the secret's value, in the store generation
        `generation` (the cache's when the read began: if it moved since, nothing is kept)."""
        if not self._capacity or not is_stable(watched) or row.secret.max_reads is not None:
            return
        if row.ciphertext is None:  # destroyed: nothing worth keeping, a 404 from the database
            return
        if generation != self._generation:
            return
        if watched is None:  # (is_stable said so already; for the type checker)
            return
        self._entries[secret_id] = _Entry(watched, row, time.monotonic())
        self._entries.move_to_end(secret_id)
        if len(self._entries) > self._capacity:
            self._entries.popitem(last=False)


def secret_cache(services: Services) -> SecretCache:
    """This node's cache, emptied first if the session store's generation changed."""
    cache = services.extras.get("secret_cache")
    if not isinstance(cache, SecretCache):
        cache = services.extras["secret_cache"] = SecretCache(services.config.secret_cache_size)
    cache.align(services.store.generation)
    return cache


class PathMemo:
    """Secret id -> path, for the writes that skip reading the row first.

    A secret's `path` changes only when it is moved (secrets/moving.py; delete and undelete
    only release and retake its claim, `path_key`), so the policy check of a write may use an
    entry before the database is asked anything, provided the write's own conditional
    statement also requires the secret to be still at that path (hot_writes.bump_from): after
    a move on another node, the write changes nothing and the caller reads the row again.
    Whether the secret is still live, and at which version, is left to that statement too.
    Oldest entries go first beyond `capacity`.
    """

    def __init__(self, capacity: int = PATH_MEMO_CAPACITY) -> None:
        self._paths: dict[str, str] = {}
        self._capacity = capacity

    def __len__(self) -> int:
        return len(self._paths)

    def get(self, secret_id: str) -> str | None:
        return self._paths.get(secret_id)

    def remember(self, secret_id: str, path: str) -> None:
        paths = self._paths
        if secret_id in paths:
            paths[secret_id] = path  # the same, or where a move took it
            return
        if len(paths) >= self._capacity:
            del paths[next(iter(paths))]
        paths[secret_id] = path


def path_memo(services: Services) -> PathMemo:
    memo = services.extras.get("path_memo")
    if not isinstance(memo, PathMemo):
        memo = services.extras["path_memo"] = PathMemo()
    return memo
