"""Using transit keys: encrypt, decrypt, rewrap, datakey, sign, verify.

Encryption is the hot path (the benchmark's): the access rules without I/O, one statement
for the key version and the caller's enablement, an unwrapped key from the node's cache, one
AEAD call. A batch (up to 1,000 items) answers item by item: a bad item gets `error` and
`code` in its place and the others go on.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Awaitable, Callable

from strongroom.auth.principal import Principal
from strongroom.crypto import DecryptionError
from strongroom.crypto.transit import TransitCipher, TransitSigner, random_bytes
from strongroom.errors import BadRequest, InvalidInput, StrongroomError
from strongroom.modules.access import check_use
from strongroom.modules.catalog import TRANSIT
from strongroom.modules.errors import InvalidCiphertext, UnsupportedOperation, VersionTooOld
from strongroom.modules.transit import ciphertext
from strongroom.modules.transit.keys import UsableVersion, use_version
from strongroom.modules.transit.schemas import (
    DatakeyRequest,
    DatakeyResponse,
    DecryptRequest,
    DecryptResponse,
    EncryptRequest,
    EncryptResponse,
    ItemResult,
    SignRequest,
    SignResponse,
    VerifyRequest,
    VerifyResponse,
)
from strongroom.modules.transit.service import known_name
from strongroom.services import Services

Loader = Callable[[int | None], Awaitable[UsableVersion]]


def _b64(value: str | None, field: str) -> bytes:
    if value is None:
        return b""
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise InvalidInput(f"{field} is not valid base64", loc=("body", field)) from None


def _cipher(usable: UsableVersion) -> TransitCipher:
    if not isinstance(usable.primitive, TransitCipher):
        raise UnsupportedOperation(f"{usable.key.type} keys sign; they do not encrypt")
    return usable.primitive


def _signer(usable: UsableVersion) -> TransitSigner:
    if not isinstance(usable.primitive, TransitSigner):
        raise UnsupportedOperation(f"{usable.key.type} keys encrypt; they do not sign")
    return usable.primitive


def _loader(services: Services, principal: Principal, name: str) -> Loader:
    """Versions of one key for one request, each loaded at most once."""
    loaded: dict[int | None, UsableVersion] = {}

    async def load(version: int | None) -> UsableVersion:
        found = loaded.get(version)
        if found is None:
            found = loaded[version] = await use_version(services, principal, name, version)
            loaded[found.version] = found
        return found

    return load


def _allowed(services: Services, principal: Principal, name: str) -> None:
    check_use(services, principal, TRANSIT, known_name(name))


def _seal(usable: UsableVersion, plaintext: bytes, context: bytes) -> str:
    return ciphertext.encode(usable.version, _cipher(usable).encrypt(plaintext, context))


async def _open(load: Loader, text: str, context: bytes) -> bytes:
    parsed = ciphertext.decode(text)
    if parsed is None:
        raise InvalidCiphertext()
    version, raw = parsed
    usable = await load(version)
    if version < usable.key.min_decryption_version:
        raise VersionTooOld(
            f"ciphertexts of version {version} are no longer decrypted "
            f"(min_decryption_version {usable.key.min_decryption_version})"
        )
    try:
        return _cipher(usable).decrypt(raw, context)
    except DecryptionError:
        raise InvalidCiphertext() from None


def _failed(exc: StrongroomError) -> ItemResult:
    return ItemResult(error=exc.detail, code=exc.code)


async def encrypt(
    services: Services,
    principal: Principal,
    name: str,
    body: EncryptRequest,
    watched: str | None = None,
) -> EncryptResponse:
    """`watched`: the key name's watched value, read by the session check (the fast lane)."""
    _allowed(services, principal, name)
    usable = await use_version(services, principal, name, watched=watched)
    _cipher(usable)
    if body.batch_input is None:
        sealed = _seal(usable, _b64(body.plaintext, "plaintext"), _b64(body.context, "context"))
        return EncryptResponse(ciphertext=sealed, key_version=usable.version)
    results = []
    for item in body.batch_input:
        try:
            plaintext, context = _b64(item.plaintext, "plaintext"), _b64(item.context, "context")
            results.append(
                ItemResult(ciphertext=_seal(usable, plaintext, context), key_version=usable.version)
            )
        except StrongroomError as exc:
            results.append(_failed(exc))
    return EncryptResponse(batch_results=results)


