"""The secrets browser, a secret's page, create and edit, reveal, versions and share links."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson
from fastapi import APIRouter, Request
from pydantic import ValidationError
from starlette.responses import JSONResponse, Response

from strongroom.errors import Forbidden, InvalidInput, NotFound, StrongroomError
from strongroom.http.context import get_context
from strongroom.policy.rules import Capability
from strongroom.secrets import listing, reading, service
from strongroom.secrets.access import role_of
from strongroom.secrets.endpoints import known_id
from strongroom.secrets.schemas import DestroyRequest, SecretCreate, SecretUpdate
from strongroom.shares import service as shares
from strongroom.ui.forms import SecretForm, parse_secret_form, search_terms
from strongroom.ui.render import page, redirect
from strongroom.ui.routing import ServicesDep, UiRoute, UiUser, form_lists, form_of
from strongroom.ui.security import own_origin

router = APIRouter(route_class=UiRoute)
PAGE_SIZE = 50
SCAN_BATCH = 200
SCAN_BATCHES = 5


@dataclass(frozen=True, slots=True)
class Entry:
    """A line of the browser: a folder (a prefix) or a secret."""

    name: str
    href: str
    folder: bool
    secret: Any = None


def _crumbs(prefix: str) -> list[tuple[str, str]]:
    crumbs = [("All secrets", "/ui/secrets")]
    walked = ""
    for segment in [s for s in prefix.split("/") if s]:
        walked += segment + "/"
        crumbs.append((segment, f"/ui/secrets?prefix={walked}"))
    return crumbs


async def _tree(
    services: ServicesDep, user: UiUser, prefix: str, cursor: str | None
) -> tuple[list[Entry], str | None]:
    """One page of the folders and secrets directly under `prefix`."""
    entries: list[Entry] = []
    folders: set[str] = set()
    next_cursor = cursor
    for _ in range(SCAN_BATCHES):
        rows, next_cursor = await listing.list_secrets(
            services, user, prefix=prefix, limit=SCAN_BATCH, cursor=next_cursor, filters={}
        )
        for row in rows:
            rest = row.path[len(prefix) :]
            if "/" in rest:
                folder = rest.split("/", 1)[0]
                if folder not in folders:
                    folders.add(folder)
                    href = f"/ui/secrets?prefix={prefix}{folder}/"
                    entries.append(Entry(folder + "/", href, True))
            else:
                entries.append(Entry(rest, f"/ui/secrets/{row.id}", False, row))
        if next_cursor is None or len(entries) >= PAGE_SIZE:
            break
    return entries, next_cursor


@router.get("/ui/secrets")
async def browse(request: Request, services: ServicesDep, user: UiUser) -> Response:
    """Secrets by folder, or the results of a search by path prefix and metadata."""
    query = request.query_params
    prefix = query.get("prefix", "")[:1024]
    search = query.get("q", "")[:2048].strip()
    cursor = query.get("cursor") or None
    error = None
    entries: list[Entry] = []
    next_cursor = None
    try:
        if search:
            search_prefix, filters = search_terms(search)
            rows, next_cursor = await listing.list_secrets(
                services,
                user,
                prefix=search_prefix,
                limit=PAGE_SIZE,
                cursor=cursor,
                filters=filters,
            )
            entries = [Entry(r.path, f"/ui/secrets/{r.id}", False, r) for r in rows]
        else:
            entries, next_cursor = await _tree(services, user, prefix, cursor)
    except InvalidInput as exc:
        error = exc.detail
    can_create = role_of(services, user).allows(
        Capability.create, (prefix or f"users/{user.username}/") + "x", user.username
    )
    return page(
        request,
        services,
        "secrets.html",
        user,
        title="Secrets",
        prefix=prefix,
        search=search,
        entries=entries,
        next_cursor=next_cursor,
        crumbs=_crumbs(prefix),
        error=error,
        can_create=can_create,
        metadata_of=lambda row: orjson.loads(row.metadata),
    )


def _form_page(
    request: Request, services: ServicesDep, user: UiUser, form: SecretForm, **values: Any
) -> Response:
    return page(request, services, "secret_form.html", user, form=form, **values)


@router.get("/ui/secrets/new")
async def new_form(request: Request, services: ServicesDep, user: UiUser) -> Response:
    """The form for a new secret (text or key/value pairs, TTL, max reads, metadata)."""
    prefix = request.query_params.get("prefix", "")[:1024] or f"users/{user.username}/"
    return _form_page(
        request, services, user, SecretForm(path=prefix), title="New secret", editing=None
    )


def _problem(exc: ValidationError | StrongroomError) -> str:
    if isinstance(exc, ValidationError):
        return "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
    return exc.detail


@router.post("/ui/secrets/new")
async def create(request: Request, services: ServicesDep, user: UiUser) -> Response:
    """Store a new secret through the secrets service."""
    form = parse_secret_form(await form_lists(request))
    ctx = get_context(request)
    ctx.sensitive = True
    try:
        body = SecretCreate(
            path=form.path,
            value=form.value(),
            metadata=form.metadata(),
            ttl=form.ttl_value(),
            max_reads=form.max_reads_value(),
        )
        written = await service.create_secret(services, user, body, ctx)
    except (ValidationError, StrongroomError) as exc:
        status = exc.status if isinstance(exc, StrongroomError) else 422
        return _form_page(
            request,
            services,
            user,
            form,
            title="New secret",
            editing=None,
            error=_problem(exc),
            status=status,
        )
    return redirect(f"/ui/secrets/{written.secret.id}", "created")


async def _secret_view(
    request: Request, services: ServicesDep, user: UiUser, secret_id: str, **values: Any
) -> Response:
    ctx = get_context(request)
    ctx.sensitive = True
    role = role_of(services, user)
    try:
        secret, versions, _ = await listing.list_versions(
            services, user, known_id(secret_id, ctx), limit=100, cursor=None
        )
    except Forbidden:
        # A role that lists but does not read (auditors) sees the secret without versions.
        secret, versions = await listing.describe(services, user, secret_id), []
    ctx.secret_path = secret.path
    allows = {
        cap.value: role.allows(cap, secret.path, user.username)
        for cap in (Capability.read, Capability.update, Capability.delete)
    }
    reads_left = None if secret.max_reads is None else secret.max_reads - secret.reads
    return page(
        request,
        services,
        "secret.html",
        user,
        title=secret.path,
        secret=secret,
        versions=versions,
        metadata=orjson.loads(secret.metadata),
        allows=allows,
        reads_left=reads_left,
        links=await shares.shares_of(services, user, secret.id),
        share_ttls=[("1 hour", 3600), ("1 day", 86400), ("7 days", 7 * 86400)],
        **values,
    )


@router.get("/ui/secrets/{secret_id}")
async def secret_page(
    secret_id: str, request: Request, services: ServicesDep, user: UiUser
) -> Response:
    """A secret without its value: metadata, TTL, reads left, versions, share links."""
    return await _secret_view(request, services, user, secret_id)


def _version_arg(raw: str | None) -> int | None:
    if not raw:
        return None
    if not raw.isdigit() or len(raw) > 10:
        raise InvalidInput("version is a positive number", loc=("body", "version"))
    return int(raw)


@router.post("/ui/secrets/{secret_id}/reveal")
async def reveal(secret_id: str, request: Request, services: ServicesDep, user: UiUser) -> Response:
    """The value, on demand: an audited read like GET /api/v1/secrets/{id}."""
    form = await form_of(request)
    ctx = get_context(request)
    ctx.sensitive = True
    version = _version_arg(form.get("version"))
    revealed = await reading.read_by_id(services, user, known_id(secret_id, ctx), version, ctx)
    value = orjson.loads(revealed.plaintext)
    if "application/json" in request.headers.get("accept", ""):
        return JSONResponse({"value": value, "version": revealed.row.version})
    return await _secret_view(
        request, services, user, secret_id, revealed=value, revealed_version=revealed.row.version
    )


@router.get("/ui/secrets/{secret_id}/edit")
async def edit_form(
    secret_id: str, request: Request, services: ServicesDep, user: UiUser
) -> Response:
    """The form for a new version; the current value is loaded only on request (a reveal)."""
    ctx = get_context(request)
    secret, _, _ = await listing.list_versions(
        services, user, known_id(secret_id, ctx), limit=1, cursor=None
    )
    if secret.deleted_at is not None:
        raise NotFound("the secret was deleted: restore it first")
    form = SecretForm(
        path=secret.path,
        metadata_text="\n".join(f"{k}={v}" for k, v in orjson.loads(secret.metadata).items()),
        cas=str(secret.current_version),
    )
    return _form_page(request, services, user, form, title=f"Edit {secret.path}", editing=secret)


@router.post("/ui/secrets/{secret_id}/edit")
async def edit(secret_id: str, request: Request, services: ServicesDep, user: UiUser) -> Response:
    """Write the next version (check-and-set against the version the form was made from)."""
    form = parse_secret_form(await form_lists(request))
    ctx = get_context(request)
    ctx.sensitive = True
    try:
        body = SecretUpdate(
            value=form.value(),
            metadata=form.metadata(),
            ttl=form.ttl_value(),
            cas=form.cas_value(),
        )
        await service.update_secret(services, user, known_id(secret_id, ctx), body, ctx)
    except (ValidationError, StrongroomError) as exc:
        if isinstance(exc, NotFound):
            raise
        secret, _, _ = await listing.list_versions(services, user, secret_id, limit=1, cursor=None)
        status = exc.status if isinstance(exc, StrongroomError) else 422
        return _form_page(
            request,
            services,
            user,
            form,
            title=f"Edit {secret.path}",
            editing=secret,
            error=_problem(exc),
            status=status,
        )
    return redirect(f"/ui/secrets/{secret_id}", "saved")


@router.post("/ui/secrets/{secret_id}/delete")
async def delete(secret_id: str, request: Request, services: ServicesDep, user: UiUser) -> Response:
    """Soft delete (restorable)."""
    ctx = get_context(request)
    ctx.sensitive = True
    await service.delete_secret(services, user, known_id(secret_id, ctx), ctx)
    return redirect(f"/ui/secrets/{secret_id}", "deleted")


@router.post("/ui/secrets/{secret_id}/undelete")
async def undelete(
    secret_id: str, request: Request, services: ServicesDep, user: UiUser
) -> Response:
    """Restore a soft-deleted secret."""
    ctx = get_context(request)
    ctx.sensitive = True
    await service.undelete_secret(services, user, known_id(secret_id, ctx), ctx)
    return redirect(f"/ui/secrets/{secret_id}", "undeleted")


@router.post("/ui/secrets/{secret_id}/destroy")
async def destroy(
    secret_id: str, request: Request, services: ServicesDep, user: UiUser
) -> Response:
    """Wipe the chosen versions (or all) for good."""
    ctx = get_context(request)
    ctx.sensitive = True
    chosen = (await form_lists(request)).get("versions", [])
    versions = [_version_arg(v) for v in chosen if v]
    body = DestroyRequest(versions=[v for v in versions if v is not None] or None)
    written = await service.destroy_secret(services, user, known_id(secret_id, ctx), body, ctx)
    if written.secret.destroyed:
        return redirect("/ui/secrets", "destroyed")
    return redirect(f"/ui/secrets/{secret_id}", "destroyed")


@router.post("/ui/secrets/{secret_id}/share")
async def share(secret_id: str, request: Request, services: ServicesDep, user: UiUser) -> Response:
    """Make a share-once link; its key is shown here once and kept nowhere."""
    form = await form_of(request)
    ctx = get_context(request)
    ctx.sensitive = True
    raw_ttl = form.get("ttl", "")
    if not raw_ttl.isdigit() or len(raw_ttl) > 9:
        raise InvalidInput("choose how long the link lives", loc=("body", "ttl"))
    created = await shares.create_share(services, user, known_id(secret_id, ctx), int(raw_ttl), ctx)
    link = f"{own_origin(request)}/ui/share#{created.info.id}.{created.link_key}"
    return page(
        request,
        services,
        "share_created.html",
        user,
        title="Share link",
        link=link,
        share=created.info,
    )


@router.post("/ui/shares/{share_id}/revoke")
async def revoke_share(
    share_id: str, request: Request, services: ServicesDep, user: UiUser
) -> Response:
    """Withdraw a share link of yours before it is used."""
    form = await form_of(request)
    await shares.revoke_share(services, user, share_id)
    back = form.get("secret_id", "")
    return redirect(f"/ui/secrets/{back}" if back else "/ui/secrets", "share-revoked")
