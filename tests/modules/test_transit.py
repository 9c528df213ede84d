"""The transit module (issue 18, acceptance 2): encryption as a service with per-user keys."""

from __future__ import annotations

import base64
import os
from collections.abc import Awaitable, Callable
from typing import Any

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from tests.modules.conftest import TRANSIT, user_with
from tests.support import Api

Call = Callable[..., Awaitable[Any]]


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def unb64(text: str) -> bytes:
    return base64.b64decode(text, validate=True)


async def _key(api: Api, headers: dict[str, str], name: str, kind: str, **extra: Any) -> None:
    body = {"name": name, "type": kind, **extra}
    response = await api.client.post(f"{TRANSIT}/keys", json=body, headers=headers)
    assert response.status_code == 200, response.text


async def _post(api: Api, path: str, headers: dict[str, str], body: dict[str, Any]) -> Any:
    response = await api.client.post(f"{TRANSIT}/{path}", json=body, headers=headers)
    return response.status_code, response.json()


async def test_round_trip_for_every_key_type(api: Api) -> None:
    """On SQLite and PostgreSQL: both AEADs encrypt and decrypt (with and without context),
    both signature types sign and verify."""
    alice = await user_with(api, "alice", "transit")
    for kind in ("aes256-gcm", "chacha20-poly1305"):
        await _key(api, alice, kind, kind)
        data = os.urandom(1024)
        for context in (None, b"tenant-42"):
            body = {"plaintext": b64(data)} | ({"context": b64(context)} if context else {})
            status, sealed = await _post(api, f"encrypt/{kind}", alice, body)
            assert status == 200, sealed
            assert sealed["ciphertext"].startswith("strongroom:v1:")
            assert sealed["key_version"] == 1
            opened = {"ciphertext": sealed["ciphertext"]} | (
                {"context": b64(context)} if context else {}
            )
            status, plain = await _post(api, f"decrypt/{kind}", alice, opened)
            assert status == 200, plain
            assert unb64(plain["plaintext"]) == data
        # The context is authenticated: another one (or none) does not open it.
        status, body = await _post(
            api, f"decrypt/{kind}", alice, {"ciphertext": sealed["ciphertext"]}
        )
        assert (status, body["code"]) == (400, "invalid_ciphertext")
    for kind in ("ed25519", "ecdsa-p256"):
        await _key(api, alice, kind, kind)
        message = b64(b"release 1.2.3")
        status, signed = await _post(api, f"sign/{kind}", alice, {"input": message})
        assert status == 200, signed
        assert signed["signature"].startswith("strongroom:v1:")
        check = {"input": message, "signature": signed["signature"]}
        assert await _post(api, f"verify/{kind}", alice, check) == (200, {"valid": True})
        forged = {"input": b64(b"release 6.6.6"), "signature": signed["signature"]}
        assert await _post(api, f"verify/{kind}", alice, forged) == (200, {"valid": False})


async def test_one_flipped_byte_is_400_with_a_clear_code_and_no_detail(sqlite_api: Api) -> None:
    api = sqlite_api
    alice = await user_with(api, "alice", "transit")
    await _key(api, alice, "k", "aes256-gcm")
    _, sealed = await _post(api, "encrypt/k", alice, {"plaintext": b64(b"attack at dawn")})
    prefix, raw = sealed["ciphertext"].rsplit(":", 1)
    blob = unb64(raw)
    answers = []
    for position in range(len(blob)):  # nonce, every ciphertext byte, tag
        flipped = bytearray(blob)
        flipped[position] ^= 0x01
        answers.append(
            await _post(api, "decrypt/k", alice, {"ciphertext": f"{prefix}:{b64(bytes(flipped))}"})
        )
    text = sealed["ciphertext"]
    for position in (0, len("strongroom:v"), len(text) - 3):  # the prefix, the version, base64
        changed = text[:position] + ("X" if text[position] != "X" else "Y") + text[position + 1 :]
        answers.append(await _post(api, "decrypt/k", alice, {"ciphertext": changed}))
    expected = (
        400,
        {"detail": "the ciphertext is invalid for this key", "code": "invalid_ciphertext"},
    )
    assert all(answer == expected for answer in answers), answers
    # The untouched one still opens.
    status, plain = await _post(api, "decrypt/k", alice, {"ciphertext": text})
    assert (status, unb64(plain["plaintext"])) == (200, b"attack at dawn")


