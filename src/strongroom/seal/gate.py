"""The seal gate: while a node is uninitialised or sealed, every route but four answers 503.

The four are `/sys/health`, `/sys/seal-status`, `/sys/init` and `/sys/unseal` (native and
Vault-compatible), plus the web interface's seal page and its static files, so that operators
can unseal from a browser. Plain ASGI, inside the transport guard (which adds the standard
headers and request id) and outside everything that needs a key.
"""

from __future__ import annotations

import logging

import orjson
from starlette.types import ASGIApp, Receive, Scope, Send

from strongroom.barrier.service import NotInitialised, Sealed
from strongroom.http.errors import DATABASE_UNAVAILABLE
from strongroom.services import ServicesHolder

log = logging.getLogger(__name__)

OPEN_WHILE_SEALED = frozenset(
    f"{prefix}/sys/{name}"
    for prefix in ("/api/v1", "/v1")
    for name in ("health", "seal-status", "init", "unseal")
) | {"/ui/seal"}
OPEN_PREFIXES = ("/ui/static/",)


def open_while_sealed(path: str) -> bool:
    return path.rstrip("/") in OPEN_WHILE_SEALED or path.startswith(OPEN_PREFIXES)


class SealGate:
    def __init__(self, app: ASGIApp, *, holder: ServicesHolder) -> None:
        self.app = app
        self.holder = holder

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        services = self.holder.services
        if scope["type"] != "http" or services is None or open_while_sealed(scope["path"]):
            await self.app(scope, receive, send)
            return
        barrier = services.barrier
        if not barrier.sealed:
            await self.app(scope, receive, send)
            return
        try:
            initialised = await barrier.refresh_initialised()
        except Exception:  # the database is down: it is an outage, not a 500
            log.warning("seal gate: the database is unavailable", exc_info=True)
            detail, code = DATABASE_UNAVAILABLE
            if scope["path"].startswith("/v1/"):
                await _refuse(send, orjson.dumps({"errors": [detail]}))
            else:
                await _refuse(send, orjson.dumps({"detail": detail, "code": code}))
            return
        refusal = Sealed() if initialised else NotInitialised()
        if scope["path"].startswith("/v1/"):
            # The Vault-compatible API answers in Vault's words and shape, so that its clients
            # recognise the state (`bao` prints "Vault is sealed").
            vault = "Vault is sealed" if isinstance(refusal, Sealed) else "Vault is not initialized"
            await _refuse(send, orjson.dumps({"errors": [vault]}))
            return
        await _refuse(send, orjson.dumps({"detail": refusal.detail, "code": refusal.code}))


async def _refuse(send: Send, body: bytes) -> None:
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        (b"retry-after", b"5"),
    ]
    await send({"type": "http.response.start", "status": 503, "headers": headers})
    await send({"type": "http.response.body", "body": body})
