"""The snapshot (a stream of JSON lines) and the restore of one into an empty server.

A snapshot is read in one transaction (PostgreSQL: REPEATABLE READ; SQLite: one read
transaction on the WAL), so it is consistent while writes go on, and streamed a few hundred
rows at a time: memory stays flat whatever the size. Its lines: a header (format, version,
the schema's migration revision, the tables and their columns), then one `{"t", "r"}` per
row, then `{"end": true, "rows": N}`. The client encrypts it (strongroom_client/archive.py);
the server never sees the passphrase.

A restore reads the same lines as they arrive, in one transaction: it refuses a server that
holds any secret, a backup of another schema revision, and a keyring that this server's
root key does not unwrap (the backup is then useless here: nothing is changed); it replaces
the users, roles, settings, keyring and the rest with the backup's, and with `dry_run` rolls
everything back after checking every line.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import orjson
from sqlalchemy import Integer, Table, delete, func, insert, select, text
from sqlalchemy.ext.asyncio import AsyncConnection

from strongroom.backup.rows import FORMAT, VERSION, binary_columns, decode, encode, tables
from strongroom.crypto.keyring import KeyPurpose, WrappedKey
from strongroom.db import now
from strongroom.errors import BadRequest, Conflict
from strongroom.secrets.models import secrets
from strongroom.services import Services
from strongroom.users.models import users

BATCH = 500
MAX_LINE = 4 * 1024 * 1024


async def _revision(conn: AsyncConnection) -> str:
    return str((await conn.execute(text("SELECT version_num FROM alembic_version"))).scalar())


async def snapshot(services: Services, *, sessions: bool) -> AsyncIterator[bytes]:
    """The backup's lines, a batch at a time, from one consistent read."""
    chosen = tables(sessions=sessions)
    async with services.db.connect() as conn:
        if services.db.is_sqlite:
            await conn.exec_driver_sql("BEGIN")  # one read snapshot for every table
        else:
            conn = await conn.execution_options(isolation_level="REPEATABLE READ")
        try:
            header = {
                "format": FORMAT,
                "version": VERSION,
                "revision": await _revision(conn),
                "created_at": now(),
                "tables": {str(t.name): [str(c.name) for c in t.columns] for t in chosen},
            }
            yield orjson.dumps(header) + b"\n"
            total = 0
            for table in chosen:
                binary, name = binary_columns(table), str(table.name)
                query = select(table).order_by(*table.primary_key.columns)
                result = await conn.stream(query.execution_options(yield_per=BATCH))
                async for partition in result.partitions(BATCH):
                    total += len(partition)
                    yield b"".join(
                        orjson.dumps({"t": name, "r": encode(row, binary)}) + b"\n"
                        for row in partition
                    )
            yield orjson.dumps({"end": True, "rows": total}) + b"\n"
        finally:
            await conn.rollback()


@dataclass
class RestoreReport:
    dry_run: bool
    revision: str = ""
    tables: dict[str, int] = field(default_factory=dict)


