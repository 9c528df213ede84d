"""The rewrap job: after a rotation, every stored value re-encrypted under the newest data key.

It walks every barrier-encrypted column, stage by stage, in key order, a batch per
transaction:

    stage            table                    blob            how
    secret_keys      secret_version_keys      wrapped_key     the value's own key rewrapped
                                                              (Barrier.rewrap_value_key)
    secret_values    secret_versions          ciphertext      values from before envelopes
                                                              (under the keyring itself)
    module:<table>   modules/stored.BARRIER_COLUMNS           decrypt + encrypt
    shares           shares                   blob            decrypt + encrypt ("share:<id>")
    settings         settings                 secret_value    decrypt + encrypt

A blob is rewritten only if it is still the one read (a concurrent write already used the
newest key). The job's row (`rewrap_jobs`) holds the stage and the cursor, committed in the
same transaction as each batch, and a lease: one worker of one node runs it at a time; after a
crash, another (or the restarted node) takes the lease once it expires and resumes from the
cursor. Nothing is decrypted outside the barrier; no plaintext is logged.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import socket
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy import Table, and_, func, insert, or_, select, tuple_, update

from strongroom.barrier.models import rewrap_jobs
from strongroom.crypto import DecryptionError
from strongroom.crypto.aead import blob_key_version
from strongroom.crypto.envelope import DEK_VERSION
from strongroom.db import now
from strongroom.errors import Conflict
from strongroom.services import Services

log = logging.getLogger(__name__)
LEASE_SECONDS = 10.0

Kind = Literal["dek", "blob"]


@dataclass(frozen=True)
class Stage:
    name: str
    table: Table
    keys: tuple[str, ...]
    blob: str
    binding: Callable[[Mapping[str, Any]], bytes]
    kind: Kind = "blob"


def stages() -> list[Stage]:
    from strongroom.modules.stored import BARRIER_COLUMNS
    from strongroom.secrets.models import secret_version_keys, secret_versions
    from strongroom.secrets.validation import binding
    from strongroom.shares.models import shares
    from strongroom.shares.service import share_binding
    from strongroom.system.models import settings
    from strongroom.system.runtime import setting_binding

    def secret(row: Mapping[str, Any]) -> bytes:
        return binding(row["secret_id"], row["version"])

    return [
        Stage(
            "secret_keys",
            secret_version_keys,
            ("secret_id", "version"),
            "wrapped_key",
            secret,
            "dek",
        ),
        Stage("secret_values", secret_versions, ("secret_id", "version"), "ciphertext", secret),
        *(
            Stage(f"module:{c.table.name}", c.table, c.key_columns, c.blob_column, c.binding)
            for c in BARRIER_COLUMNS
        ),
        Stage("shares", shares, ("id",), "blob", lambda row: share_binding(row["id"])),
        Stage(
            "settings", settings, ("key",), "secret_value", lambda row: setting_binding(row["key"])
        ),
    ]


def stale(blob: bytes | None, target: int, stage: Stage) -> bool:
    """Whether a stored blob is under a data key older than `target`."""
    if blob is None:
        return False
    try:
        version = blob_key_version(blob)
    except DecryptionError:
        return False
    if stage.kind == "blob" and version == DEK_VERSION:
        return False  # a value under its own key: its wrapped key is what gets rewrapped
    return version < target


@dataclass
class JobView:
    id: str
    state: str
    data_version: int
    stage: str
    done: int
    total: int
    started_at: float
    finished_at: float | None


class LostLease(Exception):
    """Another worker took the job over (this one was too slow to renew its lease)."""


class Rewrapper:
    """The node's runner of rewrap jobs (one per process)."""

    def __init__(self, services: Services) -> None:
        self._services = services
        self._owner = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self._task: asyncio.Task[None] | None = None

    def __repr__(self) -> str:
        return f"Rewrapper(owner={self._owner!r})"

    # API ---------------------------------------------------------------------------------------

    async def start(self) -> JobView:
        """Start a job towards the newest data key (or return the one running) and run it."""
        services = self._services
        target = services.barrier.keyring.data_version
        running = await self.latest()
        if running is not None and running.state == "running":
            self.resume_soon()
            return running
        job_id = str(uuid.uuid4())
        total = await self._count_all()
        async with services.db.begin() as conn:
            await conn.execute(
                insert(rewrap_jobs).values(
                    id=job_id,
                    data_version=target,
                    stage=stages()[0].name,
                    cursor="",
                    done=0,
                    total=total,
                    state="running",
                    lease_owner=None,
                    lease_until=None,
                    started_at=now(),
                    finished_at=None,
                )
            )
        self.resume_soon()
        view = await self.latest()
        assert view is not None
        return view

    async def latest(self) -> JobView | None:
        async with self._services.db.connect() as conn:
            row = (
                (
                    await conn.execute(
                        select(rewrap_jobs).order_by(rewrap_jobs.c.started_at.desc()).limit(1)
                    )
                )
                .mappings()
                .first()
            )
        if row is None:
            return None
        return JobView(
            row["id"],
            row["state"],
            row["data_version"],
            row["stage"],
            row["done"],
            row["total"],
            row["started_at"],
            row["finished_at"],
        )

    async def remaining(self, target: int) -> int:
        """Stored blobs under a data key older than `target`, over every stage (a check)."""
        count = 0
        async with self._services.db.connect() as conn:
            for stage in stages():
                column = stage.table.c[stage.blob]
                for (blob,) in await conn.execute(select(column).where(column.is_not(None))):
                    count += stale(blob, target, stage)
        return count

    def resume_soon(self) -> None:
        """Run the job in the background if it needs a runner and this worker may take it."""
        if self._services.barrier.sealed:
            return
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._run())

    async def aclose(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    # Running -----------------------------------------------------------------------------------

    async def _run(self) -> None:
        try:
            job = await self._take_lease()
            if job is None:
                return
            await self._work(job)
        except LostLease:
            log.warning("rewrap: another worker took the job over")
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("rewrap: the job stopped; it resumes at the next sweep")

    async def _take_lease(self) -> JobView | None:
        at = now()
        job = await self.latest()
        if job is None or job.state != "running":
            return None
        table = rewrap_jobs.c
        async with self._services.db.begin() as conn:
            taken = await conn.execute(
                update(rewrap_jobs)
                .where(
                    table.id == job.id,
                    table.state == "running",
                    or_(
                        table.lease_owner.is_(None),
                        table.lease_until < at,
                        table.lease_owner == self._owner,
                    ),
                )
                .values(lease_owner=self._owner, lease_until=at + LEASE_SECONDS)
            )
        return job if taken.rowcount == 1 else None

    async def _work(self, job: JobView) -> None:
        config = self._services.config
        all_stages = stages()
        names = [stage.name for stage in all_stages]
        async with self._services.db.connect() as conn:
            cursor_text = (
                await conn.execute(select(rewrap_jobs.c.cursor).where(rewrap_jobs.c.id == job.id))
            ).scalar_one()
        index = names.index(job.stage) if job.stage in names else 0
        cursor = json.loads(cursor_text) if cursor_text else None
        done = job.done
        log.info(
            "rewrap: job %s towards data key %d from %s", job.id, job.data_version, names[index]
        )
        while index < len(all_stages):
            stage = all_stages[index]
            cursor, scanned = await self._batch(job, stage, cursor, done, config.rewrap_batch_size)
            done += scanned
            if cursor is None:
                index += 1
                if index < len(all_stages):
                    await self._advance(job, all_stages[index].name, done)
            if config.rewrap_batch_pause:
                await asyncio.sleep(config.rewrap_batch_pause)
        await self._finish(job, done)
        log.info("rewrap: job %s done (%d values)", job.id, done)

    async def _batch(
        self, job: JobView, stage: Stage, cursor: list[Any] | None, done: int, size: int
    ) -> tuple[list[Any] | None, int]:
        barrier = self._services.barrier
        keys = [stage.table.c[name] for name in stage.keys]
        blob_column = stage.table.c[stage.blob]
        query = select(*keys, blob_column).order_by(*keys).limit(size)
        if cursor is not None:
            query = query.where(tuple_(*keys) > tuple_(*cursor))
        async with self._services.db.begin() as conn:
            rows = (await conn.execute(query)).mappings().all()
            for row in rows:
                old = row[stage.blob]
                if not stale(old, job.data_version, stage):
                    continue
                bound = stage.binding({name: row[name] for name in stage.keys})
                if stage.kind == "dek":
                    new = barrier.rewrap_value_key(old, bound)
                else:
                    new = barrier.encrypt(await barrier.decrypt(old, bound), bound)
                match = and_(*(column == row[column.name] for column in keys), blob_column == old)
                await conn.execute(update(stage.table).where(match).values({stage.blob: new}))
            last = [row[name] for name in stage.keys] if len(rows) == size else None
            await self._checkpoint(conn, job, stage.name, last, done + len(rows))
        return last, len(rows)

    async def _checkpoint(
        self, conn: Any, job: JobView, stage: str, cursor: list[Any] | None, done: int
    ) -> None:
        table = rewrap_jobs.c
        saved = await conn.execute(
            update(rewrap_jobs)
            .where(table.id == job.id, table.lease_owner == self._owner)
            .values(
                stage=stage,
                cursor=json.dumps(cursor) if cursor is not None else "",
                done=done,
                lease_until=now() + LEASE_SECONDS,
            )
        )
        if saved.rowcount != 1:
            raise LostLease()

    async def _advance(self, job: JobView, stage: str, done: int) -> None:
        async with self._services.db.begin() as conn:
            await self._checkpoint(conn, job, stage, None, done)

    async def _finish(self, job: JobView, done: int) -> None:
        async with self._services.db.begin() as conn:
            await conn.execute(
                update(rewrap_jobs)
                .where(rewrap_jobs.c.id == job.id, rewrap_jobs.c.lease_owner == self._owner)
                .values(
                    state="done",
                    done=done,
                    finished_at=now(),
                    lease_owner=None,
                    lease_until=None,
                    cursor="",
                )
            )

    async def _count_all(self) -> int:
        total = 0
        async with self._services.db.connect() as conn:
            for stage in stages():
                total += int(
                    (await conn.execute(select(func.count()).select_from(stage.table))).scalar_one()
                )
        return total


def rewrapper_of(services: Services) -> Rewrapper:
    runner = services.extras.get("rewrap")
    if runner is None:
        runner = services.extras["rewrap"] = Rewrapper(services)
    assert isinstance(runner, Rewrapper)
    return runner


__all__ = ["Conflict", "JobView", "Rewrapper", "rewrapper_of"]
