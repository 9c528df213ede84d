"""Secrets at rest: tampered or swapped ciphertexts and keys fail closed; no plaintext in the
storage."""

from __future__ import annotations

import logging
import subprocess

import orjson
import pytest
from sqlalchemy import delete, select, update
from sqlalchemy.engine import make_url

from strongroom.secrets.models import secret_version_keys, secret_versions
from strongroom.secrets.validation import binding
from tests.secrets.conftest import BASE, create, read
from tests.support import Api

VALUE = "PLAINTEXT-MARKER-7f3a9c"
# Header: format (1) + key version (4); then the nonce (12), the ciphertext, the tag (16).
POSITIONS = {"key version": 4, "nonce": 5, "body": 18, "tag": -1}
k = secret_version_keys.c


async def _ciphertext(api: Api, secret_id: str, version: int = 1) -> bytes:
    async with api.services.db.connect() as conn:
        blob = (
            await conn.execute(
                select(secret_versions.c.ciphertext).where(
                    secret_versions.c.secret_id == secret_id, secret_versions.c.version == version
                )
            )
        ).scalar_one()
    assert isinstance(blob, bytes)
    return blob


async def _store(api: Api, secret_id: str, version: int, blob: bytes) -> None:
    async with api.services.db.begin() as conn:
        await conn.execute(
            update(secret_versions)
            .where(secret_versions.c.secret_id == secret_id, secret_versions.c.version == version)
            .values(ciphertext=blob)
        )


def _assert_integrity_error(response_text: str, status: int) -> None:
    assert status == 503, response_text
    assert '"code":"integrity_error"' in response_text
    assert VALUE not in response_text
    assert "Traceback" not in response_text and "InvalidTag" not in response_text


@pytest.mark.parametrize("where", list(POSITIONS))
async def test_one_flipped_byte_fails_the_read(
    api: Api, admin: dict[str, str], where: str, caplog: pytest.LogCaptureFixture
) -> None:
    secret_id = (await create(api, admin, "tamper/one", VALUE))["id"]
    blob = bytearray(await _ciphertext(api, secret_id))
    blob[POSITIONS[where]] ^= 0x01
    await _store(api, secret_id, 1, bytes(blob))
    with caplog.at_level(logging.DEBUG):
        for response in (
            await read(api, admin, secret_id),
            await api.client.get(f"{BASE}/by-path/tamper/one", headers=admin),
        ):
            _assert_integrity_error(response.text, response.status_code)
    logged = [record for record in caplog.records if "failed decryption" in record.getMessage()]
    assert logged and all(record.exc_info is None for record in logged)
    assert all(VALUE not in record.getMessage() for record in caplog.records)


async def test_truncated_ciphertext_fails_the_read(api: Api, admin: dict[str, str]) -> None:
    secret_id = (await create(api, admin, "tamper/short", VALUE))["id"]
    for blob in (b"", b"\x01", (await _ciphertext(api, secret_id))[:-17]):
        await _store(api, secret_id, 1, blob)
        response = await read(api, admin, secret_id)
        _assert_integrity_error(response.text, response.status_code)


async def test_ciphertexts_swapped_between_secrets_fail(api: Api, admin: dict[str, str]) -> None:
    first = (await create(api, admin, "swap/first", VALUE))["id"]
    second = (await create(api, admin, "swap/second", "other-value"))["id"]
    one, two = await _ciphertext(api, first), await _ciphertext(api, second)
    await _store(api, first, 1, two)
    await _store(api, second, 1, one)
    for secret_id in (first, second):
        response = await read(api, admin, secret_id)
        _assert_integrity_error(response.text, response.status_code)
        assert "other-value" not in response.text


async def test_ciphertexts_swapped_between_versions_fail(api: Api, admin: dict[str, str]) -> None:
    secret_id = (await create(api, admin, "swap/versions", VALUE))["id"]
    await api.client.put(f"{BASE}/{secret_id}", json={"value": "version-two"}, headers=admin)
    one, two = await _ciphertext(api, secret_id, 1), await _ciphertext(api, secret_id, 2)
    await _store(api, secret_id, 1, two)
    await _store(api, secret_id, 2, one)
    for version in (1, 2):
        response = await read(api, admin, secret_id, version=version)
        _assert_integrity_error(response.text, response.status_code)


