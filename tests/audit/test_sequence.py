"""A security officer's question, answered from the audit file (issue 7, acceptance 1):
a scripted sequence leaves exactly the expected records, in order, and nothing secret."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from strongroom.cli.main import main
from tests.audit.helpers import key_env, read_records
from tests.support import Api, make_user_session

PASSWORD = "alice's long passphrase 1"
WRONG = "not alice's passphrase"
SECRET_VALUE = "db-password-MARKER-5f1e"


async def test_scripted_sequence_leaves_exactly_the_expected_records(
    sqlite_api: Api, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    api = sqlite_api
    admin, _ = await make_user_session(api.services, "root", "admin")
    bob, _ = await make_user_session(api.services, "bob", "user")
    created = await api.client.post(
        "/api/v1/users/create",
        json={"username": "alice", "password": PASSWORD},
        headers=api.auth(admin),
    )
    assert created.status_code == 200
    audit_file = api.services.config.resolved_audit_file
    assert audit_file is not None
    start = len(read_records(audit_file))

    login = await api.client.post(
        "/api/v1/auth/token/create",
        data={"grant_type": "password", "username": "alice", "password": PASSWORD},
    )
    tokens: dict[str, Any] = login.json()
    alice = api.auth(tokens["access_token"])
    failed = await api.client.post(
        "/api/v1/auth/token/create",
        data={"grant_type": "password", "username": "alice", "password": WRONG},
    )
    secret = await api.client.post(
        "/api/v1/secrets/create",
        json={"path": "users/alice/db", "value": SECRET_VALUE},
        headers=alice,
    )
    secret_id = secret.json()["id"]
    read = await api.client.get(f"/api/v1/secrets/{secret_id}", headers=alice)
    denied = await api.client.get(f"/api/v1/secrets/{secret_id}", headers=api.auth(bob))
    setting = await api.client.post(
        "/api/v1/sys/security", json={"access_token_ttl": "10m"}, headers=api.auth(admin)
    )
    revoke = await api.client.post(
        "/api/v1/auth/token/revoke", data={"token": tokens["access_token"]}
    )
    statuses = [r.status_code for r in (login, failed, secret, read, denied, setting, revoke)]
    assert statuses == [200, 401, 200, 200, 403, 200, 200]

    records = read_records(audit_file)[start:]
    seen = [
        (
            r["method"],
            r["route"],
            r["status"],
            r["outcome"],
            (r["principal"] or {}).get("user"),
            r["attempted_user"],
            r["secret_id"],
        )
        for r in records
    ]
    assert seen == [
        ("POST", "/api/v1/auth/token/create", 200, "success", "alice", "alice", None),
        ("POST", "/api/v1/auth/token/create", 401, "auth_failed", None, "alice", None),
        ("POST", "/api/v1/secrets/create", 200, "success", "alice", None, secret_id),
        ("GET", "/api/v1/secrets/{secret_id}", 200, "success", "alice", None, secret_id),
        ("GET", "/api/v1/secrets/{secret_id}", 403, "denied", "bob", None, secret_id),
        ("POST", "/api/v1/sys/security", 200, "success", "root", None, None),
        ("POST", "/api/v1/auth/token/revoke", 200, "success", None, None, None),
    ]
    # The officer sees which path bob tried; bob's 403 did not tell him.
    assert records[3]["secret_path"] == records[4]["secret_path"] == "users/alice/db"
    assert "users/alice" not in denied.text
    assert records[5]["details"] == {
        "settings": [{"key": "security.access_token_ttl", "old": 900, "new": 600}]
    }
    # The revoked token can be found by its HMAC, never by itself.
    hashed = await api.client.post(
        "/api/v1/audit/hash", json={"input": tokens["access_token"]}, headers=api.auth(admin)
    )
    assert records[6]["token_hmac"] == hashed.json()["hmac"]

    raw = audit_file.read_text()
    for literal in (PASSWORD, WRONG, SECRET_VALUE, tokens["access_token"], tokens["refresh_token"]):
        assert literal not in raw
    lines = audit_file.read_bytes().splitlines(keepends=True)
    await api.services.audit.flush()  # the checkpoint is in the database
    ids = [r["request_id"] for r in records[:4]]
    for name, value in key_env(api.services.config).items():
        monkeypatch.setenv(name, value)
    _verify_that_file_and_its_damaged_copies(audit_file, lines, ids, capsys)


def _cli_verify(path: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    code = main(["audit", "verify", str(path)])
    captured = capsys.readouterr()
    return code, captured.out


def _line_of(lines: list[bytes], request_id: str) -> int:
    """The 1-based line of a request's `request` record (its intent record comes before)."""
    return next(
        number
        for number, line in enumerate(lines, 1)
        if json.loads(line)["type"] == "request" and json.loads(line)["request_id"] == request_id
    )


def _verify_that_file_and_its_damaged_copies(
    audit_file: Path, lines: list[bytes], ids: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    """Acceptance 2 on the sequence's own file: `strongroom audit verify` passes on it, and
    names the record after the damage (1-based line numbers of the first four requests)."""
    code, output = _cli_verify(audit_file, capsys)
    assert code == 0, output
    assert output.strip() == f"OK: {len(lines)} records"

    login, failed, created, read = (_line_of(lines, request_id) for request_id in ids)
    edited = json.loads(lines[read - 1])
    edited["status"] = 500
    damages = {
        "edited": ([*lines[: read - 1], json.dumps(edited).encode() + b"\n", *lines[read:]], read),
        "deleted": ([*lines[: failed - 1], *lines[failed:]], failed),
        "swapped": (
            [*lines[: login - 1], lines[failed - 1], lines[login - 1], *lines[failed:]],
            login,
        ),
        "truncated": ([*lines[: created - 1], lines[created - 1][:50]], created),
    }
    for name, (damaged, bad_line) in damages.items():
        copy = audit_file.with_name(f"audit-{name}.log")
        copy.write_bytes(b"".join(damaged))
        code, output = _cli_verify(copy, capsys)
        assert code == 1, name
        assert output.startswith(f"record {bad_line} (line {bad_line}): "), (name, output)
        assert f"FAILED: {bad_line - 1} records intact before it" in output, name
