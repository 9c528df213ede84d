"""CPU time of the event loop per request, in-process: the work a request puts on its worker's
event loop, with no server, TLS or load generator around it.

A worker serves every request on one thread; whatever one request costs that thread, the
others in flight on the worker wait for. This drives the app directly over ASGI (`--concurrency`
requests in flight) against a real database (SQLite, or PostgreSQL + Redis with `--postgres`)
and reports, per workload, the CPU time of the event-loop thread per request (`time.thread_time`)
and of the whole process (password hashing runs in a child process, not counted here). Unlike
throughput on a shared 2-core VM, these figures repeat within a few percent from run to run.

    .venv/bin/python bench/loop_cost.py                      # SQLite, every workload
    .venv/bin/python bench/loop_cost.py --postgres read write
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import os
import random
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import asyncpg
import orjson
import uvloop

from strongroom.app import create_app
from strongroom.config import Config
from strongroom.crypto import generate_root_key

PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
REDIS_URL = "redis://127.0.0.1:6379/0"
WORKLOADS = ("read", "write", "check", "login", "transit")
PASSWORD = "loop cost password, long enough"
WRITE_SECRETS = 1_000
LOCKOUT_ROOM = {"login_failure_threshold": 1000, "login_ip_failure_threshold": 100_000}
Call = Callable[[], Awaitable[None]]


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("workloads", nargs="*", help=f"of {', '.join(WORKLOADS)} (default: all)")
    parser.add_argument("--postgres", action="store_true", help="PostgreSQL + Redis (shared)")
    parser.add_argument("--requests", type=int, default=20_000, help="per workload (login: /100)")
    parser.add_argument("--concurrency", type=int, default=16, help="requests in flight")
    args = parser.parse_args()
    unknown = set(args.workloads) - set(WORKLOADS)
    if unknown:
        parser.error(f"unknown workloads {sorted(unknown)}; choose from {', '.join(WORKLOADS)}")
    return args


class Client:
    """ASGI requests straight into the app, as a server would make them."""

    def __init__(self, app: Any, token: str | None = None) -> None:
        self.app = app
        self.token = token

    async def request(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        raw = b"" if body is None else orjson.dumps(body)
        headers = [(b"host", b"bench"), (b"user-agent", b"loop-cost")]
        if self.token:
            headers.append((b"authorization", f"Bearer {self.token}".encode()))
        if body is not None:
            headers += [(b"content-type", b"application/json")]
            headers += [(b"content-length", str(len(raw)).encode())]
        scope = {
            "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1",
            "method": method, "scheme": "https", "path": path, "raw_path": path.encode(),
            "query_string": b"", "root_path": "", "headers": headers,
            "client": ("127.0.0.1", 40000), "server": ("127.0.0.1", 443), "state": {},
        }  # fmt: skip
        pending = [raw]
        status, chunks = 0, []

        async def receive() -> dict[str, Any]:
            return {"type": "http.request", "body": pending.pop() if pending else b""}

        async def send(message: dict[str, Any]) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            else:
                chunks.append(message.get("body", b""))

        await self.app(scope, receive, send)
        data = b"".join(chunks)
        return status, orjson.loads(data) if data else None

    async def ok(self, method: str, path: str, body: Any = None) -> Any:
        status, answer = await self.request(method, path, body)
        if status != 200:
            raise SystemExit(f"{method} {path}: {status} {answer}")
        return answer


@asynccontextmanager
async def node(postgres: bool) -> AsyncIterator[Any]:
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "data"
        values: dict[str, Any] = {
            "data_dir": data,
            "seal": "env",
            "root_key": generate_root_key().encode(),
            "tls_disable": True,
            "audit_file": str(data / "audit.log"),
            "log_level": "warning",
        }
        name = f"strongroom_loopcost_{uuid.uuid4().hex[:10]}"
        if postgres:
            await admin_sql(f'CREATE DATABASE "{name}"')
            values["database_url"] = f"postgresql://postgres@127.0.0.1:5432/{name}"
            values["redis_url"] = REDIS_URL
            values["redis_prefix"] = f"strongroom-loopcost-{uuid.uuid4().hex[:10]}:"
        try:
            app = create_app(Config(**values))
            async with app.router.lifespan_context(app):
                yield app
        finally:
            if postgres:
                await admin_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


async def admin_sql(statement: str) -> None:
    conn = await asyncpg.connect(PG_ADMIN)
    try:
        await conn.execute(statement)
    finally:
        await conn.close()


async def token(client: Client, username: str, password: str) -> str:
    form = {"grant_type": "password", "username": username, "password": password}
    answer = await client.ok("POST", "/api/v1/auth/token/create", form)
    return str(answer["access_token"])


async def prepare(app: Any) -> dict[str, Call]:
    """The bench user (role `bench` on `bench/*`), its token, a secret, and the calls."""
    services = app.state.holder.get()
    admin_password = (services.config.data_dir / "admin-password").read_text()
    admin_password = admin_password.split("password: ", 1)[1].strip()
    anyone = Client(app)
    admin = Client(app, await token(anyone, "admin", admin_password))
    rules = [
        {"path": "bench/*", "capabilities": ["read", "create", "update", "list"]},
        {"path": "module:transit", "capabilities": ["read"]},
    ]
    await admin.ok("POST", "/api/v1/roles", {"name": "bench", "rules": rules})
    # Logins of one account from one address, many at once: every attempt in flight holds a
    # slot of the lock-out counters (README, "Login lock-out"), so they get room for them.
    await admin.ok("POST", "/api/v1/sys/security", LOCKOUT_ROOM)
    user = {"username": "bench", "email": "bench@example.test", "role": "bench"}
    await admin.ok("POST", "/api/v1/users/create", {**user, "password": PASSWORD})
    form = {"grant_type": "password", "username": "bench", "password": PASSWORD}
    bench = Client(app, await token(anyone, "bench", PASSWORD))
    one = {"path": "bench/one", "value": "v" * 1024}
    url = f"/api/v1/secrets/{(await bench.ok('POST', '/api/v1/secrets/create', one))['id']}"
    # Writes go to a random one of `WRITE_SECRETS`, as in `make bench`.
    writable = [
        (await bench.ok("POST", "/api/v1/secrets/create", {"path": f"bench/w/{n}", "value": "v"}))
        for n in range(WRITE_SECRETS)
    ]
    write_urls = [f"/api/v1/secrets/{secret['id']}" for secret in writable]
    value = {"value": "w" * 1024}
    await bench.ok("POST", "/api/v1/modules/transit/enable")
    await bench.ok("POST", "/api/v1/modules/transit/keys", {"name": "bench"})
    plaintext = {"plaintext": base64.b64encode(os.urandom(1024)).decode()}

    async def read() -> None:
        await bench.ok("GET", url)

    async def write() -> None:
        await bench.ok("PUT", random.choice(write_urls), value)

    async def check() -> None:
        await bench.ok("POST", "/api/v1/auth/check_token", {"username": "bench"})

    async def log_in() -> None:
        await anyone.ok("POST", "/api/v1/auth/token/create", form)

    async def transit() -> None:
        await bench.ok("POST", "/api/v1/modules/transit/encrypt/bench", plaintext)

    return {"read": read, "write": write, "check": check, "login": log_in, "transit": transit}


async def measure(call: Call, requests: int, concurrency: int) -> tuple[float, float, float]:
    """(event-loop CPU µs, process CPU µs, wall µs) per request."""

    async def client(count: int) -> None:
        for _ in range(count):
            await call()

    each = max(1, requests // concurrency)
    await asyncio.gather(*(client(max(1, each // 10)) for _ in range(concurrency)))  # warm-up
    loop0, process0, wall0 = time.thread_time(), time.process_time(), time.perf_counter()
    await asyncio.gather(*(client(each) for _ in range(concurrency)))
    loop1, process1, wall1 = time.thread_time(), time.process_time(), time.perf_counter()
    done = each * concurrency
    return (
        (loop1 - loop0) / done * 1e6,
        (process1 - process0) / done * 1e6,
        (wall1 - wall0) / done * 1e6,
    )


async def main(args: argparse.Namespace) -> None:
    workloads = args.workloads or list(WORKLOADS)
    async with node(args.postgres) as app:
        calls = await prepare(app)
        backend = "PostgreSQL + Redis" if args.postgres else "SQLite"
        print(f"{backend}, {args.concurrency} requests in flight, CPU µs per request")
        print("| workload | event loop | whole process | wall |")
        print("|---|---:|---:|---:|")
        for workload in workloads:
            requests = args.requests // 100 if workload == "login" else args.requests
            loop, process, wall = await measure(calls[workload], requests, args.concurrency)
            print(f"| {workload} | {loop:,.0f} | {process:,.0f} | {wall:,.0f} |", flush=True)


if __name__ == "__main__":
    uvloop.install()
    asyncio.run(main(parse_args()))
