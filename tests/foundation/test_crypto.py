"""The encryption barrier (issue 2, acceptance 5; SECURITY.md 18-19)."""

from __future__ import annotations

import pytest

from strongroom.barrier.service import Barrier
from strongroom.crypto import DecryptionError, KeyPurpose, Keyring, envelope, generate_root_key
from strongroom.crypto.aead import HEADER_BYTES, blob_key_version
from strongroom.db import Database
from tests.support import Api


def _keyring() -> Keyring:
    root = generate_root_key()
    entries = [Keyring.new_wrapped(root, purpose, 1) for purpose in KeyPurpose]
    return Keyring.unwrap(root, entries)


def test_round_trip_and_fresh_nonces() -> None:
    keyring = _keyring()
    first = keyring.encrypt(b"db-password", b"secret:1:1")
    second = keyring.encrypt(b"db-password", b"secret:1:1")
    assert first != second
    assert keyring.decrypt(first, b"secret:1:1") == b"db-password"
    assert b"db-password" not in first


@pytest.mark.parametrize("position", ["header", "nonce", "body", "tag"])
def test_any_flipped_byte_is_the_generic_error(position: str) -> None:
    keyring = _keyring()
    blob = bytearray(keyring.encrypt(b"value", b"owner"))
    index = {"header": 3, "nonce": HEADER_BYTES - 1, "body": HEADER_BYTES, "tag": len(blob) - 1}[
        position
    ]
    blob[index] ^= 0x01
    with pytest.raises(DecryptionError) as caught:
        keyring.decrypt(bytes(blob), b"owner")
    assert str(caught.value) == ""
    assert caught.value.__cause__ is None and caught.value.__context__ is None


def test_ciphertexts_do_not_move_between_owners() -> None:
    keyring = _keyring()
    a = keyring.encrypt(b"alpha", b"secret:a:1")
    b = keyring.encrypt(b"bravo", b"secret:b:1")
    for blob, owner in ((a, b"secret:b:1"), (b, b"secret:a:1"), (a, b"secret:a:2")):
        with pytest.raises(DecryptionError):
            keyring.decrypt(blob, owner)


def test_wrong_root_key_does_not_unwrap() -> None:
    root = generate_root_key()
    entries = [Keyring.new_wrapped(root, purpose, 1) for purpose in KeyPurpose]
    with pytest.raises(DecryptionError):
        Keyring.unwrap(generate_root_key(), entries)
    assert "***" in repr(root) and root.encode() not in repr(Keyring.unwrap(root, entries))


def test_an_envelope_opens_only_in_its_own_row_and_only_with_its_key() -> None:
    keyring = _keyring()
    sealed = envelope.seal_value(keyring, b"db-password", b"secret:a:1")
    other = envelope.seal_value(keyring, b"db-password", b"secret:a:1")
    assert sealed.ciphertext != other.ciphertext and sealed.wrapped_key != other.wrapped_key
    assert b"db-password" not in sealed.ciphertext and "***" in repr(sealed)
    assert blob_key_version(sealed.ciphertext) == envelope.DEK_VERSION
    assert blob_key_version(sealed.wrapped_key) == keyring.data_version
    opened = envelope.open_value(keyring, sealed.ciphertext, sealed.wrapped_key, b"secret:a:1")
    assert opened == b"db-password"
    refused = [
        (sealed.ciphertext, sealed.wrapped_key, b"secret:b:1"),  # another row
        (sealed.ciphertext, other.wrapped_key, b"secret:a:1"),  # another value's key
        (sealed.ciphertext, None, b"secret:a:1"),  # its key deleted
        (sealed.wrapped_key, None, b"secret:a:1"),  # its key offered as the value
    ]
    for ciphertext, wrapped, binding in refused:
        with pytest.raises(DecryptionError):
            envelope.open_value(keyring, ciphertext, wrapped, binding)
    # A value stored before envelopes: a keyring blob, no key of its own.
    legacy = keyring.encrypt(b"older", b"secret:a:1")
    assert envelope.open_value(keyring, legacy, None, b"secret:a:1") == b"older"


async def test_a_rotation_rewraps_value_keys_and_leaves_ciphertexts_alone(api: Api) -> None:
    barrier = api.services.barrier
    sealed = barrier.seal_value(b"before rotation", b"secret:r:1")
    assert await barrier.rotate() == 2
    rewrapped = barrier.rewrap_value_key(sealed.wrapped_key, b"secret:r:1")
    assert (blob_key_version(sealed.wrapped_key), blob_key_version(rewrapped)) == (1, 2)
    for key in (sealed.wrapped_key, rewrapped):
        opened = await barrier.open_value(sealed.ciphertext, key, b"secret:r:1")
        assert opened == b"before rotation"


async def test_rotation_keeps_old_values_readable(api: Api) -> None:
    barrier = api.services.barrier
    old = barrier.encrypt(b"before rotation", b"x")
    version = await barrier.rotate()
    assert version == 2
    new = barrier.encrypt(b"after rotation", b"x")
    assert int.from_bytes(new[1:5], "big") == 2
    assert int.from_bytes(old[1:5], "big") == 1
    assert await barrier.decrypt(old, b"x") == b"before rotation"
    assert await barrier.decrypt(new, b"x") == b"after rotation"


async def test_another_node_picks_up_a_rotation_when_it_meets_the_new_version(api: Api) -> None:
    other_db = Database(api.services.config.resolved_database_url)
    try:
        other = Barrier(other_db)
        from strongroom.crypto import RootKey

        root_key = api.services.config.root_key
        assert root_key is not None
        await other.unseal(RootKey.decode(root_key.get_secret_value()))
        await api.services.barrier.rotate()
        blob = api.services.barrier.encrypt(b"rotated elsewhere", b"y")
        assert await other.decrypt(blob, b"y") == b"rotated elsewhere"
    finally:
        await other_db.dispose()


async def test_marker_through_the_barrier_is_not_in_the_raw_sqlite_file(sqlite_api: Api) -> None:
    marker = b"MARKER-7f3a9c-plaintext"
    from sqlalchemy import insert

    from strongroom.system.models import settings

    blob = sqlite_api.services.barrier.encrypt(marker, b"setting:custom.marker")
    async with sqlite_api.services.db.begin() as conn:
        await conn.execute(
            insert(settings).values(key="custom.marker", secret_value=blob, updated_at=0.0)
        )
    await sqlite_api.services.db.dispose()
    data_dir = sqlite_api.services.config.data_dir
    raw = b"".join(p.read_bytes() for p in data_dir.iterdir() if p.name.startswith("strongroom.db"))
    assert blob in raw  # the ciphertext is there ...
    assert marker not in raw  # ... and the plaintext is not
