"""The TOTP module (issue 18, acceptance 3), checked against pyotp and a QR decoder."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import io
import time
from collections.abc import Awaitable, Callable
from typing import Any

import pyotp
import pytest
import zxingcpp
from PIL import Image

from tests.modules.conftest import TOTP, user_with
from tests.support import Api

Call = Callable[..., Awaitable[Any]]


async def _steady(period: int, margin: float = 3.0) -> float:
    """Now, at least `margin` seconds before the end of the current step (so that the test
    and the server agree on which step is current)."""
    left = period - time.time() % period
    if left < margin:
        await asyncio.sleep(left + 0.05)
    return time.time()


async def _generate(call: Call, headers: dict[str, str], name: str, **extra: Any) -> Any:
    body = {"name": name, "generate": True, "issuer": "Acme", "account_name": "alice@acme.test"}
    status, created = await call("POST", f"{TOTP}/keys", headers, json=body | extra)
    assert status == 200, created
    return created


@pytest.mark.parametrize(("algorithm", "digits"), [("SHA1", 6), ("SHA256", 8), ("SHA512", 6)])
async def test_generated_codes_agree_with_pyotp(
    sqlite_api: Api, call: Call, algorithm: str, digits: int
) -> None:
    alice = await user_with(sqlite_api, "alice", "totp")
    created = await _generate(call, alice, "k", algorithm=algorithm, digits=digits, period=30)
    # The otpauth URL is what pyotp (and an authenticator app) reads...
    totp = pyotp.parse_uri(created["url"])
    assert isinstance(totp, pyotp.TOTP)
    assert (totp.issuer, totp.name) == ("Acme", "alice@acme.test")
    assert (totp.digits, totp.interval, totp.digest().name) == (digits, 30, algorithm.lower())
    # ...and the QR code PNG decodes to exactly that URL.
    image = Image.open(io.BytesIO(base64.b64decode(created["barcode"])))
    assert image.format == "PNG"
    decoded = zxingcpp.read_barcodes(image)
    assert [(code.format, code.text) for code in decoded] == [
        (zxingcpp.BarcodeFormat.QRCode, created["url"])
    ]
    at = await _steady(30)
    status, code = await call("GET", f"{TOTP}/code/k", alice)
    assert (status, code) == (200, {"code": totp.at(at)})
    assert len(code["code"]) == digits
    # pyotp's code validates once.
    status, valid = await call("POST", f"{TOTP}/validate/k", alice, json={"code": totp.at(at)})
    assert (status, valid) == (200, {"valid": True})
    status, valid = await call("POST", f"{TOTP}/validate/k", alice, json={"code": totp.at(at)})
    assert (status, valid) == (200, {"valid": False})


async def test_imported_keys_by_url_and_by_base32_seed(sqlite_api: Api, call: Call) -> None:
    alice = await user_with(sqlite_api, "alice", "totp")
    secret = pyotp.random_base32()
    url = pyotp.TOTP(
        secret, digits=8, digest=hashlib.sha256, interval=60, issuer="GitHub", name="alice"
    ).provisioning_uri()
    status, created = await call("POST", f"{TOTP}/keys", alice, json={"name": "gh", "url": url})
    assert status == 200, created
    assert "url" not in created and "barcode" not in created  # an import shows no seed back
    assert (created["issuer"], created["account_name"]) == ("GitHub", "alice")
    assert (created["algorithm"], created["digits"], created["period"]) == ("SHA256", 8, 60)
    spaced = " ".join(secret[i : i + 4] for i in range(0, len(secret), 4)).lower()
    status, _ = await call("POST", f"{TOTP}/keys", alice, json={"name": "raw", "key": spaced})
    assert status == 200
    at = await _steady(60)
    assert (await call("GET", f"{TOTP}/code/gh", alice))[1] == {
        "code": pyotp.TOTP(secret, digits=8, digest=hashlib.sha256, interval=60).at(at)
    }
    at = await _steady(30)
    assert (await call("GET", f"{TOTP}/code/raw", alice))[1] == {"code": pyotp.TOTP(secret).at(at)}
    status, listed = await call("GET", f"{TOTP}/keys", alice)
    assert [item["name"] for item in listed["items"]] == ["gh", "raw"]
    assert all("seed" not in item and "url" not in item for item in listed["items"])


async def test_the_window_is_one_step_either_side_and_codes_only_move_forward(
    sqlite_api: Api, call: Call
) -> None:
    alice = await user_with(sqlite_api, "alice", "totp")
    created = await _generate(call, alice, "k", period=30)
    totp = pyotp.parse_uri(created["url"])
    at = await _steady(30)

    async def valid(offset_steps: int) -> bool:
        code = totp.at(at + offset_steps * 30)
        status, body = await call("POST", f"{TOTP}/validate/k", alice, json={"code": code})
        assert status == 200
        return bool(body["valid"])

    assert not await valid(-2)  # outside the window
    assert not await valid(+2)
    assert await valid(-1)  # one step late: accepted
    assert await valid(+1)  # one step early (clock drift): accepted
    assert not await valid(0)  # a step before one already accepted: refused (stale)
    assert not await valid(+1)  # replay
    for wrong in ("", "12345", "1234567", "abcdef", "\uff11\uff12\uff13\uff14\uff15\uff16"):
        assert (await call("POST", f"{TOTP}/validate/k", alice, json={"code": wrong}))[1] == {
            "valid": False
        }


async def test_skew_zero_accepts_only_the_current_step(sqlite_api: Api, call: Call) -> None:
    alice = await user_with(sqlite_api, "alice", "totp")
    created = await _generate(call, alice, "k", skew=0)
    totp = pyotp.parse_uri(created["url"])
    at = await _steady(30)
    late = {"code": totp.at(at - 30)}
    assert (await call("POST", f"{TOTP}/validate/k", alice, json=late))[1] == {"valid": False}
    now = {"code": totp.at(at)}
    assert (await call("POST", f"{TOTP}/validate/k", alice, json=now))[1] == {"valid": True}


async def test_concurrent_validations_of_one_code_accept_it_once(api: Api) -> None:
    """On SQLite and PostgreSQL: the claim of a step is one conditional UPDATE."""
    alice = await user_with(api, "alice", "totp")
    body = {"name": "k", "generate": True, "issuer": "Acme", "account_name": "alice"}
    created = (await api.client.post(f"{TOTP}/keys", json=body, headers=alice)).json()
    code = pyotp.parse_uri(created["url"]).at(await _steady(30))
    answers = await asyncio.gather(
        *[
            api.client.post(f"{TOTP}/validate/k", json={"code": code}, headers=alice)
            for _ in range(20)
        ]
    )
    assert [a.status_code for a in answers] == [200] * 20
    assert sum(a.json()["valid"] for a in answers) == 1


async def test_bad_keys_are_refused_and_seeds_stay_out_of_the_database(
    sqlite_api: Api, call: Call
) -> None:
    alice = await user_with(sqlite_api, "alice", "totp")
    refused = [
        {"name": "a", "generate": True, "issuer": "Acme"},  # no account_name
        {"name": "a", "url": "otpauth://hotp/Acme:alice?secret=JBSWY3DPEHPK3PXP&counter=1"},
        {"name": "a", "url": "https://example.test/?secret=JBSWY3DPEHPK3PXP"},
        {"name": "a", "url": "otpauth://totp/Acme:alice?issuer=Acme"},
        {"name": "a", "url": "otpauth://totp/Acme:alice?secret=JBSWY3DPEHPK3PXP&digits=7"},
        {"name": "a", "url": "otpauth://totp/Acme:alice?secret=JBSWY3DPEHPK3PXP&algorithm=MD5"},
        {"name": "a", "key": "not base32!"},
        {"name": "a", "key": "JBSW"},  # too short a seed
        {"name": "a"},  # neither generate, url nor key
        {"name": "a", "generate": True, "issuer": "A", "account_name": "b", "key": "JBSWY3DP"},
    ]
    for body in refused:
        status, answer = await call("POST", f"{TOTP}/keys", alice, json=body)
        assert status == 422, (body, answer)
        assert "JBSWY3DPEHPK3PXP" not in str(answer)
    created = await _generate(call, alice, "k")
    secret = pyotp.parse_uri(created["url"]).secret
    seed = base64.b32decode(secret + "=" * (-len(secret) % 8))
    status, body = await call("GET", f"{TOTP}/keys/k", alice)
    assert status == 200 and secret not in str(body)
    await sqlite_api.services.db.dispose()
    data_dir = sqlite_api.services.config.data_dir
    raw = b"".join(p.read_bytes() for p in data_dir.iterdir() if p.is_file())
    assert seed not in raw and secret.encode() not in raw
