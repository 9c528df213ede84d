"""`/sys/init`, `/sys/unseal`, `/sys/seal-status`, `/sys/seal` and `/sys/rekey/*`.

Health, seal-status, init and unseal are the four routes a sealed or uninitialised node
answers (seal/gate.py); init needs the node's init token, unseal a key share, seal and rekey
an admin token.
"""

from __future__ import annotations

from fastapi import APIRouter, Request

from strongroom import __version__
from strongroom.auth.dependencies import AdminPrincipal, ServicesDep, SystemReader, bearer_token
from strongroom.bootstrap import ensure_admin
from strongroom.errors import Conflict, Unauthorized
from strongroom.http.context import get_context
from strongroom.seal.initauth import init_token_matches
from strongroom.seal.rewrap import JobView, rewrapper_of
from strongroom.seal.schemas import (
    InitRequest,
    InitResponse,
    RekeyInitRequest,
    RekeyStatus,
    RekeyUpdateRequest,
    RewrapStatus,
    SealStatus,
    UnsealRequest,
)
from strongroom.seal.service import SealKeeper
from strongroom.services import Services
from strongroom.timefmt import rfc3339

router = APIRouter(tags=["seal"])


def keeper_of(services: Services) -> SealKeeper:
    keeper: SealKeeper = services.extras["seal"]
    return keeper


async def _status(services: Services) -> SealStatus:
    state = await keeper_of(services).state()
    return SealStatus(
        type=state.seal_type,
        initialized=state.initialised,
        sealed=state.sealed,
        t=state.threshold,
        n=state.shares,
        progress=state.progress,
        nonce=state.nonce,
        version=__version__,
        cluster_name=services.settings.general.cluster_name,
    )


@router.get("/sys/seal-status", response_model=SealStatus)
async def seal_status(services: ServicesDep) -> SealStatus:
    """Seal type, threshold (t) and shares (n), unseal progress and nonce, initialised and
    sealed, of this node. No token: it reveals no secret."""
    return await _status(services)


@router.post("/sys/init", response_model=InitResponse)
async def init(body: InitRequest, request: Request, services: ServicesDep) -> InitResponse:
    """Initialise a node of a production seal, once: create the root key (split into
    `secret_shares` shares, any `secret_threshold` of which unseal) and the keyring, and the
    first admin when there is none. Needs the node's init token (`Authorization: Bearer`, from
    `<data_dir>/init-token` or STRONGROOM_INIT_TOKEN). The shares and the admin password are
    shown once, never stored. A second init answers 400 `already_initialised`."""
    get_context(request).sensitive = True
    keeper = keeper_of(services)
    if await services.barrier.refresh_initialised():
        from strongroom.barrier.service import AlreadyInitialised

        raise AlreadyInitialised()
    if not init_token_matches(services.config, bearer_token(request)):
        get_context(request).auth_failed = True
        raise Unauthorized(
            "sys/init needs this node's init token (Authorization: Bearer <init token>)",
            code="invalid_token",
        )
    outcome = await keeper.initialise(body.secret_shares, body.secret_threshold)
    password = await ensure_admin(services.config, services.db, services.passwords, keep=False)
    services.config.init_token_file.unlink(missing_ok=True)
    await services.runtime.reload(await services.store.get_epoch())
    return InitResponse(
        keys=[share.hex for share in outcome.shares],
        keys_base64=[share.base64 for share in outcome.shares],
        admin_username=services.config.admin_username if password else None,
        admin_password=password,
    )


@router.post("/sys/unseal", response_model=SealStatus)
async def unseal(body: UnsealRequest, request: Request, services: ServicesDep) -> SealStatus:
    """Give one key share (hex or base64); at the threshold the node unseals. Shares from
    several clients combine. A wrong share set answers 400 `invalid_key` and resets the
    progress; `{"reset": true}` forgets the shares given so far. The share is the credential:
    no token. An uninitialised node answers 503 `not_initialised`: unseal never creates keys."""
    get_context(request).sensitive = True
    was_sealed = services.barrier.sealed
    await keeper_of(services).unseal(body.key, body.reset)
    if was_sealed and not services.barrier.sealed:
        await services.runtime.reload(await services.store.get_epoch())
    return await _status(services)


