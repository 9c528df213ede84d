"""`client.kv`: secrets by path, as a Vault user expects (the server's API works by id).

`put` on a path that holds a secret writes a new version of it: the client finds the id (by a
listing, or a read when the caller may not list), then updates; a race with another writer
(create answering 409 `path_taken`, update answering 404) is resolved by trying again.
Finding an id by reading counts as a read of a secret limited by `max_reads`.
"""

from __future__ import annotations

import builtins
import re
from collections.abc import AsyncIterator, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from strongroom_client._core import Call, copy_docs, route, secret_path, segment
from strongroom_client.errors import Conflict, Forbidden, NotFound, PathTaken, StrongroomError
from strongroom_client.models import (
    Page,
    Secret,
    SecretInfo,
    SecretState,
    SecretWritten,
    Version,
    build,
    page_from,
)

if TYPE_CHECKING:
    from strongroom_client.aio import AsyncClient
    from strongroom_client.client import Client

Duration = int | str
PAGE = 1000
ATTEMPTS = 3
_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def _secret(data: Any) -> Secret:
    return build(Secret, data)


def read_path(path: str) -> Call[Secret]:
    return Call("GET", "/secrets/by-path/" + secret_path(path), _secret)


def read_id(secret_id: str, version: int | None) -> Call[Secret]:
    params = (("version", str(version)),) if version is not None else ()
    return Call("GET", "/secrets/" + segment(secret_id), _secret, params=params)


def create(
    path: str,
    value: Any,
    ttl: Duration | None,
    max_reads: int | None,
    metadata: Mapping[str, str] | None,
) -> Call[SecretWritten]:
    body: dict[str, Any] = {"path": path, "value": value}
    if ttl is not None:
        body["ttl"] = ttl
    if max_reads is not None:
        body["max_reads"] = max_reads
    if metadata is not None:
        body["metadata"] = dict(metadata)
    return Call("POST", "/secrets/create", lambda d: build(SecretWritten, d), json=body)


def update(
    secret_id: str,
    value: Any,
    ttl: Duration | None,
    metadata: Mapping[str, str] | None,
    cas: int | None,
) -> Call[SecretWritten]:
    body: dict[str, Any] = {"value": value}
    if ttl is not None:
        body["ttl"] = ttl
    if metadata is not None:
        body["metadata"] = dict(metadata)
    if cas is not None:
        body["cas"] = cas
    return Call(
        "PUT", "/secrets/" + segment(secret_id), lambda d: build(SecretWritten, d), json=body
    )


def move_call(source: str, destination: str, prefix: bool) -> Call[builtins.list[dict[str, str]]]:
    body = {"source": source, "destination": destination, "prefix": prefix}
    return Call("POST", "/secrets/move", lambda d: list(d["moved"]), json=body)


def list_page(
    prefix: str, metadata: Mapping[str, str] | None, limit: int, cursor: str | None
) -> Call[Page]:
    params = [("prefix", prefix), ("limit", str(limit))]
    params += [(f"metadata.{key}", value) for key, value in (metadata or {}).items()]
    if cursor:
        params.append(("cursor", cursor))
    return Call("GET", "/secrets", page_from, params=params)


def versions_page(secret_id: str, cursor: str | None) -> Call[Page]:
    params = [("limit", str(PAGE))] + ([("cursor", cursor)] if cursor else [])
    return Call("GET", f"/secrets/{segment(secret_id)}/versions", page_from, params=params)


def state_call(method: str, secret_id: str, action: str, body: Any = None) -> Call[SecretState]:
    path = "/secrets/" + segment(secret_id) + (f"/{action}" if action else "")
    return Call(method, path, lambda d: build(SecretState, d), json=body)


def destroy_body(versions: Sequence[int] | None) -> dict[str, Any]:
    return {"versions": list(versions)} if versions else {}


def exact(page: Page, path: str) -> SecretInfo | None:
    wanted = path.strip("/")
    for item in page.items:
        if item.get("path") == wanted:
            return build(SecretInfo, item)
    return None


def info_of(secret: Secret) -> SecretInfo:
    return SecretInfo(
        secret.id,
        secret.path,
        secret.version,
        secret.metadata,
        secret.created_at,
        secret.updated_at,
        secret.expires_at,
        secret.reads,
        secret.max_reads,
    )