async def test_rotation_keeps_old_ciphertexts_until_min_decryption_version(
    sqlite_api: Api,
) -> None:
    api = sqlite_api
    alice = await user_with(api, "alice", "transit")
    await _key(api, alice, "k", "chacha20-poly1305")
    _, old = await _post(api, "encrypt/k", alice, {"plaintext": b64(b"one")})
    status, rotated = await _post(api, "rotate/k", alice, {})
    assert status == 200
    assert rotated["latest_version"] == 2
    assert [v["version"] for v in rotated["versions"]] == [1, 2]
    _, new = await _post(api, "encrypt/k", alice, {"plaintext": b64(b"two")})
    assert new["ciphertext"].startswith("strongroom:v2:") and new["key_version"] == 2
    for sealed, data in ((old, b"one"), (new, b"two")):
        _, plain = await _post(api, "decrypt/k", alice, {"ciphertext": sealed["ciphertext"]})
        assert unb64(plain["plaintext"]) == data
    status, body = await _post(api, "keys/k/config", alice, {"min_decryption_version": 3})
    assert status == 422  # beyond the latest version
    status, body = await _post(api, "keys/k/config", alice, {"min_decryption_version": 2})
    assert (status, body["min_decryption_version"]) == (200, 2)
    status, body = await _post(api, "decrypt/k", alice, {"ciphertext": old["ciphertext"]})
    assert (status, body["code"]) == (400, "version_too_old")
    status, body = await _post(api, "rewrap/k", alice, {"ciphertext": old["ciphertext"]})
    assert (status, body["code"]) == (400, "version_too_old")
    _, plain = await _post(api, "decrypt/k", alice, {"ciphertext": new["ciphertext"]})
    assert unb64(plain["plaintext"]) == b"two"


async def test_rewrap_moves_ciphertexts_to_the_latest_version(sqlite_api: Api) -> None:
    api = sqlite_api
    alice = await user_with(api, "alice", "transit")
    await _key(api, alice, "k", "aes256-gcm")
    context = b64(b"row-7")
    _, old = await _post(
        api, "encrypt/k", alice, {"plaintext": b64(b"payload"), "context": context}
    )
    await _post(api, "rotate/k", alice, {})
    await _post(api, "rotate/k", alice, {})
    status, rewrapped = await _post(
        api, "rewrap/k", alice, {"ciphertext": old["ciphertext"], "context": context}
    )
    assert status == 200, rewrapped
    assert rewrapped["ciphertext"].startswith("strongroom:v3:") and rewrapped["key_version"] == 3
    assert rewrapped["ciphertext"] != old["ciphertext"]
    status, plain = await _post(
        api, "decrypt/k", alice, {"ciphertext": rewrapped["ciphertext"], "context": context}
    )
    assert (status, unb64(plain["plaintext"])) == (200, b"payload")
    # Batch form: one good item, one that is not a ciphertext.
    status, batch = await _post(
        api,
        "rewrap/k",
        alice,
        {
            "batch_input": [
                {"ciphertext": old["ciphertext"], "context": context},
                {"ciphertext": "strongroom:v1:AAAA"},
            ]
        },
    )
    assert status == 200
    assert batch["batch_results"][0]["ciphertext"].startswith("strongroom:v3:")
    assert batch["batch_results"][1] == {
        "error": "the ciphertext is invalid for this key",
        "code": "invalid_ciphertext",
    }


async def test_signatures_verify_with_cryptography_and_the_exported_public_key(
    sqlite_api: Api,
) -> None:
    api = sqlite_api
    alice = await user_with(api, "alice", "transit")
    await _key(api, alice, "ed", "ed25519")
    await _key(api, alice, "ec", "ecdsa-p256")
    message = b"the release manifest"
    for name, check in (("ed", _verify_ed25519), ("ec", _verify_ecdsa)):
        _, signed = await _post(api, f"sign/{name}", alice, {"input": b64(message)})
        response = await api.client.get(f"{TRANSIT}/export/public-key/{name}", headers=alice)
        assert response.status_code == 200, response.text
        exported = response.json()
        assert set(exported["keys"]) == {"1"}
        public = serialization.load_pem_public_key(exported["keys"]["1"].encode())
        check(public, unb64(signed["signature"].split(":", 2)[2]), message)
        # Not exportable: no private key leaves, whatever form is asked.
        response = await api.client.get(f"{TRANSIT}/export/signing-key/{name}", headers=alice)
        assert (response.status_code, response.json()["code"]) == (403, "key_not_exportable")


