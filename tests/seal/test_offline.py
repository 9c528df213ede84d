"""Issue 21 acceptance 5: the data directory and the configuration of a `shamir` node, without
its shares, decrypt nothing: the root key is in no file (in any encoding), no value is in
clear, and a node started on them stays sealed."""

from __future__ import annotations

import base64
from collections.abc import Callable
from typing import Any

from strongroom.config import Config
from strongroom.crypto.shamir import Share, combine
from tests.seal.conftest import INIT_TOKEN, init, status
from tests.secrets.conftest import create, read

MARKER = "offline-proof-marker-value-7f3a"


async def test_a_shamir_nodes_data_dir_and_config_decrypt_nothing(
    make_config: Callable[..., Config], open_api: Callable[[Config], Any]
) -> None:
    config = make_config(seal="shamir", root_key=None, init_token=INIT_TOKEN)
    async with open_api(config) as api:
        result = await init(api, 3, 2)
        token = (await api.login("admin", result["admin_password"]))["access_token"]
        secret = await create(api, api.auth(token), "ops/offline", MARKER)
    root = combine([Share(bytes.fromhex(k)) for k in result["keys"][:2]], 2).reveal()
    encodings = [
        root,
        root.hex().encode(),
        base64.b64encode(root),
        base64.urlsafe_b64encode(root),
        MARKER.encode(),
    ]
    files = [p for p in config.data_dir.rglob("*") if p.is_file()]
    assert any(p.name == "strongroom.db" for p in files)
    assert not config.resolved_key_file.exists()
    for path in files:
        data = path.read_bytes()
        for needle in encodings:
            assert needle not in data, f"{path.name} holds key material or a value"
    configuration = config.model_dump_json().encode()
    for needle in encodings:
        assert needle not in configuration

    # A node started on the same data directory and configuration: sealed, serves nothing.
    async with open_api(config) as again:
        assert (await status(again))["sealed"] is True
        answer = await read(again, again.auth(token), secret["id"])
        assert answer.status_code == 503
        assert MARKER not in answer.text