def fallback_id(path: str, deleted: dict[str, str], exc: StrongroomError) -> str:
    """No live secret at `path` for this caller: a secret this client deleted there, or
    `path` itself if it is an id; else the lookup's own error."""
    known = deleted.get(path.strip("/"))
    if known is not None:
        return known
    if _UUID.fullmatch(path):
        return path
    if isinstance(exc, NotFound):
        raise NotFound(
            f"no live secret at {path!r}, and none this client deleted there (a deleted "
            "secret is found by its id: delete returns it)",
            status=404,
        ) from None
    raise exc


def no_max_reads() -> ValueError:
    return ValueError("max_reads is set when a secret is created; this path holds one already")


class KV:
    """Secrets by path. Values are strings or JSON objects; metadata is a string map."""

    def __init__(self, client: Client) -> None:
        self._c = client
        #: Ids of secrets this client deleted, by path, for `undelete` and `destroy` by path.
        self.deleted: dict[str, str] = {}

    @route("GET", "/secrets/by-path/{path:path}")
    def get(self, path: str, version: int | None = None) -> Secret:
        """The secret at `path` with its value (`.value`, `.version`, `.metadata`): the
        current version, or `version`. `NotFound` if there is no live secret there."""
        if version is None:
            return self._c.call(read_path(path))
        return self._c.call(read_id(self.resolve(path).id, version))

    @route("GET", "/secrets/{secret_id}")
    def get_by_id(self, secret_id: str, version: int | None = None) -> Secret:
        """A secret by its id, the current version or `version`."""
        return self._c.call(read_id(secret_id, version))

    def put(
        self,
        path: str,
        value: str | dict[str, Any],
        *,
        ttl: Duration | None = None,
        max_reads: int | None = None,
        metadata: Mapping[str, str] | None = None,
        cas: int | None = None,
    ) -> SecretWritten:
        """Write `value` at `path`: a new secret, or a new version of the one there.

        `ttl` (seconds or '1h') makes the secret expire; `max_reads` (new secrets only)
        burns it after that many reads; `metadata` replaces the metadata; `cas=N` writes only
        if the current version is N (`CasMismatch` otherwise), `cas=0` only if the path is
        free (`PathTaken` otherwise)."""
        if cas == 0:
            return self.create(path, value, ttl=ttl, max_reads=max_reads, metadata=metadata)
        for _ in range(ATTEMPTS):
            found = self._listed(path)
            if found is None:
                if cas is None:
                    try:
                        return self.create(
                            path, value, ttl=ttl, max_reads=max_reads, metadata=metadata
                        )
                    except PathTaken:
                        pass  # created meanwhile: write a new version of it
                found = self.resolve(path)
            if max_reads is not None:
                raise no_max_reads()
            try:
                return self.update(found.id, value, ttl=ttl, metadata=metadata, cas=cas)
            except NotFound:
                if cas is not None:
                    raise  # deleted meanwhile
        raise Conflict(f"{path!r} kept changing during the write; try again", status=409)

    @route("POST", "/secrets/create")
    def create(
        self,
        path: str,
        value: str | dict[str, Any],
        *,
        ttl: Duration | None = None,
        max_reads: int | None = None,
        metadata: Mapping[str, str] | None = None,
    ) -> SecretWritten:
        """Create a secret (version 1); `PathTaken` if a live secret holds the path."""
        return self._c.call(create(path, value, ttl, max_reads, metadata))

    @route("PUT", "/secrets/{secret_id}")
    def update(
        self,
        secret_id: str,
        value: str | dict[str, Any],
        *,
        ttl: Duration | None = None,
        metadata: Mapping[str, str] | None = None,
        cas: int | None = None,
    ) -> SecretWritten:
        """Write a new version of the secret `secret_id`."""
        return self._c.call(update(secret_id, value, ttl, metadata, cas))

    @route("GET", "/secrets")
    def list(
        self, prefix: str = "", *, metadata: Mapping[str, str] | None = None
    ) -> builtins.list[SecretInfo]:
        """Every live secret under `prefix` the caller may list (all pages), without values;
        `metadata` filters on exact metadata values."""
        return list(self.iter(prefix, metadata=metadata))

    def iter(
        self, prefix: str = "", *, metadata: Mapping[str, str] | None = None, page_size: int = PAGE
    ) -> Iterator[SecretInfo]:
        """Like `list`, a page at a time."""
        cursor: str | None = None
        while True:
            page = self._c.call(list_page(prefix, metadata, page_size, cursor))
            yield from (build(SecretInfo, item) for item in page.items)
            if not page.next_cursor:
                return
            cursor = page.next_cursor

    def resolve(self, path: str) -> SecretInfo:
        """The live secret at `path`, without its value (`NotFound` if none)."""
        found = self._listed(path)
        return found if found is not None else info_of(self._c.call(read_path(path)))

    def _listed(self, path: str) -> SecretInfo | None:
        return exact(self._c.call(list_page(path.strip("/"), None, 1, None)), path)

    def metadata(self, path: str) -> SecretInfo:
        """The secret at `path` without its value: version, metadata, times, reads."""
        return self.resolve(path)

    @route("GET", "/secrets/{secret_id}/versions")
    def versions(self, path: str) -> builtins.list[Version]:
        """The versions of the secret at `path` (or with that id), newest first."""
        secret_id = self._id_of(path)
        found: builtins.list[Version] = []
        cursor: str | None = None
        while True:
            page = self._c.call(versions_page(secret_id, cursor))
            found += [build(Version, item) for item in page.items]
            if not page.next_cursor:
                return found
            cursor = page.next_cursor

    @route("DELETE", "/secrets/{secret_id}")
    def delete(self, path: str) -> SecretState:
        """Soft-delete the secret at `path`: unreadable at once, path free, versions kept
        until destroyed. The result's `id` undeletes it."""
        state = self._c.call(state_call("DELETE", self._id_of(path), ""))
        self.deleted[state.path] = state.id
        return state

    @route("POST", "/secrets/{secret_id}/undelete")
    def undelete(self, path: str) -> SecretState:
        """Restore a secret this client deleted (by path), or any deleted secret by id. The
        secret comes back whole, with every version that was not destroyed."""
        return self._c.call(state_call("POST", self._id_of(path), "undelete"))

    @route("POST", "/secrets/{secret_id}/destroy")
    def destroy(self, path: str, versions: Sequence[int] | None = None) -> SecretState:
        """Wipe `versions` (default: all, and the secret is gone) of the secret at `path` (or
        with that id) for good."""
        return self._c.call(
            state_call("POST", self._id_of(path), "destroy", destroy_body(versions))
        )

    @route("POST", "/secrets/move")
    def move(
        self, source: str, destination: str, *, prefix: bool = False
    ) -> builtins.list[dict[str, str]]:
        """Move (rename) the secret at `source` to `destination`, or with `prefix=True` every
        secret under the prefix `source` to the prefix `destination`, all or nothing. Ids,
        versions, metadata and expiry are kept. Returns `[{"from", "to", "id"}]`."""
        return self._c.call(move_call(source, destination, prefix))

    def _id_of(self, path: str) -> str:
        try:
            return self.resolve(path).id
        except (NotFound, Forbidden) as exc:
            return fallback_id(path, self.deleted, exc)


