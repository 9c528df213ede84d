"""How long does page N of a secrets listing take? (keyset pagination: it should not grow with N)

Stores `--count` secrets (real AES-256-GCM ciphertexts made by the barrier, bound to their
rows, bulk-inserted with the secrets tables), then times page 1, 10, 100, ... of
`GET /api/v1/secrets?limit=100` through the whole app (ASGI, bearer auth, JSON) and through
the service alone, next to what an OFFSET query for the same page would cost.

    .venv/bin/python bench/list_pages.py                 # SQLite
    .venv/bin/python bench/list_pages.py --postgres      # PostgreSQL at 127.0.0.1:5432
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import orjson
from sqlalchemy import insert, select, text

from harness.common import secret_row
from strongroom.app import create_app
from strongroom.auth.principal import Principal
from strongroom.config import Config
from strongroom.crypto import ACCESS_PREFIX, generate_root_key, new_token, token_hash
from strongroom.db.base import new_id
from strongroom.secrets import listing
from strongroom.secrets.models import secret_metadata, secret_versions, secrets
from strongroom.secrets.validation import binding
from strongroom.services import Services
from strongroom.sessions.store import NewSession
from strongroom.users import repository as users_repo

PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
BATCH = 5000


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=100_000, help="secrets to store")
    parser.add_argument("--limit", type=int, default=100, help="page size")
    parser.add_argument("--pages", default="1,10,100,500,1000", help="pages to time")
    parser.add_argument("--repeat", type=int, default=15, help="timings per page (median)")
    parser.add_argument("--postgres", action="store_true", help="PostgreSQL instead of SQLite")
    return parser.parse_args()


@asynccontextmanager
async def database_url(postgres: bool, tmp: Path) -> AsyncIterator[str]:
    if not postgres:
        yield ""  # SQLite in the data directory
        return
    name = f"strongroom_bench_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(PG_ADMIN)
    await admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"postgresql+asyncpg://postgres@127.0.0.1:5432/{name}"
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


def path_of(n: int) -> str:
    return f"team-{n % 50:02d}/app-{n:06d}/db-password"


async def store_secrets(services: Services, count: int) -> list[str]:
    """Bulk insert `count` live secrets with encrypted values; their paths, sorted."""
    created = time.time()
    for start in range(0, count, BATCH):
        rows, versions, metadata = [], [], []
        for n in range(start, min(start + BATCH, count)):
            secret_id = str(uuid.uuid4())
            value = orjson.dumps(f"value-{n}-{uuid.uuid4().hex}")
            meta = {"env": "prod" if n % 2 else "dev"}
            rows.append(secret_row(secret_id, path_of(n), meta, created))
            versions.append(
                {
                    "secret_id": secret_id,
                    "version": 1,
                    "ciphertext": services.barrier.encrypt(value, binding(secret_id, 1)),
                    "value_type": "string",
                    "created_at": created,
                    "created_by": "bench",
                    "destroyed_at": None,
                }
            )
            metadata += [{"secret_id": secret_id, "key": k, "value": v} for k, v in meta.items()]
        async with services.db.begin() as conn:
            await conn.execute(insert(secrets), rows)
            await conn.execute(insert(secret_versions), versions)
            await conn.execute(insert(secret_metadata), metadata)
    return sorted(path_of(n) for n in range(count))


async def admin_session(services: Services) -> str:
    """An admin user and an open session for it, straight through the store (no login)."""
    at = time.time()
    user = users_repo.UserRow(new_id(), "bench", None, "admin", None, None, None, False, at, at)
    async with services.db.begin() as conn:
        await users_repo.insert_user(conn, user)
    access = new_token(ACCESS_PREFIX)
    await services.store.create(
        NewSession(
            id=new_id(),
            user_id=user.id,
            username=user.username,
            role=user.role,
            auth_method="password",
            access_hash=token_hash(access),
            refresh_hash=None,
            created_at=at,
            access_ttl=3600,
            access_expires_at=at + 3600,
            refresh_expires_at=None,
            max_expires_at=at + 3600,
        )
    )
    return access


async def median_ms(call: Callable[[], Awaitable[Any]], repeat: int) -> float:
    await call()  # warm the statement caches
    timings = []
    for _ in range(repeat):
        started = time.perf_counter()
        await call()
        timings.append((time.perf_counter() - started) * 1000)
    return statistics.median(timings)


async def offset_query(services: Services, limit: int, offset: int) -> None:
    statement = (
        select(secrets.c.id, secrets.c.path)
        .where(secrets.c.path_key.is_not(None))
        .order_by(secrets.c.path_key)
        .limit(limit)
        .offset(offset)
    )
    async with services.db.connect() as conn:
        rows = (await conn.execute(statement)).all()
    assert len(rows) == limit


async def run(args: argparse.Namespace) -> None:
    pages = [int(p) for p in args.pages.split(",") if int(p) * args.limit <= args.count]
    with tempfile.TemporaryDirectory() as tmp:
        async with database_url(args.postgres, Path(tmp)) as url:
            config = Config(
                data_dir=Path(tmp) / "data",
                database_url=url,
                seal="env",
                root_key=generate_root_key().encode(),
                tls_disable=True,
                argon2_time_cost=2,
                argon2_memory_kib=19456,
                argon2_parallelism=1,
            )
            app = create_app(config)
            async with app.router.lifespan_context(app):
                services: Services = app.state.holder.get()
                await bench(app, services, args, pages, "postgresql" if url else "sqlite")


async def bench(
    app: Any, services: Services, args: argparse.Namespace, pages: list[int], backend: str
) -> None:
    started = time.perf_counter()
    paths = await store_secrets(services, args.count)
    stored = time.perf_counter() - started
    async with services.db.engine.connect() as conn:
        # Fresh statistics, as autovacuum / a long-running database would have them.
        await conn.execution_options(isolation_level="AUTOCOMMIT")
        await conn.execute(text("ANALYZE"))
    access = await admin_session(services)
    headers = {"Authorization": f"Bearer {access}"}
    principal = Principal("bench", "bench", "admin", "bench", "", "password", time.time() + 900)
    transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 50000))
    print(f"{backend}: stored {args.count} secrets in {stored:.1f} s; page size {args.limit}")
    print(f"{'page':>6} {'http ms':>9} {'service ms':>11} {'OFFSET sql ms':>14}")
    async with httpx.AsyncClient(transport=transport, base_url="https://bench") as client:
        for page in pages:
            skip = (page - 1) * args.limit
            cursor = listing.encode_cursor(paths[skip - 1]) if skip else None
            params = {"limit": args.limit, **({"cursor": cursor} if cursor else {})}

            async def over_http(params: dict[str, Any] = params, skip: int = skip) -> None:
                response = await client.get("/api/v1/secrets", params=params, headers=headers)
                items = response.json()["items"]
                assert items[0]["path"] == paths[skip], response.text[:200]

            async def in_service(cursor: str | None = cursor) -> None:
                await listing.list_secrets(
                    services, principal, prefix="", limit=args.limit, cursor=cursor, filters={}
                )

            http_ms = await median_ms(over_http, args.repeat)
            service_ms = await median_ms(in_service, args.repeat)
            offset_ms = await median_ms(
                lambda skip=skip: offset_query(services, args.limit, skip), args.repeat
            )
            print(f"{page:>6} {http_ms:>9.2f} {service_ms:>11.2f} {offset_ms:>14.2f}")


if __name__ == "__main__":
    asyncio.run(run(parse_args()))
