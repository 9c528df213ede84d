"""HTTP routes of the transit module, under /api/v1/modules/transit/: parse, call, return."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query

from strongroom.auth.dependencies import CurrentPrincipal, ServicesDep
from strongroom.http.strict_json import StrictJsonRoute
from strongroom.modules.http import ERRORS, module_route
from strongroom.modules.transit import operations, service
from strongroom.modules.transit.schemas import (
    DatakeyRequest,
    DatakeyResponse,
    DecryptRequest,
    DecryptResponse,
    Deleted,
    EncryptRequest,
    EncryptResponse,
    ExportResponse,
    ExportType,
    KeyConfig,
    KeyCreate,
    KeyOut,
    KeyPage,
    KeySummary,
    SignRequest,
    SignResponse,
    VerifyRequest,
    VerifyResponse,
)
from strongroom.timefmt import rfc3339

router = APIRouter(
    route_class=StrictJsonRoute, tags=["transit"], dependencies=[Depends(module_route)]
)
BASE = "/modules/transit"
USE_ERRORS: dict[int | str, dict[str, Any]] = {
    **ERRORS,
    400: {
        "description": "invalid_ciphertext (altered, unknown version, wrong key or context: "
        "nothing more is said), version_too_old, unsupported_operation, invalid_signature"
    },
}


async def _key_out(services: ServicesDep, key: Any) -> KeyOut:
    return KeyOut.of(key, await service.versions_of(services, key))


@router.post(f"{BASE}/keys", response_model=KeyOut, responses={**ERRORS, 409: {}})
async def create_key(body: KeyCreate, principal: CurrentPrincipal, services: ServicesDep) -> KeyOut:
    """Create a named key of yours: aes256-gcm (default) or chacha20-poly1305 to encrypt,
    ed25519 or ecdsa-p256 to sign. `exportable` allows exporting its private material (for
    good). 409 if you have a key of that name."""
    return await _key_out(services, await service.create_key(services, principal, body))


@router.get(f"{BASE}/keys", response_model=KeyPage, responses=ERRORS)
async def list_keys(
    principal: CurrentPrincipal,
    services: ServicesDep,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    cursor: Annotated[str | None, Query(max_length=128)] = None,
) -> KeyPage:
    """Your keys, by name, without material."""
    keys, next_cursor = await service.list_keys(services, principal, limit=limit, cursor=cursor)
    items = [
        KeySummary(
            name=key.name,
            type=key.type.value,
            latest_version=key.latest_version,
            created_at=rfc3339(key.created_at) or "",
        )
        for key in keys
    ]
    return KeyPage(items=items, next_cursor=next_cursor)


@router.get(f"{BASE}/keys/{{name}}", response_model=KeyOut, responses=ERRORS)
async def read_key(name: str, principal: CurrentPrincipal, services: ServicesDep) -> KeyOut:
    """One of your keys: type, versions, settings; never its material."""
    return await _key_out(services, await service.read_key(services, principal, name))


@router.post(f"{BASE}/keys/{{name}}/config", response_model=KeyOut, responses=ERRORS)
async def configure_key(
    name: str, body: KeyConfig, principal: CurrentPrincipal, services: ServicesDep
) -> KeyOut:
    """Set `min_decryption_version` (older ciphertexts and signatures are refused),
    `exportable` (false to true only) or `deletion_allowed`."""
    return await _key_out(services, await service.configure(services, principal, name, body))


@router.delete(f"{BASE}/keys/{{name}}", response_model=Deleted, responses={**ERRORS, 409: {}})
async def delete_key(name: str, principal: CurrentPrincipal, services: ServicesDep) -> Deleted:
    """Delete a key and all its versions: its ciphertexts are lost. Needs `deletion_allowed`
    (409 deletion_not_allowed otherwise)."""
    await service.delete_key(services, principal, name)
    return Deleted()


@router.post(f"{BASE}/rotate/{{name}}", response_model=KeyOut, responses=ERRORS)
async def rotate_key(name: str, principal: CurrentPrincipal, services: ServicesDep) -> KeyOut:
    """Add a key version; new ciphertexts and signatures use it, older ones stay usable down to
    `min_decryption_version`."""
    return await _key_out(services, await service.rotate(services, principal, name))


@router.post(
    f"{BASE}/encrypt/{{name}}",
    response_model=EncryptResponse,
    response_model_exclude_none=True,
    responses=USE_ERRORS,
)
async def encrypt(
    name: str, body: EncryptRequest, principal: CurrentPrincipal, services: ServicesDep
) -> EncryptResponse:
    """Encrypt base64 `plaintext` (optional base64 `context`: associated data that decryption
    must repeat) → `{"ciphertext": "strongroom:v{N}:...", "key_version"}`; or up to 1,000
    `batch_input` items → `batch_results`."""
    return await operations.encrypt(services, principal, name, body)


@router.post(
    f"{BASE}/decrypt/{{name}}",
    response_model=DecryptResponse,
    response_model_exclude_none=True,
    responses=USE_ERRORS,
)
async def decrypt(
    name: str, body: DecryptRequest, principal: CurrentPrincipal, services: ServicesDep
) -> DecryptResponse:
    """Decrypt a `ciphertext` (with its `context`, if it had one) → base64 `plaintext`; or a
    `batch_input`. Anything wrong with a ciphertext is 400 invalid_ciphertext, nothing more."""
    return await operations.decrypt(services, principal, name, body)


@router.post(
    f"{BASE}/rewrap/{{name}}",
    response_model=EncryptResponse,
    response_model_exclude_none=True,
    responses=USE_ERRORS,
)
async def rewrap(
    name: str, body: DecryptRequest, principal: CurrentPrincipal, services: ServicesDep
) -> EncryptResponse:
    """Re-encrypt a `ciphertext` (or a batch) with the latest key version, without the
    plaintext leaving the server."""
    return await operations.rewrap(services, principal, name, body)


@router.post(
    f"{BASE}/datakey/{{name}}",
    response_model=DatakeyResponse,
    response_model_exclude_none=True,
    responses=USE_ERRORS,
)
async def datakey(
    name: str, body: DatakeyRequest, principal: CurrentPrincipal, services: ServicesDep
) -> DatakeyResponse:
    """A new random data key (`bits`: 128, 256 or 512) encrypted by the named key; decrypt
    gives it back. In clear too only with `return_plaintext`."""
    return await operations.datakey(services, principal, name, body)


@router.post(f"{BASE}/sign/{{name}}", response_model=SignResponse, responses=USE_ERRORS)
async def sign(
    name: str, body: SignRequest, principal: CurrentPrincipal, services: ServicesDep
) -> SignResponse:
    """Sign base64 `input` with an ed25519 or ecdsa-p256 key (ECDSA: SHA-256, DER)."""
    return await operations.sign(services, principal, name, body)


@router.post(f"{BASE}/verify/{{name}}", response_model=VerifyResponse, responses=USE_ERRORS)
async def verify(
    name: str, body: VerifyRequest, principal: CurrentPrincipal, services: ServicesDep
) -> VerifyResponse:
    """Check a `signature` of base64 `input` → `{"valid": true|false}`."""
    return await operations.verify(services, principal, name, body)


@router.get(
    f"{BASE}/export/{{export_type}}/{{name}}",
    response_model=ExportResponse,
    responses=USE_ERRORS,
)
async def export_key(
    export_type: ExportType, name: str, principal: CurrentPrincipal, services: ServicesDep
) -> ExportResponse:
    """Export every version of a key: `encryption-key` (base64) or `signing-key` (PEM, PKCS#8)
    only if the key is exportable (403 key_not_exportable otherwise); `public-key` (PEM) of a
    signing key always."""
    key, exported = await service.export(services, principal, export_type, name)
    return ExportResponse(name=key.name, type=key.type.value, keys=exported)
