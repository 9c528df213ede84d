"""Issue 21 acceptance 1: init 5/3, any three shares unseal and two do not; a wrong share is a
clear error that resets the progress; shares from two clients combine; rekey to 3/2 makes the
old shares useless and the new ones work."""

from __future__ import annotations

import base64
import itertools

from tests.seal.conftest import init, status, unseal
from tests.secrets.conftest import create, read
from tests.support import Api


async def test_init_5_of_3_any_three_shares_unseal_and_two_do_not(shamir_api: Api) -> None:
    api = shamir_api
    before = await status(api)
    assert before["initialized"] is False and before["sealed"] is True
    assert before["type"] == "shamir"
    result = await init(api, 5, 3)
    assert len(result["keys"]) == 5 and len(result["keys_base64"]) == 5
    assert [bytes.fromhex(k) for k in result["keys"]] == [
        base64.b64decode(k) for k in result["keys_base64"]
    ]
    assert result["admin_username"] == "admin" and result["admin_password"]
    # The shares and the admin password are shown once: nothing in the data directory.
    for path in api.services.config.data_dir.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            assert not any(bytes.fromhex(k) in data for k in result["keys"]), path
            assert result["admin_password"].encode() not in data, path
    after = await status(api)
    assert after["initialized"] is True and after["sealed"] is False
    assert (after["t"], after["n"]) == (3, 5)
    password = result["admin_password"]
    token = (await api.login("admin", password))["access_token"]

    for trio in itertools.combinations(range(5), 3):
        sealed = await api.client.post("/api/v1/sys/seal", headers=api.auth(token))
        assert sealed.status_code == 200, sealed.text
        encodings = ("keys", "keys_base64", "keys")
        for step, index in enumerate(trio[:2], start=1):
            answer = await unseal(api, result[encodings[step - 1]][index])
            assert answer.status_code == 200, answer.text
            assert answer.json()["sealed"] is True  # two shares do not unseal
            assert answer.json()["progress"] == step
            assert answer.json()["nonce"]
        # ... and with two only, nothing is served.
        refused = await api.client.get("/api/v1/secrets", headers=api.auth(token))
        assert refused.status_code == 503 and refused.json()["code"] == "sealed"
        last = await unseal(api, result["keys"][trio[2]])
        assert last.status_code == 200, last.text
        assert last.json()["sealed"] is False, trio
        assert last.json()["progress"] == 0
        token = (await api.login("admin", password))["access_token"]


async def test_a_wrong_share_is_a_clear_error_and_resets_the_progress(shamir_api: Api) -> None:
    api = shamir_api
    keys = (await init(api, 5, 3))["keys"]
    await seal_with(api, keys)
    assert (await unseal(api, keys[0])).json()["progress"] == 1
    # A malformed share: 400 at once, progress reset.
    malformed = await unseal(api, "not a share")
    assert malformed.status_code == 400
    assert malformed.json()["code"] == "invalid_key"
    assert "reset" in malformed.json()["detail"]
    assert (await status(api))["progress"] == 0
    # One byte of a share changed: refused at the threshold, progress reset, still sealed.
    tampered = bytearray(bytes.fromhex(keys[2]))
    tampered[5] ^= 0x01
    assert (await unseal(api, keys[0])).json()["progress"] == 1
    assert (await unseal(api, keys[1])).json()["progress"] == 2
    wrong = await unseal(api, tampered.hex())
    assert wrong.status_code == 400, wrong.text
    assert wrong.json()["code"] == "invalid_key"
    assert "reset" in wrong.json()["detail"]
    after = await status(api)
    assert after["sealed"] is True and after["progress"] == 0
    # `reset` forgets the shares given so far.
    assert (await unseal(api, keys[3])).json()["progress"] == 1
    reset = await api.client.post("/api/v1/sys/unseal", json={"reset": True})
    assert reset.status_code == 200 and reset.json()["progress"] == 0
    for key in keys[2:5]:
        last = await unseal(api, key)
    assert last.json()["sealed"] is False


async def seal_with(api: Api, keys: list[str]) -> None:
    """Seal the node (as its admin)."""
    api.services.extras["seal"].seal_node()
    assert (await status(api))["sealed"] is True


async def test_shares_from_two_clients_combine(shamir_api: Api) -> None:
    api = shamir_api
    keys = (await init(api, 5, 3))["keys_base64"]
    await seal_with(api, keys)
    async with api.client_from("198.51.100.1") as first, api.client_from("198.51.100.2") as second:
        assert (await unseal(api, keys[4], first)).json()["progress"] == 1
        assert (await unseal(api, keys[1], second)).json()["progress"] == 2
        # The same share twice counts once.
        assert (await unseal(api, keys[1], first)).json()["progress"] == 2
        done = await unseal(api, keys[0], second)
    assert done.json()["sealed"] is False


async def test_rekey_to_3_of_2_old_shares_refused_new_ones_work(shamir_api: Api) -> None:
    api = shamir_api
    result = await init(api, 5, 3)
    old = result["keys"]
    token = (await api.login("admin", result["admin_password"]))["access_token"]
    headers = api.auth(token)
    created = await create(api, headers, "ops/db", "kept")
    # Only an admin may rekey.
    anonymous = await api.client.post(
        "/api/v1/sys/rekey/init", json={"secret_shares": 3, "secret_threshold": 2}
    )
    assert anonymous.status_code == 401
    started = await api.client.post(
        "/api/v1/sys/rekey/init", json={"secret_shares": 3, "secret_threshold": 2}, headers=headers
    )
    assert started.status_code == 200, started.text
    nonce = started.json()["nonce"]
    assert started.json()["required"] == 3
    bad_nonce = await api.client.post(
        "/api/v1/sys/rekey/update", json={"key": old[0], "nonce": "nope"}, headers=headers
    )
    assert bad_nonce.status_code == 400
    for index, key in enumerate(old[:3], start=1):
        step = await api.client.post(
            "/api/v1/sys/rekey/update", json={"key": key, "nonce": nonce}, headers=headers
        )
        assert step.status_code == 200, step.text
        assert step.json()["progress"] == (index if index < 3 else 0)
    final = step.json()
    assert final["complete"] is True
    new = final["keys"]
    assert len(new) == 3 and len(final["keys_base64"]) == 3
    assert (await status(api))["t"] == 2 and (await status(api))["n"] == 3

    await seal_with(api, new)
    # The threshold is 2 now: the second old share completes a set, which is refused.
    assert (await unseal(api, old[0])).json()["progress"] == 1
    refused = await unseal(api, old[1])
    assert refused.status_code == 400 and refused.json()["code"] == "invalid_key"
    assert (await status(api))["sealed"] is True
    assert (await unseal(api, new[2])).json()["progress"] == 1
    assert (await unseal(api, new[0])).json()["sealed"] is False
    token = (await api.login("admin", result["admin_password"]))["access_token"]
    answer = await read(api, api.auth(token), created["id"])
    assert answer.status_code == 200, answer.text
    assert answer.json()["value"] == "kept"