async def test_a_failed_read_of_a_burn_after_reading_secret_is_not_counted(
    api: Api, admin: dict[str, str]
) -> None:
    secret_id = (await create(api, admin, "tamper/burn", VALUE, max_reads=1))["id"]
    good = await _ciphertext(api, secret_id)
    await _store(api, secret_id, 1, good[:-1] + bytes([good[-1] ^ 0x80]))
    response = await read(api, admin, secret_id)
    _assert_integrity_error(response.text, response.status_code)
    await _store(api, secret_id, 1, good)
    restored = await read(api, admin, secret_id)
    assert restored.status_code == 200
    assert (restored.json()["value"], restored.json()["reads"]) == (VALUE, 1)


async def _wrapped_key(api: Api, secret_id: str, version: int = 1) -> bytes:
    async with api.services.db.connect() as conn:
        blob = (
            await conn.execute(
                select(k.wrapped_key).where(k.secret_id == secret_id, k.version == version)
            )
        ).scalar_one()
    assert isinstance(blob, bytes)
    return blob


async def _store_key(api: Api, secret_id: str, version: int, blob: bytes | None) -> None:
    """Replace a version's wrapped key (None: delete it)."""
    where = (k.secret_id == secret_id, k.version == version)
    async with api.services.db.begin() as conn:
        if blob is None:
            await conn.execute(delete(secret_version_keys).where(*where))
        else:
            await conn.execute(update(secret_version_keys).where(*where).values(wrapped_key=blob))


@pytest.mark.parametrize("where", list(POSITIONS))
async def test_one_flipped_byte_in_a_wrapped_key_fails_the_read(
    api: Api, admin: dict[str, str], where: str
) -> None:
    secret_id = (await create(api, admin, "tamper/key", VALUE))["id"]
    blob = bytearray(await _wrapped_key(api, secret_id))
    blob[POSITIONS[where]] ^= 0x01
    await _store_key(api, secret_id, 1, bytes(blob))
    response = await read(api, admin, secret_id)
    _assert_integrity_error(response.text, response.status_code)


async def test_keys_swapped_between_secrets_fail(api: Api, admin: dict[str, str]) -> None:
    first = (await create(api, admin, "swap/key-first", VALUE))["id"]
    second = (await create(api, admin, "swap/key-second", "other-value"))["id"]
    one, two = await _wrapped_key(api, first), await _wrapped_key(api, second)
    await _store_key(api, first, 1, two)
    await _store_key(api, second, 1, one)
    for secret_id in (first, second):
        response = await read(api, admin, secret_id)
        _assert_integrity_error(response.text, response.status_code)
        assert "other-value" not in response.text


async def test_keys_swapped_between_versions_fail(api: Api, admin: dict[str, str]) -> None:
    secret_id = (await create(api, admin, "swap/key-versions", VALUE))["id"]
    await api.client.put(f"{BASE}/{secret_id}", json={"value": "version-two"}, headers=admin)
    one, two = await _wrapped_key(api, secret_id, 1), await _wrapped_key(api, secret_id, 2)
    await _store_key(api, secret_id, 1, two)
    await _store_key(api, secret_id, 2, one)
    for version in (1, 2):
        response = await read(api, admin, secret_id, version=version)
        _assert_integrity_error(response.text, response.status_code)


async def test_a_value_moved_with_its_key_to_another_secret_fails(
    api: Api, admin: dict[str, str]
) -> None:
    source = (await create(api, admin, "move/source", VALUE))["id"]
    target = (await create(api, admin, "move/target", "target-value"))["id"]
    await _store(api, target, 1, await _ciphertext(api, source))
    await _store_key(api, target, 1, await _wrapped_key(api, source))
    response = await read(api, admin, target)
    _assert_integrity_error(response.text, response.status_code)


async def test_a_value_whose_key_was_deleted_fails_the_read(
    api: Api, admin: dict[str, str]
) -> None:
    secret_id = (await create(api, admin, "tamper/no-key", VALUE))["id"]
    await _store_key(api, secret_id, 1, None)
    response = await read(api, admin, secret_id)
    _assert_integrity_error(response.text, response.status_code)


