"""Helpers of the audit tests: an app with probe routes, reading and breaking the audit file."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import orjson
from fastapi import FastAPI, Request

from strongroom.app import create_app
from strongroom.audit.chain import Mac
from strongroom.audit.verify import load_chain_key
from strongroom.auth.dependencies import CurrentPrincipal
from strongroom.config import Config
from strongroom.http.context import get_context
from tests.support import Api

# A value the probe "secret" route returns: it must never reach a refused response.
SECRET_MARKER = "s3cr3t-value-7f2a9c"


def add_probe_routes(app: FastAPI) -> dict[str, int]:
    """Routes standing in for domain routes; returns how often each one ran.

    /api/v1/secrets/audit-probe/{id}   sensitive by its path; returns SECRET_MARKER
    /api/v1/auth/audit-probe           not sensitive
    /api/v1/auth/audit-probe-marked    not sensitive by path, marks ctx.sensitive
    /api/v1/auth/audit-probe-crash     raises
    """
    runs = {"secret": 0, "plain": 0, "marked": 0}

    async def secret(secret_id: str, request: Request, _p: CurrentPrincipal) -> dict[str, Any]:
        runs["secret"] += 1
        ctx = get_context(request)
        ctx.secret_id, ctx.secret_path = secret_id, "team/app/db-password"
        return {"id": secret_id, "value": SECRET_MARKER}

    async def plain(_p: CurrentPrincipal) -> dict[str, bool]:
        runs["plain"] += 1
        return {"ok": True}

    async def marked(request: Request, _p: CurrentPrincipal) -> dict[str, str]:
        runs["marked"] += 1
        get_context(request).sensitive = True
        return {"value": SECRET_MARKER}

    async def crash(_p: CurrentPrincipal) -> None:
        raise RuntimeError("probe failure")

    app.add_api_route("/api/v1/secrets/audit-probe/{secret_id}", secret, methods=["GET"])
    app.add_api_route("/api/v1/auth/audit-probe", plain, methods=["GET"])
    app.add_api_route("/api/v1/auth/audit-probe-marked", marked, methods=["GET"])
    app.add_api_route("/api/v1/auth/audit-probe-crash", crash, methods=["GET"])
    return runs


@asynccontextmanager
async def open_probe_api(config: Config) -> AsyncIterator[tuple[Api, dict[str, int]]]:
    """The real app (middleware, auth, audit) plus the probe routes, over ASGI."""
    app = create_app(config)
    runs = add_probe_routes(app)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(
            app=app, client=("203.0.113.7", 50000), raise_app_exceptions=False
        )
        async with httpx.AsyncClient(transport=transport, base_url="https://testserver") as client:
            yield Api(client, app.state.holder.get()), runs


def key_env(config: Config) -> dict[str, str]:
    """The environment that lets `strongroom audit verify` find this node's chain key."""
    env = {"STRONGROOM_DATA_DIR": str(config.data_dir), "STRONGROOM_SEAL": config.seal.value}
    if config.root_key is not None:
        env["STRONGROOM_ROOT_KEY"] = config.root_key.get_secret_value()
    if config.key_file is not None:
        env["STRONGROOM_KEY_FILE"] = str(config.key_file)
    if config.database_url:
        env["STRONGROOM_DATABASE_URL"] = config.database_url
    return env


def chain_key(config: Config) -> Mac:
    """The keyed hash of the node's audit chain, read from its keyring like the CLI does."""
    overrides: dict[str, object] = {
        "data_dir": config.data_dir,
        "seal": config.seal.value,
        "database_url": config.database_url,
    }
    if config.root_key is not None:
        overrides["root_key"] = config.root_key.get_secret_value()
    if config.key_file is not None:
        overrides["key_file"] = config.key_file
    return load_chain_key(overrides)[0]


def read_records(path: Path, *, intents: bool = False) -> list[dict[str, Any]]:
    """Every line of an audit file as JSON (fails the test on a line that is not JSON);
    without the intent records a request writes before its first transaction, unless
    `intents` (they are checked by tests/audit/test_intent.py)."""
    if not path.exists():
        return []
    records = [orjson.loads(line) for line in path.read_bytes().splitlines()]
    return records if intents else [r for r in records if r.get("type") != "intent"]


def break_with_full_disk(path: Path) -> Path:
    """Point the audit path at /dev/full (writes fail with ENOSPC); returns the saved file."""
    saved = path.with_name(path.name + ".saved")
    if path.exists():
        path.rename(saved)
    os.symlink("/dev/full", path)
    return saved


def repair_full_disk(path: Path, saved: Path) -> None:
    path.unlink()
    if saved.exists():
        saved.rename(path)


def break_with_directory(path: Path) -> Path:
    saved = path.with_name(path.name + ".saved")
    if path.exists():
        path.rename(saved)
    path.mkdir()
    return saved


def repair_directory(path: Path, saved: Path) -> None:
    path.rmdir()
    if saved.exists():
        saved.rename(path)
