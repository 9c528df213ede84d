"""What the edge learns about a request, shared by middleware, auth, audit and endpoints."""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.types import Scope

if TYPE_CHECKING:
    from strongroom.auth.principal import Principal

SCOPE_KEY = "strongroom.ctx"
request_id_var: ContextVar[str | None] = ContextVar("strongroom_request_id", default=None)

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@dataclass(slots=True)
class RequestContext:
    request_id: str
    peer_ip: str | None
    client_ip: str | None
    scheme: str
    started_at: float
    principal: Principal | None = None
    # Filled in along the way for the audit record.
    error_code: str | None = None
    auth_failed: bool = False
    token_hmac: str | None = None
    attempted_username: str | None = None
    secret_id: str | None = None
    secret_path: str | None = None
    # The route reads or writes secrets or settings: with no audit sink it must fail closed.
    sensitive: bool = False
    # Record this request although nobody authenticated (e.g. a token revocation).
    audit_anyway: bool = False
    # The value of the name the session check watched (SessionStore.authenticate), if any.
    watched: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


# Every router is included under this prefix (app.py); FastAPI reports route templates
# relative to the included router, so the prefix is put back.
API_PREFIX = "/api/v1"


def route_template(scope: Scope) -> str | None:
    """The template of the route that served the request (`/api/v1/secrets/{secret_id}`), or
    None when no route matched; for the audit record, the access log and the metrics."""
    template: str | None = getattr(scope.get("route"), "path", None)
    if (
        template is not None
        and not template.startswith(API_PREFIX)
        and scope["path"].startswith(API_PREFIX)
    ):
        template = API_PREFIX + template
    return template


def get_context(request: Request) -> RequestContext:
    ctx: RequestContext = request.scope[SCOPE_KEY]
    return ctx


async def context_dependency(request: Request) -> RequestContext:
    """`get_context` as a FastAPI dependency (async: a plain `def` would cost a thread hop)."""
    return get_context(request)


def _in_networks(address: str, networks: Sequence[Network]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in networks)


def client_of(scope: Scope, scheme: str, trusted: Sequence[Network]) -> tuple[str | None, str]:
    """The client IP and scheme of a request: the one parser of X-Forwarded-For and
    X-Forwarded-Proto, for the transport guard and every later re-check (issue 16, finding 6).

    Every header line counts: by RFC 9110 the lines of a header form one comma-separated
    list, and a proxy may append its own line after the client's."""
    client = scope.get("client")
    peer = client[0] if client else None
    if not trusted or peer is None:
        return peer, scheme
    forwarded_for: list[str] = []
    forwarded_proto: list[str] = []
    for name, value in scope["headers"]:
        if name == b"x-forwarded-for":
            forwarded_for.append(value.decode("latin-1"))
        elif name == b"x-forwarded-proto":
            forwarded_proto.append(value.decode("latin-1"))
    return resolve_client(
        peer, scheme, ", ".join(forwarded_for), ", ".join(forwarded_proto), trusted
    )


def resolve_client(
    peer_ip: str | None,
    scheme: str,
    forwarded_for: str | None,
    forwarded_proto: str | None,
    trusted: Sequence[Network],
) -> tuple[str | None, str]:
    """Client IP and scheme, believing X-Forwarded-* (each its lines joined) only from a
    trusted proxy peer.

    X-Forwarded-For is read from the right: the first address that is not itself a trusted
    proxy is the client (the left part of the header is whatever the client chose to send).
    X-Forwarded-Proto is read at the same depth: the scheme the proxy in front of that client
    reported (the rightmost one when no address was forwarded; the leftmost when the proxies
    replace the header instead of appending to it).
    """
    if not trusted or peer_ip is None or not _in_networks(peer_ip, trusted):
        return peer_ip, scheme
    client, depth = peer_ip, 0
    for hop in reversed(_items(forwarded_for)):
        try:
            ipaddress.ip_address(hop)
        except ValueError:
            break
        client, depth = hop, depth + 1
        if not _in_networks(hop, trusted):
            break
    protos = _items(forwarded_proto)
    if protos:
        proto = protos[max(len(protos) - max(depth, 1), 0)].lower()
        if proto in {"http", "https"}:
            scheme = proto
    return client, scheme


def _items(header: str | None) -> list[str]:
    return [item.strip() for item in (header or "").split(",") if item.strip()]
