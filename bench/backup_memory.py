"""Peak memory of a backup and a restore as the number of secrets grows (issue 22).

Fills a SQLite server (in this process) with N secrets of two versions, streams its snapshot
(`GET /sys/backup`'s generator) through the encrypted file writer, then decrypts the file
and restores it into a second, empty SQLite server: the peak resident memory after each
step, as the growth over the process's size before it. Flat figures from 10k to 100k mean the
streaming holds a chunk, not the backup.

    .venv/bin/python -m bench.backup_memory 10000 100000
"""

from __future__ import annotations

import asyncio
import resource
import sys
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path

from sqlalchemy import insert

from strongroom.app import create_app
from strongroom.backup.service import restore, snapshot
from strongroom.config import Config
from strongroom.crypto import generate_root_key
from strongroom.db import now
from strongroom.db.base import new_id
from strongroom.secrets.models import secret_version_keys, secret_versions, secrets
from strongroom.secrets.validation import binding
from strongroom_client.archive import Writer, read

PASSPHRASE = "a long benchmark passphrase"


def peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def config(directory: Path, root_key: bytes) -> Config:
    return Config(
        data_dir=directory, seal="env", root_key=root_key, tls_disable=True,
        audit_file=str(directory / "audit.log"), argon2_memory_kib=19456, argon2_time_cost=2,
    )  # fmt: skip


async def fill(services: object, count: int) -> None:
    barrier, db, at = services.barrier, services.db, now()  # type: ignore[attr-defined]
    for start in range(0, count, 5000):
        rows, versions, keys = [], [], []
        for i in range(start, min(start + 5000, count)):
            sid = new_id()
            rows.append({"id": sid, "path": f"b/s{i:07d}", "path_key": f"b/s{i:07d}",
                         "current_version": 2, "metadata": "{}", "reads": 0,
                         "destroyed": False, "created_at": at, "updated_at": at})  # fmt: skip
            for version in (1, 2):
                sealed = barrier.seal_value(b'"value-%d"' % i, binding(sid, version))
                versions.append(
                    {"secret_id": sid, "version": version, "created_at": at,
                     "ciphertext": sealed.ciphertext, "value_type": "string"}
                )  # fmt: skip
                keys.append(
                    {"secret_id": sid, "version": version, "wrapped_key": sealed.wrapped_key}
                )
        async with db.begin() as conn:
            await conn.execute(insert(secrets), rows)
            await conn.execute(insert(secret_versions), versions)
            await conn.execute(insert(secret_version_keys), keys)


async def measure(count: int) -> None:
    root = generate_root_key().encode()
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)
        file = base / "b.backup"
        source_app = create_app(config(base / "a", root))
        async with source_app.router.lifespan_context(source_app):
            services = source_app.state.holder.get()
            await fill(services, count)
            before = peak_mib()
            with file.open("wb") as out:
                writer = Writer(out, PASSPHRASE)
                async for chunk in snapshot(services, sessions=False):
                    writer.write(chunk)
                writer.close()
            backed = peak_mib()
        target_app = create_app(config(base / "b", root))
        async with target_app.router.lifespan_context(target_app):
            services = target_app.state.holder.get()

            async def chunks() -> AsyncIterator[bytes]:
                with file.open("rb") as source:
                    for chunk in read(source, PASSPHRASE):
                        yield chunk

            report = await restore(services, chunks(), dry_run=False)
            restored = peak_mib()
        size = file.stat().st_size / 2**20
        print(
            f"{count:>8} secrets  file {size:7.1f} MiB  peak RSS before {before:6.1f} MiB  "
            f"after backup {backed:6.1f} MiB (+{backed - before:.1f})  after restore "
            f"{restored:6.1f} MiB (+{restored - backed:.1f})  rows {sum(report.tables.values())}"
        )


if __name__ == "__main__":
    for n in sys.argv[1:] or ["10000", "100000"]:
        asyncio.run(measure(int(n)))