def _verify_ed25519(public: Any, signature: bytes, message: bytes) -> None:
    assert isinstance(public, ed25519.Ed25519PublicKey)
    public.verify(signature, message)  # raises InvalidSignature if it is not


def _verify_ecdsa(public: Any, signature: bytes, message: bytes) -> None:
    assert isinstance(public, ec.EllipticCurvePublicKey)
    public.verify(signature, message, ec.ECDSA(hashes.SHA256()))


async def test_exportable_keys_export_and_others_refuse(sqlite_api: Api) -> None:
    api = sqlite_api
    alice = await user_with(api, "alice", "transit")
    await _key(api, alice, "open", "aes256-gcm", exportable=True)
    await _key(api, alice, "closed", "aes256-gcm")
    _, sealed = await _post(api, "encrypt/open", alice, {"plaintext": b64(b"portable")})
    response = await api.client.get(f"{TRANSIT}/export/encryption-key/open", headers=alice)
    assert response.status_code == 200
    key = unb64(response.json()["keys"]["1"])
    # The exported key opens the ciphertext outside strongroom (format: nonce | ct | tag).
    blob = unb64(sealed["ciphertext"].split(":", 2)[2])
    assert AESGCM(key).decrypt(blob[:12], blob[12:], None) == b"portable"
    response = await api.client.get(f"{TRANSIT}/export/encryption-key/closed", headers=alice)
    assert (response.status_code, response.json()["code"]) == (403, "key_not_exportable")
    status, _ = await _post(api, "keys/open/config", alice, {"exportable": False})
    assert status == 422  # exportable stays exportable
    # The key material is nowhere in the database file in clear.
    await api.services.db.dispose()
    data_dir = api.services.config.data_dir
    raw = b"".join(p.read_bytes() for p in data_dir.iterdir() if p.is_file())
    assert key not in raw


async def test_a_batch_of_1000(sqlite_api: Api) -> None:
    api = sqlite_api
    alice = await user_with(api, "alice", "transit")
    await _key(api, alice, "k", "aes256-gcm")
    items = [{"plaintext": b64(f"item {n}".encode())} for n in range(1000)]
    items[500]["context"] = b64(b"ctx")
    status, sealed = await _post(api, "encrypt/k", alice, {"batch_input": items})
    assert status == 200
    results = sealed["batch_results"]
    assert len(results) == 1000
    assert all(r["ciphertext"].startswith("strongroom:v1:") for r in results)
    assert len({r["ciphertext"] for r in results}) == 1000
    back = [{"ciphertext": r["ciphertext"]} for r in results]
    back[500]["context"] = b64(b"ctx")
    back[7] = {"ciphertext": "not a ciphertext"}
    status, opened = await _post(api, "decrypt/k", alice, {"batch_input": back})
    assert status == 200
    plain = opened["batch_results"]
    assert plain[7]["code"] == "invalid_ciphertext"
    for n, result in enumerate(plain):
        if n != 7:
            assert unb64(result["plaintext"]) == f"item {n}".encode()
    status, _ = await _post(api, "encrypt/k", alice, {"batch_input": [*items, items[0]]})
    assert status == 422  # 1,001 items


async def test_datakey_unwraps_with_decrypt(sqlite_api: Api) -> None:
    api = sqlite_api
    alice = await user_with(api, "alice", "transit")
    await _key(api, alice, "k", "aes256-gcm")
    status, wrapped = await _post(api, "datakey/k", alice, {})
    assert status == 200
    assert set(wrapped) == {"ciphertext", "key_version"}  # no plaintext unless asked
    _, opened = await _post(api, "decrypt/k", alice, {"ciphertext": wrapped["ciphertext"]})
    assert len(unb64(opened["plaintext"])) == 32
    status, both = await _post(api, "datakey/k", alice, {"return_plaintext": True, "bits": 512})
    assert status == 200
    assert len(unb64(both["plaintext"])) == 64
    _, opened = await _post(api, "decrypt/k", alice, {"ciphertext": both["ciphertext"]})
    assert opened["plaintext"] == both["plaintext"]