async def test_a_wrapped_key_offered_as_a_value_fails(api: Api, admin: dict[str, str]) -> None:
    """A wrapped key is a keyring blob, like a value stored before envelopes: moved into the
    ciphertext column (its own row dropped), it must not open as that value."""
    secret_id = (await create(api, admin, "tamper/key-as-value", VALUE))["id"]
    await _store(api, secret_id, 1, await _wrapped_key(api, secret_id))
    await _store_key(api, secret_id, 1, None)
    response = await read(api, admin, secret_id)
    _assert_integrity_error(response.text, response.status_code)


async def test_a_value_stored_before_envelopes_still_reads_and_destroys(
    api: Api, admin: dict[str, str]
) -> None:
    """Rows written before migration 0006 hold a keyring blob and no key: they read as before,
    until a new version or a destroy replaces them."""
    secret_id = (await create(api, admin, "legacy/value", {"password": VALUE}))["id"]
    legacy = api.services.barrier.encrypt(orjson.dumps({"password": VALUE}), binding(secret_id, 1))
    await _store(api, secret_id, 1, legacy)
    await _store_key(api, secret_id, 1, None)
    response = await read(api, admin, secret_id)
    assert response.status_code == 200, response.text
    assert response.json()["value"] == {"password": VALUE}
    destroyed = await api.client.post(f"{BASE}/{secret_id}/destroy", json={}, headers=admin)
    assert destroyed.status_code == 200, destroyed.text
    assert (await read(api, admin, secret_id)).status_code == 404
    async with api.services.db.connect() as conn:
        wiped = (
            await conn.execute(
                select(secret_versions.c.ciphertext).where(secret_versions.c.secret_id == secret_id)
            )
        ).scalar_one()
    assert wiped is None


async def test_no_plaintext_in_the_sqlite_file_or_its_wal(sqlite_api: Api) -> None:
    from tests.secrets.conftest import headers_for

    admin = await headers_for(sqlite_api, "root", "admin")
    await create(sqlite_api, admin, "grep/me", VALUE, metadata={"note": "METADATA-IN-CLEAR-5512"})
    secret_id = (await create(sqlite_api, admin, "grep/json", {"password": VALUE}))["id"]
    await sqlite_api.client.put(f"{BASE}/{secret_id}", json={"value": VALUE}, headers=admin)
    database = make_url(sqlite_api.services.db.url).database
    assert database is not None
    raw = b"".join(_read(path) for path in (database, database + "-wal", database + "-journal"))
    assert b"METADATA-IN-CLEAR-5512" in raw, "the search itself works: metadata is clear text"
    assert VALUE.encode() not in raw
    assert VALUE.encode("utf-16-le") not in raw


def _read(path: str) -> bytes:
    try:
        with open(path, "rb") as handle:
            return handle.read()
    except FileNotFoundError:
        return b""


@pytest.mark.parametrize("db_backend", ["postgres"])
async def test_no_plaintext_in_a_postgres_dump(api: Api, admin: dict[str, str]) -> None:
    await create(api, admin, "grep/me", VALUE, metadata={"note": "METADATA-IN-CLEAR-5512"})
    secret_id = (await create(api, admin, "grep/json", {"password": VALUE}))["id"]
    await api.client.put(f"{BASE}/{secret_id}", json={"value": VALUE}, headers=admin)
    url = make_url(api.services.db.url)
    dump = subprocess.run(
        [
            "pg_dump",
            "--data-only",
            "-h",
            url.host or "127.0.0.1",
            "-p",
            str(url.port or 5432),
            "-U",
            url.username or "postgres",
            url.database or "",
        ],
        capture_output=True,
        check=True,
        timeout=60,
    ).stdout
    assert b"METADATA-IN-CLEAR-5512" in dump, "the dump holds the tables"
    assert b"secret_versions" in dump
    assert VALUE.encode() not in dump
    # bytea columns are dumped as hex: a plaintext stored there would show up like this.
    assert VALUE.encode().hex().encode() not in dump
