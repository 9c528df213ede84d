"""Generations of the Redis session store: no Redis restart ever brings a dead token back.

Redis may lose or roll back data: a restart from an RDB snapshot (its default persistence)
brings back every session, token and rotated refresh token as they were at the snapshot,
revoked ones included; a restart without persistence, or a flush, loses everything; a
Sentinel failover promotes a replica that may lag behind. So every session carries the
*generation* it was created in, Redis holds the current generation (key `gen`), and the
database records it too, with the identity of the Redis process that holds it (ledger.py).
A session is alive only while its generation is the current one: the scripts that accept a
token check both in the same atomic step (redis_scripts.py).

Each node checks, on every new connection (and a restart or failover always breaks the old
ones), which process it reached: its `run_id` (new at every start of a Redis process) and its
replication id (new when a replica is promoted or a server resynchronises from another).
`settle` then compares that identity and Redis's generation with the database's record:

- the same process holding the recorded generation: nothing happened;
- another process (restarted from a snapshot or empty, failed over), or Redis ahead of the
  database (restored from a backup): a new generation begins. Every session issued before it
  is dead, whatever Redis still holds: users log in again;
- the same process behind the record, or without a generation: another node has just
  recorded a new one and not yet told Redis (or died before it did), or Redis was flushed
  while running (which loses sessions, never brings one back): Redis is brought up to the
  record, with a new config epoch.

Raising the generation in Redis also sets a new config epoch, so every node reloads its
settings, and each node drops its cached secrets when its generation changes
(secrets/cache.py): nothing cached before the loss is served after it.

This holds whatever the Redis persistence. With an append-only file fsynced on every write
(`appendfsync always`) a restart of the same server loses nothing, but a node cannot tell
from outside that the new process loaded that file rather than an older snapshot, or that a
promoted replica had every write: every new Redis process starts a new generation.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass

from strongroom.db import now
from strongroom.sessions.ledger import GenerationLedger, Recorded

log = logging.getLogger(__name__)

FIRST_GENERATION = 1
# Rounds of "read the record, act, make Redis agree" before giving up (nodes racing each
# other settle within two).
MAX_ROUNDS = 5

# raise_to(generation, new_epoch): make Redis hold at least `generation` (and, with
# `new_epoch`, a new config epoch); returns the generation Redis then holds.
RaiseTo = Callable[[int, bool], Awaitable[int]]


class GenerationUnsettled(Exception):
    """The generation could not be agreed on (nodes kept moving it); try again later."""


def identity_of(info: Mapping[str, str]) -> str:
    """The identity of a Redis process, from its INFO: run id and replication id."""
    return f"{info.get('run_id', '')}/{info.get('master_replid', '')}"


def parse_info(text: str) -> dict[str, str]:
    """INFO's "key:value" lines as a dict (section headers and blank lines skipped)."""
    fields: dict[str, str] = {}
    for line in text.splitlines():
        key, separator, value = line.partition(":")
        if separator and not key.startswith("#"):
            fields[key.strip()] = value.strip()
    return fields


def parse_generation(value: object) -> int | None:
    """Redis's `gen` value as a number; None when it is missing (or not one)."""
    if isinstance(value, str) and value.isdigit():
        return int(value)
    return None


@dataclass(frozen=True, slots=True)
class Decision:
    generation: int
    write: str  # "none", "start" (first record), "advance" (a new generation)
    expected: int = 0  # for "advance": the generation the record must still be at
    loss: str = ""  # why a new generation begins (logged); "" when none does


def decide(recorded: Recorded | None, identity: str, stored: int | None) -> Decision:
    """What to do, given the database's record, the identity of the Redis process reached
    and the generation it holds."""
    if recorded is None:
        if stored is None:
            return Decision(FIRST_GENERATION, "start")
        return Decision(
            stored + 1,
            "start",
            loss="the database has no record of the session store's generation, Redis has "
            "one (a new or restored database)",
        )
    if recorded.identity == identity and (stored is None or stored <= recorded.generation):
        # The recorded process, which cannot have rolled back: if it is behind, a node recorded
        # a new generation and has not raised it in Redis yet (or was flushed); raised now.
        return Decision(recorded.generation, "none")
    if recorded.identity != identity:
        loss = "Redis is not the process that held the sessions (a restart or a failover)"
    else:
        loss = "Redis is ahead of the database's record (a database restored from a backup?)"
    generation = max(recorded.generation, stored or 0) + 1
    return Decision(generation, "advance", expected=recorded.generation, loss=loss)


async def settle(
    ledger: GenerationLedger, identity: str, stored: int | None, raise_to: RaiseTo
) -> int:
    """The current generation, agreed between the database and Redis (see the module
    docstring); `raise_to` is how Redis is told (see `RaiseTo`)."""
    for _ in range(MAX_ROUNDS):
        recorded = await ledger.current()
        decision = decide(recorded, identity, stored)
        if not await _record(ledger, decision, identity):
            continue  # another node moved the record first: look again
        if decision.loss:
            log.warning(
                "the session store may have lost data: %s. Every session issued before now "
                "has ended (generation %s -> %d): users log in again; every node drops its "
                "cached secrets and reloads its settings",
                decision.loss,
                "none" if recorded is None else recorded.generation,
                decision.generation,
            )
        elif decision.write == "start":
            log.info("session store generation %d begins", decision.generation)
        if stored == decision.generation:
            return decision.generation
        # Every node reloads its settings after a loss; not at the very first generation.
        first = decision.write == "start" and not decision.loss
        stored = await raise_to(decision.generation, not first)
        if stored == decision.generation:
            return decision.generation
    raise GenerationUnsettled("the session store's generation kept moving")


async def _record(ledger: GenerationLedger, decision: Decision, identity: str) -> bool:
    if decision.write == "start":
        return await ledger.start(decision.generation, identity, now())
    if decision.write == "advance":
        return await ledger.advance(decision.expected, decision.generation, identity, now())
    return True