async def decrypt(
    services: Services, principal: Principal, name: str, body: DecryptRequest
) -> DecryptResponse:
    _allowed(services, principal, name)
    load = _loader(services, principal, name)
    _cipher(await load(None))  # the key exists, is the caller's, and encrypts
    if body.batch_input is None:
        assert body.ciphertext is not None  # (the model says one of the two)
        plaintext = await _open(load, body.ciphertext, _b64(body.context, "context"))
        return DecryptResponse(plaintext=base64.b64encode(plaintext).decode())
    results = []
    for item in body.batch_input:
        try:
            opened = await _open(load, item.ciphertext, _b64(item.context, "context"))
            results.append(ItemResult(plaintext=base64.b64encode(opened).decode()))
        except StrongroomError as exc:
            results.append(_failed(exc))
    return DecryptResponse(batch_results=results)


async def rewrap(
    services: Services, principal: Principal, name: str, body: DecryptRequest
) -> EncryptResponse:
    """Decrypt with whichever version made each ciphertext, encrypt with the latest; the
    plaintext never leaves the server."""
    _allowed(services, principal, name)
    load = _loader(services, principal, name)
    latest = await load(None)
    _cipher(latest)
    if body.batch_input is None:
        assert body.ciphertext is not None
        context = _b64(body.context, "context")
        plaintext = await _open(load, body.ciphertext, context)
        return EncryptResponse(
            ciphertext=_seal(latest, plaintext, context), key_version=latest.version
        )
    results = []
    for item in body.batch_input:
        try:
            context = _b64(item.context, "context")
            sealed = _seal(latest, await _open(load, item.ciphertext, context), context)
            results.append(ItemResult(ciphertext=sealed, key_version=latest.version))
        except StrongroomError as exc:
            results.append(_failed(exc))
    return EncryptResponse(batch_results=results)


async def datakey(
    services: Services, principal: Principal, name: str, body: DatakeyRequest
) -> DatakeyResponse:
    """A fresh random data key encrypted by the named key (decrypt gives it back), and in
    clear only when `return_plaintext` asks for it."""
    _allowed(services, principal, name)
    usable = await use_version(services, principal, name)
    key = random_bytes(body.bits // 8)
    return DatakeyResponse(
        ciphertext=_seal(usable, key, _b64(body.context, "context")),
        key_version=usable.version,
        plaintext=base64.b64encode(key).decode() if body.return_plaintext else None,
    )


async def sign(
    services: Services, principal: Principal, name: str, body: SignRequest
) -> SignResponse:
    _allowed(services, principal, name)
    usable = await use_version(services, principal, name)
    signature = _signer(usable).sign(_b64(body.input, "input"))
    return SignResponse(
        signature=ciphertext.encode(usable.version, signature), key_version=usable.version
    )


async def verify(
    services: Services, principal: Principal, name: str, body: VerifyRequest
) -> VerifyResponse:
    """Whether `signature` is the key's signature of `input` (with the version it names)."""
    _allowed(services, principal, name)
    load = _loader(services, principal, name)
    _signer(await load(None))
    data = _b64(body.input, "input")
    parsed = ciphertext.decode(body.signature)
    if parsed is None:
        raise BadRequest(
            "the signature is not of the form strongroom:v{N}:{base64}", code="invalid_signature"
        )
    version, raw = parsed
    try:
        usable = await load(version)
    except InvalidCiphertext:
        return VerifyResponse(valid=False)  # no such version: not a signature of this key
    if version < usable.key.min_decryption_version:
        raise VersionTooOld(
            f"signatures of version {version} are no longer verified "
            f"(min_decryption_version {usable.key.min_decryption_version})"
        )
    return VerifyResponse(valid=_signer(usable).verify(data, raw))