async def lines_of(chunks: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
    """Lines of a byte stream, however it is cut; a line over MAX_LINE is refused."""
    pending = b""
    async for chunk in chunks:
        pending += chunk
        *whole, pending = pending.split(b"\n")
        for line in whole:
            if line:
                yield line
        if len(pending) > MAX_LINE:
            raise BadRequest("a line of the backup is too long: not a strongroom backup")
    if pending:
        yield pending


class _Restore:
    def __init__(self, services: Services, conn: AsyncConnection, report: RestoreReport) -> None:
        self.services, self.conn, self.report = services, conn, report
        self.replaced_users: list[str] = []
        self.by_name: dict[str, Table] = {}
        self.table: Table | None = None
        self.batch: list[dict[str, Any]] = []
        self.keyring: list[WrappedKey] = []
        self.ended = False

    async def header(self, line: bytes) -> None:
        head = _json(line)
        if not isinstance(head, dict) or head.get("format") != FORMAT:
            raise BadRequest("not a strongroom backup")
        if head.get("version") != VERSION:
            raise BadRequest(f"backup format version {head.get('version')!r} is not supported")
        revision = await _revision(self.conn)
        if head.get("revision") != revision:
            raise Conflict(
                f"the backup is of schema revision {head.get('revision')!r}, this server is at "
                f"{revision!r}: restore into a server of the same version",
                code="revision_mismatch",
            )
        self.report.revision = revision
        known = {table.name: table for table in tables(sessions=True)}
        listed = head.get("tables")
        if not isinstance(listed, dict) or not set(listed) <= set(known):
            raise BadRequest("the backup lists tables this server does not have")
        for name, columns in listed.items():
            if columns != [c.name for c in known[name].columns]:
                raise BadRequest(f"the backup's table {name!r} has other columns")
            self.by_name[name] = known[name]
        if await self._held_secrets():
            raise Conflict(
                "this server already holds secrets: restore only into an empty server",
                code="not_empty",
            )
        # Everything the backup replaces goes, and every session (its users are replaced):
        # the sessions table here, the session store's sessions after the commit.
        self.replaced_users = [
            str(user_id) for user_id in (await self.conn.execute(select(users.c.id))).scalars()
        ]
        for table in reversed(tables(sessions=True)):
            await self.conn.execute(delete(table))

    async def _held_secrets(self) -> int:
        return int(
            (await self.conn.execute(select(func.count()).select_from(secrets))).scalar() or 0
        )

    async def row(self, line: bytes) -> None:
        item = _json(line)
        if not isinstance(item, dict):
            raise BadRequest("malformed line in the backup")
        if item.get("end") is True:
            await self.flush()
            if item.get("rows") != sum(self.report.tables.values()):
                raise BadRequest("the backup is incomplete (row count differs)")
            self.ended = True
            return
        table = self.by_name.get(item.get("t", ""))
        if table is None or not isinstance(item.get("r"), list):
            raise BadRequest("malformed line in the backup")
        if table is not self.table:
            await self.flush()
            self.table = table
        values = decode(item["r"], binary_columns(table))
        if len(values) != len(table.columns):
            raise BadRequest(f"a row of {table.name!r} has the wrong number of values")
        self.batch.append(dict(zip((c.name for c in table.columns), values, strict=True)))
        if len(self.batch) >= BATCH:
            await self.flush()

    async def flush(self) -> None:
        table = self.table
        if table is None or not self.batch:
            return
        if table.name == "keyring":
            self.keyring += [
                WrappedKey(KeyPurpose(r["purpose"]), r["version"], r["wrapped_key"])
                for r in self.batch
            ]
        await self.conn.execute(insert(table), self.batch)
        self.report.tables[table.name] = self.report.tables.get(table.name, 0) + len(self.batch)
        self.batch = []

    async def finish(self) -> None:
        if not self.ended:
            raise BadRequest("the backup is truncated (no end line)")
        if not self.services.barrier.fits(self.keyring):
            raise Conflict(
                "the backup's keyring is not wrapped by this server's root key: start this "
                "server with the root key (or the shares) of the server the backup came from",
                code="wrong_root_key",
            )
        if not self.services.db.is_sqlite:
            await _advance_sequences(self.conn, list(self.by_name.values()))


async def _advance_sequences(conn: AsyncConnection, chosen: list[Table]) -> None:
    """PostgreSQL: serial ids restored as given leave their sequences behind; move them on."""
    for table in chosen:
        for column in table.primary_key.columns:
            if isinstance(column.type, Integer) and column.autoincrement is not False:
                latest = select(func.max(column)).scalar_subquery()
                sequence = func.pg_get_serial_sequence(table.name, column.name)
                await conn.execute(
                    select(func.setval(sequence, func.coalesce(latest, 0) + 1, False))
                )


def _json(line: bytes) -> Any:
    try:
        return orjson.loads(line)
    except orjson.JSONDecodeError:
        raise BadRequest("malformed line in the backup: not a strongroom backup") from None


async def restore(
    services: Services, chunks: AsyncIterator[bytes], *, dry_run: bool
) -> RestoreReport:
    report = RestoreReport(dry_run=dry_run)
    async with services.db.connect() as conn:
        transaction = await conn.begin()
        try:
            work = _Restore(services, conn, report)
            first = True
            async for line in lines_of(chunks):
                if first:
                    await work.header(line)
                    first = False
                elif work.ended:
                    raise BadRequest("data after the end of the backup")
                else:
                    await work.row(line)
            if first:
                raise BadRequest("the backup is empty")
            await work.finish()
        except BaseException:
            await transaction.rollback()
            raise
        if dry_run:
            await transaction.rollback()
            return report
        await transaction.commit()
    for user_id in work.replaced_users:  # a store of its own (Redis) keeps them otherwise
        await services.store.revoke_user_sessions(user_id)
    await services.barrier.reload()
    await services.runtime.changed()
    return report
