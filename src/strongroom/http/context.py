"""What the edge learns about a request, shared by middleware, auth, audit and endpoints."""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from starlette.requests import Request

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


def resolve_client(
    peer_ip: str | None,
    scheme: str,
    forwarded_for: str | None,
    forwarded_proto: str | None,
    trusted: Sequence[Network],
) -> tuple[str | None, str]:
    """Client IP and scheme, believing X-Forwarded-* only from a trusted proxy peer.

    X-Forwarded-For is read from the right: the first address that is not itself a trusted
    proxy is the client (the left part of the header is whatever the client chose to send).
    """
    if not trusted or peer_ip is None or not _in_networks(peer_ip, trusted):
        return peer_ip, scheme
    client = peer_ip
    if forwarded_for:
        hops = [hop.strip() for hop in forwarded_for.split(",") if hop.strip()]
        for hop in reversed(hops):
            try:
                ipaddress.ip_address(hop)
            except ValueError:
                break
            client = hop
            if not _in_networks(hop, trusted):
                break
    if forwarded_proto:
        proto = forwarded_proto.split(",")[0].strip().lower()
        if proto in {"http", "https"}:
            scheme = proto
    return client, scheme