async def test_keys_are_per_user_listed_without_material_and_checked_for_type(
    sqlite_api: Api, call: Call
) -> None:
    api = sqlite_api
    alice = await user_with(api, "alice", "transit")
    bob = await user_with(api, "bob", "transit")
    await _key(api, alice, "shared-name", "aes256-gcm")
    await _key(api, alice, "signer", "ed25519")
    _, sealed = await _post(api, "encrypt/shared-name", alice, {"plaintext": b64(b"hers")})
    # Bob has no key of that name: 404, and his own key of that name is another key.
    assert (
        await call(
            "POST", f"{TRANSIT}/decrypt/shared-name", bob, json={"ciphertext": sealed["ciphertext"]}
        )
    )[0] == 404
    await _key(api, bob, "shared-name", "aes256-gcm")
    status, body = await call(
        "POST", f"{TRANSIT}/decrypt/shared-name", bob, json={"ciphertext": sealed["ciphertext"]}
    )
    assert (status, body["code"]) == (400, "invalid_ciphertext")
    status, listed = await call("GET", f"{TRANSIT}/keys", alice)
    assert status == 200
    assert [(k["name"], k["type"]) for k in listed["items"]] == [
        ("shared-name", "aes256-gcm"),
        ("signer", "ed25519"),
    ]
    status, one = await call("GET", f"{TRANSIT}/keys/signer", alice)
    assert status == 200
    assert set(one) == {
        "name", "type", "exportable", "deletion_allowed", "latest_version",
        "min_decryption_version", "supports_encryption", "supports_signing", "versions",
        "created_at", "updated_at",
    }  # fmt: skip
    assert (
        await call("POST", f"{TRANSIT}/keys", alice, json={"name": "signer", "type": "ed25519"})
    )[0] == 409
    status, body = await call(
        "POST", f"{TRANSIT}/encrypt/signer", alice, json={"plaintext": "AA=="}
    )
    assert (status, body["code"]) == (400, "unsupported_operation")
    status, body = await call("POST", f"{TRANSIT}/sign/shared-name", alice, json={"input": "AA=="})
    assert (status, body["code"]) == (400, "unsupported_operation")
    status, body = await call(
        "POST", f"{TRANSIT}/encrypt/shared-name", alice, json={"plaintext": "%%%"}
    )
    assert status == 422
    assert (await call("GET", f"{TRANSIT}/keys/..%2Fetc", alice))[0] == 404
    # Deleting needs deletion_allowed.
    status, body = await call("DELETE", f"{TRANSIT}/keys/signer", alice)
    assert (status, body["code"]) == (409, "deletion_not_allowed")
    await call("POST", f"{TRANSIT}/keys/signer/config", alice, json={"deletion_allowed": True})
    assert (await call("DELETE", f"{TRANSIT}/keys/signer", alice))[0] == 200
    assert (await call("GET", f"{TRANSIT}/keys/signer", alice))[0] == 404


async def test_altered_stored_key_material_is_503_not_a_key(sqlite_api: Api) -> None:
    api = sqlite_api
    alice = await user_with(api, "alice", "transit")
    await _key(api, alice, "k", "aes256-gcm")
    async with api.services.db.begin() as conn:
        from sqlalchemy import text

        row = (await conn.execute(text("SELECT material FROM transit_key_versions"))).one()
        damaged = bytearray(row[0])
        damaged[-1] ^= 1
        await conn.execute(
            text("UPDATE transit_key_versions SET material = :m"), {"m": bytes(damaged)}
        )
    status, body = await _post(api, "encrypt/k", alice, {"plaintext": b64(b"x")})
    assert (status, body["code"]) == (503, "integrity_error")


async def test_transit_needs_the_module_enabled(sqlite_api: Api, call: Call) -> None:
    alice = await user_with(sqlite_api, "alice")
    requests: list[tuple[str, str, Any]] = [
        ("POST", "keys", {"name": "k"}),
        ("GET", "keys", None),
        ("GET", "keys/k", None),
        ("POST", "encrypt/k", {"plaintext": "AA=="}),
        ("POST", "decrypt/k", {"ciphertext": "strongroom:v1:AA=="}),
        ("POST", "sign/k", {"input": "AA=="}),
        ("POST", "datakey/k", {}),
        ("POST", "rotate/k", {}),
    ]
    for method, path, body in requests:
        status, answer = await call(method, f"{TRANSIT}/{path}", alice, json=body)
        assert (status, answer["code"]) == (403, "module_not_enabled"), path
