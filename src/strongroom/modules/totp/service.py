"""TOTP keys: generate or import, read the current code, validate a code (each at most once).

Every function first checks that the caller may use the totp module and has enabled it
(modules/access.py). A key's seed is stored only through the barrier and leaves the server
once: in the URL and QR code answered when the server generated it.
"""

from __future__ import annotations

import logging
import re

from sqlalchemy.exc import IntegrityError

from strongroom.auth.principal import Principal
from strongroom.crypto import DecryptionError
from strongroom.crypto.otp import hotp, matching_step, new_seed, totp_step
from strongroom.db import now
from strongroom.db.base import new_id
from strongroom.errors import InvalidInput
from strongroom.modules.access import require_use
from strongroom.modules.catalog import TOTP
from strongroom.modules.errors import KeyExists, KeyNotFound, ModuleIntegrityError
from strongroom.modules.stored import totp_binding
from strongroom.modules.totp import qr
from strongroom.modules.totp import repository as repo
from strongroom.modules.totp.otpauth import (
    TotpParams,
    build_url,
    check_params,
    parse_base32,
    parse_url,
)
from strongroom.modules.totp.repository import TotpRow
from strongroom.modules.totp.schemas import KeyCreate
from strongroom.modules.transit.schemas import KEY_NAME_PATTERN
from strongroom.services import Services

log = logging.getLogger(__name__)
_KEY_NAME = re.compile(KEY_NAME_PATTERN)


def _known_name(name: str) -> str:
    if not _KEY_NAME.fullmatch(name):
        raise KeyNotFound("no TOTP key of that name")
    return name


async def _owned(services: Services, principal: Principal, name: str) -> TotpRow:
    await require_use(services, principal, TOTP, _known_name(name))
    async with services.db.connect() as conn:
        row = await repo.get_key(conn, principal.user_id, name)
    if row is None:
        raise KeyNotFound("no TOTP key of that name")
    return row


def _params(body: KeyCreate, parsed: TotpParams | None) -> TotpParams:
    """Explicit fields win over what an imported URL says."""
    base = parsed or TotpParams("", "", "SHA1", 6, 30)
    return check_params(
        TotpParams(
            body.issuer or base.issuer,
            body.account_name or base.account_name,
            body.algorithm or base.algorithm,
            body.digits or base.digits,
            body.period or base.period,
        )
    )


def _seed_and_params(body: KeyCreate) -> tuple[bytes, TotpParams]:
    if body.generate:
        if body.url is not None or body.key is not None:
            raise InvalidInput("generate makes its own seed: send no url or key", loc=("body",))
        if not body.issuer or not body.account_name:
            raise InvalidInput(
                "a generated key needs issuer and account_name (they label it in the app)",
                loc=("body", "issuer" if not body.issuer else "account_name"),
            )
        return new_seed(body.key_size), _params(body, None)
    if (body.url is None) == (body.key is None):
        raise InvalidInput("to import a key send url or key (or set generate)", loc=("body",))
    if body.url is not None:
        seed, parsed = parse_url(body.url)
        return seed, _params(body, parsed)
    assert body.key is not None
    return parse_base32(body.key), _params(body, None)


async def create_key(
    services: Services, principal: Principal, body: KeyCreate
) -> tuple[TotpRow, str | None, bytes | None]:
    """The new key; for a generated, exported key also its URL and QR code PNG (else None)."""
    await require_use(services, principal, TOTP, body.name)
    seed, params = _seed_and_params(body)
    stamp = now()
    key_id = new_id()
    row = TotpRow(
        key_id, body.name, body.generate, params.issuer, params.account_name, params.algorithm,
        params.digits, params.period, body.skew,
        services.barrier.encrypt(seed, totp_binding(key_id)), stamp, stamp,
    )  # fmt: skip
    try:
        async with services.db.begin() as conn:
            if await repo.get_key(conn, principal.user_id, body.name) is not None:
                raise KeyExists(f"you already have a TOTP key named {body.name!r}")
            await repo.insert_key(conn, row, principal.user_id)
    except IntegrityError:
        raise KeyExists(f"you already have a TOTP key named {body.name!r}") from None
    if not (body.generate and body.exported):
        return row, None, None
    url = build_url(seed, params)
    return row, url, qr.png(url, body.qr_size) if body.qr_size else None


async def read_key(services: Services, principal: Principal, name: str) -> TotpRow:
    return await _owned(services, principal, name)


async def list_keys(
    services: Services, principal: Principal, *, limit: int, cursor: str | None
) -> tuple[list[TotpRow], str | None]:
    await require_use(services, principal, TOTP)
    async with services.db.connect() as conn:
        rows = await repo.list_keys(conn, principal.user_id, after=cursor, limit=limit + 1)
    page = rows[:limit]
    return page, (page[-1].name if len(rows) > limit else None)


async def delete_key(services: Services, principal: Principal, name: str) -> None:
    row = await _owned(services, principal, name)
    async with services.db.begin() as conn:
        await repo.delete_key(conn, row.id)


async def _seed(services: Services, row: TotpRow) -> bytes:
    try:
        return await services.barrier.decrypt(row.seed, totp_binding(row.id))
    except DecryptionError:
        log.error("TOTP key %s failed decryption: stored data altered or moved", row.id)
        raise ModuleIntegrityError() from None


async def code(services: Services, principal: Principal, name: str) -> str:
    """The key's code for the current time step."""
    row = await _owned(services, principal, name)
    seed = await _seed(services, row)
    return hotp(seed, totp_step(now(), row.period), row.algorithm, row.digits)


async def validate(services: Services, principal: Principal, name: str, supplied: str) -> bool:
    """Whether `supplied` is the key's code for now, or for up to `skew` steps either side; a
    code is valid once, and after it no code of the same or an earlier step is (replays and
    stale codes are refused on every node: the claim is one conditional UPDATE)."""
    row = await _owned(services, principal, name)
    if len(supplied) != row.digits or not supplied.isascii() or not supplied.isdigit():
        return False
    seed = await _seed(services, row)
    current = totp_step(now(), row.period)
    steps = range(current - row.skew, current + row.skew + 1)
    step = matching_step(seed, supplied, steps, row.algorithm, row.digits)
    if step is None:
        return False
    async with services.db.begin() as conn:
        return await repo.claim_step(conn, row.id, step)
