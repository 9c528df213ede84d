"""Log injection: user-controlled text cannot break the one-record-per-line format."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest

from strongroom.audit.verify import verify_file
from strongroom.config import Config
from tests.audit.helpers import chain_key, open_probe_api
from tests.support import make_user_session

EVIL_USER = "eve\nFAKE RECORD\x1b[31m\r"


def assert_one_clean_line_per_record(raw: bytes, count: int) -> list[dict[str, object]]:
    assert raw.count(b"\n") == count
    assert raw.endswith(b"\n")
    assert b"\x1b" not in raw
    assert b"\r" not in raw
    return [json.loads(line) for line in raw.splitlines()]


async def test_control_characters_stay_inside_the_record(
    make_config: Callable[..., Config], capfd: pytest.CaptureFixture[str]
) -> None:
    config = make_config(audit_stdout=True)
    path = config.resolved_audit_file
    assert path is not None
    async with open_probe_api(config) as (api, _runs):
        token, _ = await make_user_session(api.services, EVIL_USER)
        ok = await api.client.get("/api/v1/auth/audit-probe", headers=api.auth(token))
        assert ok.status_code == 200
        # A path with an encoded newline and escape sequence, from a caller with a bad token.
        bad = await api.client.get(
            "/api/v1/secrets/audit-probe/x%0A%1B%5B31my",
            headers={"Authorization": "Bearer nope", "User-Agent": "agent\x1b[2J"},
        )
        assert bad.status_code == 401

    from_file = assert_one_clean_line_per_record(path.read_bytes(), 2)
    assert from_file[0]["principal"]["user"] == EVIL_USER  # type: ignore[index]
    assert from_file[1]["path"] == "/api/v1/secrets/audit-probe/x\n\x1b[31my"
    assert from_file[1]["user_agent"] == "agent\x1b[2J"
    assert verify_file(path, chain_key(config)).ok

    stdout = capfd.readouterr().out.encode()
    from_stdout = assert_one_clean_line_per_record(stdout, 2)
    assert from_stdout[0]["principal"]["user"] == EVIL_USER  # type: ignore[index]
    assert from_stdout[1]["path"] == from_file[1]["path"]
