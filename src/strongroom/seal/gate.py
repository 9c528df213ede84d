"""The seal gate: while a node is uninitialised or sealed, every route but four answers 503.

The four are `/sys/health`, `/sys/seal-status`, `/sys/init` and `/sys/unseal` (native and
Vault-compatible), plus the web interface's seal page and its static files, so that operators
can unseal from a browser. Plain ASGI, inside the transport guard (which adds the standard
headers and request id) and outside everything that needs a key.
"""

from __future__ import annotations

import orjson
from starlette.types import ASGIApp, Receive, Scope, Send

from strongroom.barrier.service import NotInitialised, Sealed
from strongroom.services import ServicesHolder

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
        refusal = Sealed() if await barrier.refresh_initialised() else NotInitialised()
        await _refuse(send, refusal.detail, refusal.code)


async def _refuse(send: Send, detail: str, code: str) -> None:
    body = orjson.dumps({"detail": detail, "code": code})
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        (b"retry-after", b"5"),
    ]
    await send({"type": "http.response.start", "status": 503, "headers": headers})
    await send({"type": "http.response.body", "body": body})
