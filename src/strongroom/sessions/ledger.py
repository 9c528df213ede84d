"""The database's record of a Redis session store's generation (table `store_generations`).

One row per store (Redis key prefix): the current generation, and the identity of the Redis
process that holds its sessions. Rows change by compare-and-set, so nodes that notice the
same Redis restart at once agree on one new generation.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import insert, select, update
from sqlalchemy.exc import IntegrityError

from strongroom.db import Database
from strongroom.sessions.models import store_generations


@dataclass(frozen=True, slots=True)
class Recorded:
    generation: int
    identity: str  # "<run_id>/<master_replid>" of the Redis process (see generation.py)
    changed_at: float


class GenerationLedger:
    def __init__(self, db: Database, prefix: str) -> None:
        self._db = db
        self._prefix = prefix

    async def current(self) -> Recorded | None:
        query = select(
            store_generations.c.generation,
            store_generations.c.identity,
            store_generations.c.changed_at,
        ).where(store_generations.c.prefix == self._prefix)
        async with self._db.connect() as conn:
            row = (await conn.execute(query)).first()
        return None if row is None else Recorded(int(row[0]), str(row[1]), float(row[2]))

    async def start(self, generation: int, identity: str, at: float) -> bool:
        """Record the first generation; False if another node recorded one meanwhile."""
        values = {"prefix": self._prefix, "generation": generation, "identity": identity}
        try:
            async with self._db.begin() as conn:
                await conn.execute(insert(store_generations).values(**values, changed_at=at))
        except IntegrityError:
            return False
        return True

    async def advance(self, expected: int, generation: int, identity: str, at: float) -> bool:
        """Move from generation `expected` to `generation`, held by `identity`; False if the
        row is no longer at `expected` (another node moved it)."""
        statement = (
            update(store_generations)
            .where(
                store_generations.c.prefix == self._prefix,
                store_generations.c.generation == expected,
            )
            .values(generation=generation, identity=identity, changed_at=at)
        )
        async with self._db.begin() as conn:
            result = await conn.execute(statement)
        return bool(result.rowcount == 1)
