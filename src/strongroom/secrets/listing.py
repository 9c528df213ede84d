"""Listing secrets (no values): keyset pagination on the path, narrowed by the caller's role.

The SQL walks the unique index on `path_key` from the cursor, inside the path ranges the
caller's role could possibly list (`Role.list_prefixes`), so the cost of a page does not grow
with its number. The rules are then applied exactly to each row. Rows the caller may not list
are skipped; a page scans at most `MAX_SCAN` rows, so a page may hold fewer than `limit` items
and still have a `next_cursor`.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Mapping

from strongroom.auth.principal import Principal
from strongroom.crypto.aead import DecryptionError
from strongroom.db import now
from strongroom.errors import BadRequest, InvalidInput, NotFound
from strongroom.policy.rules import Capability
from strongroom.secrets import repository as repo
from strongroom.secrets.access import require_on_secret, role_of
from strongroom.secrets.paths import normalize_prefix, path_problem, prefix_upper_bound
from strongroom.secrets.schemas import INT32_MAX
from strongroom.secrets.validation import MAX_METADATA_KEY, MAX_METADATA_VALUE
from strongroom.services import Services

MAX_SCAN = 2000
MAX_METADATA_FILTERS = 16
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
Range = tuple[str | None, str | None]


# Cursors are sealed under the keyring's data key and bound to the caller: opaque (a cursor
# names no path, not even one the caller may see), unforgeable, and useless to anyone else.
# A full page's cursor is its last item; a page cut short by MAX_SCAN continues after the
# last row scanned, which only the sealing keeps from being read.
_CURSOR_BINDING = b"strongroom:secrets-list-cursor:"


def encode_cursor(services: Services, principal: Principal, path: str) -> str:
    blob = services.barrier.encrypt(path.encode(), _CURSOR_BINDING + principal.user_id.encode())
    return base64.urlsafe_b64encode(blob).decode().rstrip("=")


async def decode_cursor(services: Services, principal: Principal, cursor: str) -> str:
    """The path a cursor continues after; 400 for anything this node did not issue to this
    caller (forged, altered, another user's, or from before a keyring change)."""
    try:
        blob = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        binding = _CURSOR_BINDING + principal.user_id.encode()
        path = (await services.barrier.decrypt(blob, binding)).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError, DecryptionError):
        path = ""
    if path_problem(path) is not None:
        raise BadRequest("invalid cursor: pass back a next_cursor unchanged")
    return path


def check_filters(filters: Mapping[str, str]) -> dict[str, str]:
    """`?metadata.KEY=VALUE` filters, within the limits that metadata itself has."""
    if len(filters) > MAX_METADATA_FILTERS:
        raise InvalidInput(
            f"at most {MAX_METADATA_FILTERS} metadata filters", loc=("query", "metadata")
        )
    for key, value in filters.items():
        if not key or len(key) > MAX_METADATA_KEY or len(value) > MAX_METADATA_VALUE:
            raise InvalidInput(
                f"a metadata filter key has 1-{MAX_METADATA_KEY} characters and its value at "
                f"most {MAX_METADATA_VALUE}",
                loc=("query", f"metadata.{key}"),
            )
        if _CONTROL.search(key) or "\x00" in value:
            raise InvalidInput(
                "control characters are not allowed in a metadata filter",
                loc=("query", f"metadata.{key}"),
            )
    return dict(filters)


def path_ranges(role_prefixes: list[str] | None, prefix: str) -> tuple[Range, ...]:
    """The path ranges to scan: the requested prefix, intersected with what the role can list."""
    if role_prefixes is None:
        wanted = [prefix]
    else:
        wanted = []
        for granted in role_prefixes:
            if granted.startswith(prefix):
                wanted.append(granted)
            elif prefix.startswith(granted):
                wanted.append(prefix)
    kept = sorted(set(wanted), key=len)
    # A prefix inside a shorter kept one adds nothing (and would duplicate rows in the OR).
    kept = [p for i, p in enumerate(kept) if not any(p.startswith(q) for q in kept[:i])]
    return tuple((p or None, prefix_upper_bound(p) if p else None) for p in sorted(kept))


async def list_secrets(
    services: Services,
    principal: Principal,
    *,
    prefix: str,
    limit: int,
    cursor: str | None,
    filters: Mapping[str, str],
) -> tuple[list[repo.SecretRow], str | None]:
    """One page of the live secrets the caller may `list`, and the cursor of the next."""
    role = role_of(services, principal)
    query = repo.ListQuery(
        now=now(),
        after=await decode_cursor(services, principal, cursor) if cursor else None,
        ranges=path_ranges(role.list_prefixes(principal.username), normalize_prefix(prefix)),
        metadata=check_filters(filters),
        limit=limit + 1,
    )
    items: list[repo.SecretRow] = []
    scanned = 0
    async with services.db.read() as conn:
        while True:
            batch = await repo.list_batch(conn, query)
            for index, row in enumerate(batch):
                if len(items) == limit:
                    return items, encode_cursor(services, principal, items[-1].path)
                scanned = scanned + 1
                if role.allows(Capability.list, row.path, principal.username):
                    items.append(row)
                if scanned >= MAX_SCAN and index + 1 < len(batch):
                    return items, encode_cursor(services, principal, row.path)
            if len(batch) < query.limit:
                return items, None
            if scanned >= MAX_SCAN:
                return items, encode_cursor(services, principal, batch[-1].path)
            query = repo.ListQuery(
                query.now, batch[-1].path, query.ranges, query.metadata, query.limit
            )


async def describe(services: Services, principal: Principal, secret_id: str) -> repo.SecretRow:
    """A live secret without its value or versions, for a caller who may `list` its path (the
    web interface's page of a secret for roles that list but do not read, such as auditors)."""
    async with services.db.read() as conn:
        secret = await repo.get_secret(conn, secret_id)
    if secret is None or secret.destroyed:
        raise NotFound("no secret with this id")
    if not role_of(services, principal).allows(Capability.list, secret.path, principal.username):
        raise NotFound("no secret with this id")
    if secret.expires_at is not None and secret.expires_at <= now():
        raise NotFound("the secret has expired")
    return secret


async def list_versions(
    services: Services, principal: Principal, secret_id: str, *, limit: int, cursor: str | None
) -> tuple[repo.SecretRow, list[repo.VersionRow], str | None]:
    """Versions of a secret, newest first, without values (deleted secrets too)."""
    before = None
    if cursor:
        if not cursor.isdigit() or len(cursor) > 10 or int(cursor) > INT32_MAX:
            raise InvalidInput(
                "invalid cursor: pass back a next_cursor unchanged", loc=("query", "cursor")
            )
        before = int(cursor)
    async with services.db.read() as conn:
        secret = await repo.get_secret(conn, secret_id)
        if secret is None:
            raise NotFound("no secret with this id")
        require_on_secret(services, principal, Capability.read, secret.path)
        if secret.destroyed:
            raise NotFound("the secret was destroyed")
        if secret.expires_at is not None and secret.expires_at <= now():
            raise NotFound("the secret has expired")
        rows = await repo.list_versions(conn, secret_id, before=before, limit=limit + 1)
    if len(rows) > limit:
        return secret, rows[:limit], str(rows[limit - 1].version)
    return secret, rows, None
