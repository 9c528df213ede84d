"""`client.audit`: the records of the database sink, and the audit HMAC of a token."""

from __future__ import annotations

import builtins
from typing import TYPE_CHECKING, Any

from strongroom_client._core import Call, copy_docs, route
from strongroom_client.models import Page, page_from

if TYPE_CHECKING:
    from strongroom_client.aio import AsyncClient
    from strongroom_client.client import Client

FILTERS = ("user", "path", "since", "until", "outcome")


def page_call(filters: dict[str, Any], limit: int, cursor: str | None) -> Call[Page]:
    params = [(k, str(v)) for k, v in filters.items() if k in FILTERS and v is not None]
    unknown = set(filters) - set(FILTERS)
    if unknown:
        raise TypeError(f"unknown audit filters: {', '.join(sorted(unknown))}")
    params.append(("limit", str(min(limit, 1000))))
    if cursor:
        params.append(("cursor", cursor))
    return Call("GET", "/audit", page_from, params=params)


def hash_call(text: str) -> Call[str]:
    return Call("POST", "/audit/hash", lambda d: str(d["hmac"]), json={"input": text})


class Audit:
    """Audit records (admins and auditors; the node needs `--audit-database`)."""

    def __init__(self, client: Client) -> None:
        self._c = client

    @route("GET", "/audit")
    def list(self, *, limit: int = 100, **filters: Any) -> builtins.list[dict[str, Any]]:
        """The newest `limit` records, newest first. Filters: `user`, `path` (prefix),
        `since`, `until` (RFC 3339 or Unix seconds), `outcome` (success, denied, error,
        auth_failed). `AuditDatabaseDisabled` if the node keeps no records in its database."""
        found: builtins.list[dict[str, Any]] = []
        cursor: str | None = None
        while len(found) < limit:
            page = self._c.call(page_call(filters, limit - len(found), cursor))
            found += page.items
            if not page.next_cursor:
                break
            cursor = page.next_cursor
        return found[:limit]

    @route("POST", "/audit/hash")
    def hash(self, text: str) -> str:
        """The audit HMAC of `text` (e.g. a token you hold), as records carry it (admins)."""
        return self._c.call(hash_call(text))


class AsyncAudit:
    def __init__(self, client: AsyncClient) -> None:
        self._c = client

    @route("GET", "/audit")
    async def list(self, *, limit: int = 100, **filters: Any) -> builtins.list[dict[str, Any]]:
        found: builtins.list[dict[str, Any]] = []
        cursor: str | None = None
        while len(found) < limit:
            page = await self._c.call(page_call(filters, limit - len(found), cursor))
            found += page.items
            if not page.next_cursor:
                break
            cursor = page.next_cursor
        return found[:limit]

    @route("POST", "/audit/hash")
    async def hash(self, text: str) -> str:
        return await self._c.call(hash_call(text))


copy_docs(AsyncAudit, Audit)
