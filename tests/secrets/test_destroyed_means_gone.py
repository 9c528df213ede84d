"""Destroyed means gone (issue 16, finding 3; SECURITY.md criterion 31).

A value destroyed through the API, burned by its last permitted read, expired and swept, or
pruned beyond `secrets.max_versions` leaves no trace in any file of the data directory
(database, WAL, SHM: grepped for its plaintext, its ciphertext and its wrapped key), and a
copy of its row saved before cannot be decrypted with the live keyring afterwards.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from strongroom.config import Config
from strongroom.crypto import DecryptionError
from strongroom.crypto.aead import HEADER_BYTES, TAG_BYTES, Cipher
from strongroom.crypto.envelope import DEK_VERSION, key_binding, open_value
from strongroom.db import now
from strongroom.secrets.models import secret_version_keys, secret_versions
from strongroom.secrets.service import sweep_expired_secrets
from strongroom.secrets.validation import binding
from tests.secrets.conftest import BASE, assert_error, create, headers_for, read
from tests.support import Api

LIVE = "LIVE-MARKER-40c2e1"
MARKERS = {
    "destroyed": "DESTROYED-MARKER-9b1f07",
    "burned": "BURNED-MARKER-5e8d22",
    "swept": "SWEPT-MARKER-c3a4b6",
    "pruned": "PRUNED-MARKER-71fe90",
}


@dataclass(frozen=True)
class Saved:
    """A copy of a version's stored row (and its key's), taken before it was destroyed."""

    secret_id: str
    version: int
    ciphertext: bytes
    wrapped_key: bytes | None

    def fragments(self) -> dict[str, bytes]:
        """What must appear nowhere: each stored blob, and its random nonce and tag alone
        (12 and 16 random bytes: even a partly overwritten copy would still show them)."""
        found = {}
        for name, blob in (("ciphertext", self.ciphertext), ("wrapped key", self.wrapped_key)):
            if blob is not None:
                found[name] = blob
                found[f"{name} nonce"] = blob[HEADER_BYTES - 12 : HEADER_BYTES]
                found[f"{name} tag"] = blob[-TAG_BYTES:]
        return found


async def _save(api: Api, secret_id: str, version: int = 1) -> Saved:
    async with api.services.db.connect() as conn:
        ciphertext = (
            await conn.execute(
                select(secret_versions.c.ciphertext).where(
                    secret_versions.c.secret_id == secret_id,
                    secret_versions.c.version == version,
                )
            )
        ).scalar_one()
        wrapped = await _wrapped_key(conn, secret_id, version)
    assert isinstance(ciphertext, bytes)
    return Saved(secret_id, version, ciphertext, wrapped)


async def _wrapped_key(conn: Any, secret_id: str, version: int) -> bytes | None:
    k = secret_version_keys.c
    query = select(k.wrapped_key).where(k.secret_id == secret_id, k.version == version)
    found = (await conn.execute(query)).scalar_one_or_none()
    return bytes(found) if found is not None else None


async def _destroy_each_way(
    api: Api, admin: dict[str, str], value: Callable[[str], Any]
) -> dict[str, Saved]:
    """One secret per way of destroying a value; the rows saved just before each."""
    saved: dict[str, Saved] = {}

    destroyed = (await create(api, admin, "gone/destroyed", value("destroyed")))["id"]
    saved["destroyed"] = await _save(api, destroyed)
    response = await api.client.post(f"{BASE}/{destroyed}/destroy", json={}, headers=admin)
    assert response.status_code == 200, response.text

    burned = (await create(api, admin, "gone/burned", value("burned"), max_reads=1))["id"]
    saved["burned"] = await _save(api, burned)
    last_read = await read(api, admin, burned)
    assert last_read.status_code == 200 and last_read.json()["reads"] == 1, last_read.text

    swept = (await create(api, admin, "gone/swept", value("swept"), ttl=1))["id"]
    saved["swept"] = await _save(api, swept)
    assert await sweep_expired_secrets(api.services, now() + 5) == 1  # as if 5 s had passed

    await api.set_settings(secrets__max_versions=2)
    pruned = (await create(api, admin, "gone/pruned", value("pruned")))["id"]
    saved["pruned"] = await _save(api, pruned)
    for n in (2, 3):  # version 3 pushes version 1 out
        update = await api.client.put(f"{BASE}/{pruned}", json={"value": f"v{n}"}, headers=admin)
        assert update.status_code == 200, update.text
    assert_error(await read(api, admin, pruned, version=1), 404)
    return saved


def _grep(data_dir: Path, needles: dict[str, bytes]) -> list[str]:
    """Every (file, needle) where a needle occurs in a file under `data_dir`."""
    hits = []
    for folder, _dirs, files in os.walk(data_dir):
        for name in files:
            content = (Path(folder) / name).read_bytes()
            hits += [f"{name}: {what}" for what, needle in needles.items() if needle in content]
    return hits


async def test_destroyed_burned_swept_and_pruned_values_leave_no_trace_in_the_data_directory(
    make_config: Callable[..., Config], open_api: Any
) -> None:
    config = make_config("sqlite", sweep_interval=3600)  # this test runs every sweep itself
    async with open_api(config) as api:
        admin = await headers_for(api, "root", "admin")
        live_id = (await create(api, admin, "gone/live", LIVE))["id"]
        live = await _save(api, live_id)
        saved = await _destroy_each_way(api, admin, MARKERS.__getitem__)
        # The writes beyond max_versions pruned version 1 in their transaction; the bytes
        # leave the files at the next sweep (every `sweep_interval` seconds).
        await sweep_expired_secrets(api.services, now())

        files = {p.name for p in config.data_dir.iterdir()}
        assert {"strongroom.db", "strongroom.db-wal", "strongroom.db-shm"} <= files
        # The search works: the live secret's stored blobs are found in the files.
        assert _grep(config.data_dir, live.fragments()) != []
        needles = {}
        for way, copy in saved.items():
            needles[f"{way} plaintext"] = MARKERS[way].encode()
            needles.update({f"{way} {what}": blob for what, blob in copy.fragments().items()})
        assert _grep(config.data_dir, needles) == []


def _assert_undecryptable(api: Api, copy: Saved) -> None:
    keyring = api.services.barrier.keyring
    row_binding = binding(copy.secret_id, copy.version)
    # The keyring itself never opens the value...
    with pytest.raises(DecryptionError):
        keyring.decrypt(copy.ciphertext, row_binding)
    # ...nor does the barrier, now that the version has no key...
    with pytest.raises(DecryptionError):
        open_value(keyring, copy.ciphertext, None, row_binding)


async def _no_key_left_opens(api: Api, copies: list[Saved]) -> None:
    """Every key still in the database, unwrapped, fails to open every saved ciphertext."""
    keyring = api.services.barrier.keyring
    k = secret_version_keys.c
    async with api.services.db.connect() as conn:
        rows = list(await conn.execute(select(k.secret_id, k.version, k.wrapped_key)))
    assert rows, "the live versions keep their keys"
    for secret_id, version, wrapped in rows:
        dek = Cipher(
            keyring.decrypt(wrapped, key_binding(binding(secret_id, version))), DEK_VERSION
        )
        for copy in copies:
            assert copy.wrapped_key is not None
            assert (secret_id, version) != (copy.secret_id, copy.version)
            with pytest.raises(DecryptionError):
                dek.decrypt(copy.ciphertext, binding(copy.secret_id, copy.version))


async def test_the_keyring_cannot_decrypt_a_saved_copy_of_a_destroyed_row(
    api: Api, admin: dict[str, str]
) -> None:
    await create(api, admin, "gone/live", LIVE)
    saved = await _destroy_each_way(api, admin, lambda way: {"password": MARKERS[way]})
    for way, copy in saved.items():
        _assert_undecryptable(api, copy)
        async with api.services.db.connect() as conn:
            assert await _wrapped_key(conn, copy.secret_id, copy.version) is None, way
        # The saved row held a key before: the value was under it, not under the keyring.
        assert copy.wrapped_key is not None, way
        with pytest.raises(DecryptionError):
            await api.services.barrier.open_value(
                copy.ciphertext, None, binding(copy.secret_id, copy.version)
            )
    await _no_key_left_opens(api, list(saved.values()))
