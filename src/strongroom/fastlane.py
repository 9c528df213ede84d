"""The fast lane: the few routes on every client's hot path, served without FastAPI's router.

Reading a secret by id, writing its next version, checking a token and encrypting with a
transit key are what services do all day. FastAPI's routing, dependency resolution and
response validation cost more than the work itself, so these four are dispatched here, in
plain ASGI, before the router. Each handler calls exactly the functions its FastAPI route
calls (same authentication, same service, same response body, same error rendering): the
routes in `*/endpoints.py` stay the documented API and serve every request this lane does not
take, including any request it cannot parse (it replays the body to them, so their error
answers stay the only ones).
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from pydantic import ValidationError
from sqlalchemy.exc import DBAPIError
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from strongroom.auth.dependencies import authenticate
from strongroom.auth.endpoints import check_token_response
from strongroom.auth.schemas import CheckTokenRequest
from strongroom.barrier.service import Sealed
from strongroom.db.engine import DatabaseUnavailable
from strongroom.errors import StrongroomError
from strongroom.http.context import SCOPE_KEY, RequestContext
from strongroom.http.errors import broken_connection, outage_error, render_error
from strongroom.http.middleware import replay_body
from strongroom.http.responses import JsonResponse
from strongroom.modules.transit import operations as transit
from strongroom.modules.transit.cache import watch_name as transit_watch
from strongroom.modules.transit.schemas import EncryptRequest
from strongroom.secrets import reading, service
from strongroom.secrets.cache import secret_cache, watch_name
from strongroom.secrets.endpoints import known_id
from strongroom.secrets.schemas import SecretUpdate, created_out, read_body
from strongroom.services import Services, ServicesHolder
from strongroom.sessions.store import StoreUnavailable, pending_token
from strongroom.vault import fastlane as vault_fastlane
from strongroom.vault.http import VAULT_PREFIX, vault_asgi

_SECRET = re.compile(
    r"/api/v1/secrets/([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})"
)
_JSON = b"application/json"
_TRANSIT_ENCRYPT = "/api/v1/modules/transit/encrypt/"


@dataclass(frozen=True, slots=True)
class RouteTemplate:
    """What the audit record reads from `scope["route"]` (FastAPI puts its route there)."""

    path: str


_READ = RouteTemplate("/api/v1/secrets/{secret_id}")
_CHECK = RouteTemplate("/api/v1/auth/check_token")
_ENCRYPT = RouteTemplate(_TRANSIT_ENCRYPT + "{name}")
_VAULT_READ = RouteTemplate(vault_fastlane.TEMPLATE)

Handler = Callable[[Services, Scope, RequestContext, str, bytes], Awaitable[Response]]


async def _read_secret(
    services: Services, scope: Scope, ctx: RequestContext, secret_id: str, _body: bytes
) -> Response:
    watch = watch_name(secret_id) if secret_cache(services).wants(secret_id) else None
    principal = await authenticate(services, scope, ctx, watch=watch)
    revealed = await reading.read_by_id(services, principal, known_id(secret_id, ctx), None, ctx)
    return JsonResponse(read_body(revealed))


async def _write_secret(
    services: Services, scope: Scope, ctx: RequestContext, secret_id: str, body: bytes
) -> Response:
    update = SecretUpdate.model_validate_json(body)
    # The session check also begins the change of the secret for the nodes' caches, and hands
    # over the watched value as it was: one round trip to the store instead of two.
    begun = pending_token()
    principal = await authenticate(services, scope, ctx, watch=watch_name(secret_id), mark=begun)
    written = await service.update_secret(
        services, principal, known_id(secret_id, ctx), update, ctx, begun=begun
    )
    return JsonResponse(created_out(written).model_dump(mode="json"))


async def _check_token(
    services: Services, scope: Scope, ctx: RequestContext, _arg: str, body: bytes
) -> Response:
    request = CheckTokenRequest.model_validate_json(body)
    principal = await authenticate(services, scope, ctx)
    return JsonResponse(check_token_response(request, principal).model_dump(mode="json"))


async def _transit_encrypt(
    services: Services, scope: Scope, ctx: RequestContext, name: str, body: bytes
) -> Response:
    request = EncryptRequest.model_validate_json(body)
    # The session check also reads the key name's watched value (modules/transit/cache.py).
    principal = await authenticate(services, scope, ctx, watch=transit_watch(name))
    encrypted = await transit.encrypt(services, principal, name, request, ctx.watched)
    return JsonResponse(encrypted.model_dump(exclude_none=True))


def _route(scope: Scope) -> tuple[Handler, str, RouteTemplate, bool] | None:
    """(handler, path argument, route, sensitive) for a request this lane serves."""
    method, path = scope["method"], scope["path"]
    if method == "POST":
        if path == _CHECK.path:
            return _check_token, "", _CHECK, False
        if path.startswith(_TRANSIT_ENCRYPT):
            name = path[len(_TRANSIT_ENCRYPT) :]
            if name and "/" not in name:
                return _transit_encrypt, name, _ENCRYPT, True
        return None
    if method not in ("GET", "PUT"):
        return None
    if path.startswith(vault_fastlane.PREFIX):
        # The Vault-compatible API's KV v2 read; it checks the seal and renders its errors
        # itself, in Vault's shapes.
        kv_path = vault_fastlane.fast_read_path(scope)
        return (vault_fastlane.read, kv_path, _VAULT_READ, False) if kv_path else None
    match = _SECRET.fullmatch(path)
    if match is None:
        return None
    if method == "GET":
        # ?version=N and friends take the regular route.
        return (_read_secret, match[1], _READ, True) if not scope["query_string"] else None
    return _write_secret, match[1], _READ, True


def _is_json(scope: Scope) -> bool:
    for name, value in scope["headers"]:
        if name == b"content-type":
            return bool(value.split(b";", 1)[0].strip().lower() == _JSON)
    return False


class FastLane:
    def __init__(self, app: ASGIApp, *, holder: ServicesHolder) -> None:
        self.app = app
        self.holder = holder

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        route = _route(scope) if scope["type"] == "http" else None
        services = self.holder.services
        if (
            route is None
            and scope["type"] == "http"
            and scope["path"].startswith(VAULT_PREFIX)
            and services is not None
            and SCOPE_KEY in scope
        ):
            # The Vault-compatible API has one dispatcher of its own: no need to walk
            # FastAPI's routes to reach it (they list it last).
            await vault_asgi(scope, receive, send)
            return
        if route is None or services is None or SCOPE_KEY not in scope:
            await self.app(scope, receive, send)
            return
        handler, argument, template, sensitive = route
        body: bytes | None = b""
        if scope["method"] != "GET":
            if not _is_json(scope):
                await self.app(scope, receive, send)
                return
            body = await _read_body(receive)
        if body is None:
            return
        ctx: RequestContext = scope[SCOPE_KEY]
        scope["route"] = template
        try:
            if sensitive:
                ctx.sensitive = True
                if services.barrier.sealed:
                    raise Sealed()
            response = await handler(services, scope, ctx, argument, body)
        except ValidationError:
            # Not a happy-path body: the regular route parses it again and answers with the
            # exact error FastAPI gives.
            del scope["route"]
            await self.app(scope, replay_body(body, receive), send)
            return
        except StrongroomError as exc:
            ctx.error_code = exc.code
            response = render_error(exc)
        except (StoreUnavailable, DatabaseUnavailable, DBAPIError) as exc:
            # The app's handlers are further in: answer as they would.
            if isinstance(exc, DBAPIError):
                if not broken_connection(exc):
                    raise
                exc = DatabaseUnavailable(type(exc).__name__)
            error = outage_error(exc, f"{scope['method']} {template.path}")
            ctx.error_code = error.code
            response = render_error(error)
        await response(scope, receive, send)


async def _read_body(receive: Receive) -> bytes | None:
    """The whole request body (the transport guard already bounded it); None on disconnect."""
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return None
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            return b"".join(chunks)


__all__ = ["FastLane"]