@router.post("/sys/seal", response_model=SealStatus)
async def seal(request: Request, _admin: AdminPrincipal, services: ServicesDep) -> SealStatus:
    """Seal this node (a shamir node): it forgets its keys and answers 503 `sealed` to
    everything but health, seal-status, init and unseal until unsealed again (admin)."""
    get_context(request).sensitive = True
    keeper = keeper_of(services)
    if keeper.seal.automatic or keeper.seal.type == "pkcs11":
        raise Conflict(
            "only a shamir node can be sealed over the API (this one would unseal itself)",
            code="automatic_seal",
        )
    keeper.seal_node()
    return await _status(services)


@router.post("/sys/rekey/init", response_model=RekeyStatus)
async def rekey_init(
    body: RekeyInitRequest, request: Request, _admin: AdminPrincipal, services: ServicesDep
) -> RekeyStatus:
    """Start a rekey to `secret_shares` new shares with threshold `secret_threshold`; a quorum
    of the current shares (rekey/update) completes it (admin)."""
    get_context(request).sensitive = True
    status = await keeper_of(services).rekey_init(body.secret_shares, body.secret_threshold)
    return RekeyStatus.model_validate(status)


@router.post("/sys/rekey/update", response_model=RekeyStatus)
async def rekey_update(
    body: RekeyUpdateRequest, request: Request, _admin: AdminPrincipal, services: ServicesDep
) -> RekeyStatus:
    """Give one current share with the rekey's nonce; at the quorum a new root key is made,
    the keyring rewrapped under it, and the new shares returned (once): the old ones stop
    working. A wrong share set answers 400 `invalid_key` and resets the progress (admin)."""
    get_context(request).sensitive = True
    status, shares = await keeper_of(services).rekey_update(body.key, body.nonce)
    result = RekeyStatus.model_validate(status)
    if shares:
        result.keys = [share.hex for share in shares]
        result.keys_base64 = [share.base64 for share in shares]
    return result


@router.post("/sys/rekey/cancel", status_code=204)
async def rekey_cancel(request: Request, _admin: AdminPrincipal, services: ServicesDep) -> None:
    """Cancel the rekey in progress; the shares given for it are forgotten (admin)."""
    get_context(request).sensitive = True
    keeper_of(services).rekey_cancel()


def _rewrap_status(job: JobView | None) -> RewrapStatus:
    if job is None:
        return RewrapStatus(state="none")
    return RewrapStatus(
        id=job.id,
        state=job.state,
        data_version=job.data_version,
        stage=job.stage if job.state == "running" else None,
        done=min(job.done, job.total),
        total=job.total,
        started_at=rfc3339(job.started_at),
        finished_at=rfc3339(job.finished_at),
    )


@router.post("/sys/rewrap", response_model=RewrapStatus)
async def start_rewrap(
    request: Request, _admin: AdminPrincipal, services: ServicesDep
) -> RewrapStatus:
    """Start re-encrypting every stored value (secrets' keys and pre-envelope values, module
    data, share links, secret settings) under the newest data key, in the background: one
    worker at a time across nodes, resumable after a crash. Answers the job (the running one
    if there is one). Rotate first (`POST /sys/rotate`) to move to a new key (admin)."""
    get_context(request).sensitive = True
    return _rewrap_status(await rewrapper_of(services).start())


@router.get("/sys/rewrap", response_model=RewrapStatus)
async def rewrap_status(_reader: SystemReader, services: ServicesDep) -> RewrapStatus:
    """The latest rewrap job: state, target data key, stage, values done of total."""
    return _rewrap_status(await rewrapper_of(services).latest())