class AsyncKV:
    """Secrets by path (async). Values are strings or JSON objects; metadata a string map."""

    def __init__(self, client: AsyncClient) -> None:
        self._c = client
        self.deleted: dict[str, str] = {}

    @route("GET", "/secrets/by-path/{path:path}")
    async def get(self, path: str, version: int | None = None) -> Secret:
        if version is None:
            return await self._c.call(read_path(path))
        return await self._c.call(read_id((await self.resolve(path)).id, version))

    @route("GET", "/secrets/{secret_id}")
    async def get_by_id(self, secret_id: str, version: int | None = None) -> Secret:
        return await self._c.call(read_id(secret_id, version))

    async def put(
        self,
        path: str,
        value: str | dict[str, Any],
        *,
        ttl: Duration | None = None,
        max_reads: int | None = None,
        metadata: Mapping[str, str] | None = None,
        cas: int | None = None,
    ) -> SecretWritten:
        if cas == 0:
            return await self.create(path, value, ttl=ttl, max_reads=max_reads, metadata=metadata)
        for _ in range(ATTEMPTS):
            found = await self._listed(path)
            if found is None:
                if cas is None:
                    try:
                        return await self.create(
                            path, value, ttl=ttl, max_reads=max_reads, metadata=metadata
                        )
                    except PathTaken:
                        pass
                found = await self.resolve(path)
            if max_reads is not None:
                raise no_max_reads()
            try:
                return await self.update(found.id, value, ttl=ttl, metadata=metadata, cas=cas)
            except NotFound:
                if cas is not None:
                    raise
        raise Conflict(f"{path!r} kept changing during the write; try again", status=409)

    @route("POST", "/secrets/create")
    async def create(
        self,
        path: str,
        value: str | dict[str, Any],
        *,
        ttl: Duration | None = None,
        max_reads: int | None = None,
        metadata: Mapping[str, str] | None = None,
    ) -> SecretWritten:
        return await self._c.call(create(path, value, ttl, max_reads, metadata))

    @route("PUT", "/secrets/{secret_id}")
    async def update(
        self,
        secret_id: str,
        value: str | dict[str, Any],
        *,
        ttl: Duration | None = None,
        metadata: Mapping[str, str] | None = None,
        cas: int | None = None,
    ) -> SecretWritten:
        return await self._c.call(update(secret_id, value, ttl, metadata, cas))

    @route("GET", "/secrets")
    async def list(
        self, prefix: str = "", *, metadata: Mapping[str, str] | None = None
    ) -> builtins.list[SecretInfo]:
        return [item async for item in self.iter(prefix, metadata=metadata)]

    async def iter(
        self, prefix: str = "", *, metadata: Mapping[str, str] | None = None, page_size: int = PAGE
    ) -> AsyncIterator[SecretInfo]:
        cursor: str | None = None
        while True:
            page = await self._c.call(list_page(prefix, metadata, page_size, cursor))
            for item in page.items:
                yield build(SecretInfo, item)
            if not page.next_cursor:
                return
            cursor = page.next_cursor

    async def resolve(self, path: str) -> SecretInfo:
        found = await self._listed(path)
        return found if found is not None else info_of(await self._c.call(read_path(path)))

    async def _listed(self, path: str) -> SecretInfo | None:
        return exact(await self._c.call(list_page(path.strip("/"), None, 1, None)), path)

    async def metadata(self, path: str) -> SecretInfo:
        return await self.resolve(path)

    @route("GET", "/secrets/{secret_id}/versions")
    async def versions(self, path: str) -> builtins.list[Version]:
        secret_id = await self._id_of(path)
        found: builtins.list[Version] = []
        cursor: str | None = None
        while True:
            page = await self._c.call(versions_page(secret_id, cursor))
            found += [build(Version, item) for item in page.items]
            if not page.next_cursor:
                return found
            cursor = page.next_cursor

    @route("DELETE", "/secrets/{secret_id}")
    async def delete(self, path: str) -> SecretState:
        state = await self._c.call(state_call("DELETE", await self._id_of(path), ""))
        self.deleted[state.path] = state.id
        return state

    @route("POST", "/secrets/{secret_id}/undelete")
    async def undelete(self, path: str) -> SecretState:
        return await self._c.call(state_call("POST", await self._id_of(path), "undelete"))

    @route("POST", "/secrets/{secret_id}/destroy")
    async def destroy(self, path: str, versions: Sequence[int] | None = None) -> SecretState:
        secret_id = await self._id_of(path)
        return await self._c.call(state_call("POST", secret_id, "destroy", destroy_body(versions)))

    @route("POST", "/secrets/move")
    async def move(
        self, source: str, destination: str, *, prefix: bool = False
    ) -> builtins.list[dict[str, str]]:
        """Move (rename) a secret or, with `prefix=True`, every secret under a prefix."""
        return await self._c.call(move_call(source, destination, prefix))

    async def _id_of(self, path: str) -> str:
        try:
            return (await self.resolve(path)).id
        except (NotFound, Forbidden) as exc:
            return fallback_id(path, self.deleted, exc)


copy_docs(AsyncKV, KV)
