"""The `/v1/` request on every Vault client's hot path, a KV v2 read of `secret/`, served on
the fast lane (strongroom/fastlane.py) rather than through FastAPI and the `/v1/` dispatcher.

It calls what the native fast read calls: the one session check, then `reading.read_by_id`
with the node's secret cache (secrets/cache.py). Vault names a secret by path, the cache by
id: this node remembers which id held a path when it last read it. Paths never change, so the
read by id still checks the role on the right path; when that secret is gone (deleted, expired,
destroyed) the read falls back to the path, where a newer secret may live. A read with a query
(`?version=`) or a wrap TTL takes the dispatcher.
"""

from __future__ import annotations

from starlette.responses import Response
from starlette.types import Scope

from strongroom.auth.dependencies import authenticate, header_value
from strongroom.barrier.service import Sealed
from strongroom.db.engine import DatabaseUnavailable
from strongroom.errors import Forbidden, NotFound, StrongroomError
from strongroom.http.context import RequestContext
from strongroom.http.errors import outage_error
from strongroom.secrets import reading
from strongroom.secrets.cache import secret_cache, watch_name
from strongroom.secrets.paths import normalize_path
from strongroom.services import Services
from strongroom.sessions.store import StoreUnavailable
from strongroom.vault.http import (
    PERMISSION_DENIED,
    Reply,
    envelope,
    error_response,
    vault_json,
    vault_token,
)
from strongroom.vault.kv import value_of, version_meta

PREFIX = "/v1/secret/data/"
TEMPLATE = "/v1/{mount}/{rest:path}"
IDS_CAPACITY = 10_000


class SecretIds:
    """Path -> the id of the secret that held it at this node's last read (bounded)."""

    def __init__(self, capacity: int = IDS_CAPACITY) -> None:
        self._ids: dict[str, str] = {}
        self._capacity = capacity

    def get(self, path: str) -> str | None:
        return self._ids.get(path)

    def remember(self, path: str, secret_id: str) -> None:
        if path not in self._ids and len(self._ids) >= self._capacity:
            del self._ids[next(iter(self._ids))]
        self._ids[path] = secret_id

    def forget(self, path: str) -> None:
        self._ids.pop(path, None)


def secret_ids(services: Services) -> SecretIds:
    ids = services.extras.get("vault_secret_ids")
    if not isinstance(ids, SecretIds):
        ids = services.extras["vault_secret_ids"] = SecretIds()
    return ids


def fast_read_path(scope: Scope) -> str | None:
    """The KV path of a plain KV v2 read of `secret/`, or None."""
    path: str = scope["path"]
    if scope["method"] != "GET" or not path.startswith(PREFIX) or scope["query_string"]:
        return None
    if header_value(scope, b"x-vault-wrap-ttl") is not None:
        return None
    return path[len(PREFIX) :] or None


async def read(
    services: Services, scope: Scope, ctx: RequestContext, kv_path: str, _body: bytes
) -> Response:
    ctx.sensitive = True
    try:
        if services.barrier.sealed:
            raise Sealed()
        token = vault_token(scope)
        if token is None:
            raise Forbidden(PERMISSION_DENIED, code="missing_token")
        path = normalize_path(kv_path, loc=("path", "path"))
        revealed = await _reveal(services, scope, ctx, token, path)
    except StrongroomError as exc:
        return error_response(exc, ctx)
    except (StoreUnavailable, DatabaseUnavailable) as exc:
        return error_response(outage_error(exc, f"GET {TEMPLATE}"), ctx)
    row = revealed.row
    data = {
        "data": value_of(revealed.plaintext),
        "metadata": version_meta(row.version_created_at, row.version, row.secret.metadata),
    }
    return vault_json(envelope(ctx, Reply(data=data)))


async def _reveal(
    services: Services, scope: Scope, ctx: RequestContext, token: str, path: str
) -> reading.Revealed:
    ids = secret_ids(services)
    known = ids.get(path)
    watch = watch_name(known) if known and secret_cache(services).wants(known) else None
    principal = await authenticate(services, scope, ctx, watch=watch, token=token)
    if known is not None:
        try:
            revealed = await reading.read_by_id(services, principal, known, None, ctx)
        except NotFound:
            ids.forget(path)
        else:
            if revealed.row.secret.path == path:
                return revealed
            ids.forget(path)  # moved away (secrets/move): read what is at the path now
    revealed = await reading.read_by_path(services, principal, path, ctx)
    ids.remember(path, revealed.row.secret.id)
    return revealed
