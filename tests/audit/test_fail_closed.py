"""Fail closed: with no audit sink able to write, sensitive routes answer 503 and leak nothing."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from strongroom.audit.verify import verify_file
from strongroom.config import Config
from tests.audit.helpers import (
    SECRET_MARKER,
    break_with_directory,
    break_with_full_disk,
    chain_key,
    open_probe_api,
    read_records,
    repair_directory,
    repair_full_disk,
)
from tests.support import make_user_session

BREAKAGES = [
    pytest.param(break_with_full_disk, repair_full_disk, id="full-disk"),
    pytest.param(break_with_directory, repair_directory, id="directory"),
]


def assert_refused(response_status: int, body: str, code: str) -> None:
    assert response_status == 503
    assert code == "audit_unavailable"
    assert SECRET_MARKER not in body


@pytest.mark.parametrize(("breaks", "repairs"), BREAKAGES)
async def test_sensitive_routes_refuse_until_the_sink_is_repaired(
    make_config: Callable[..., Config],
    breaks: Callable[[Path], Path],
    repairs: Callable[[Path, Path], None],
) -> None:
    config = make_config()  # the file sink only
    path = config.resolved_audit_file
    assert path is not None
    async with open_probe_api(config) as (api, runs):
        token, _ = await make_user_session(api.services, "carol", "auditor")
        headers = api.auth(token)
        secret_url = "/api/v1/secrets/audit-probe/0b6f"
        assert (await api.client.get(secret_url, headers=headers)).json()["value"] == SECRET_MARKER

        saved = breaks(path)
        # The route ran, but its response is withheld: not one byte of the secret leaves.
        refused = await api.client.get(secret_url, headers=headers)
        assert_refused(refused.status_code, refused.text, refused.json()["code"])
        assert refused.headers["retry-after"] == "5"
        assert refused.headers["cache-control"] == "no-store"
        assert runs["secret"] == 2
        # Now the log is known broken: sensitive routes are refused before they run.
        again = await api.client.get(secret_url, headers=headers)
        assert_refused(again.status_code, again.text, again.json()["code"])
        assert runs["secret"] == 2
        listing = await api.client.get("/api/v1/audit", headers=headers)
        assert listing.status_code == 503
        assert listing.json()["code"] == "audit_unavailable"
        # Every other authenticated route too (issue 17, finding 4); the health check answers.
        assert (await api.client.get("/api/v1/sys/health")).status_code == 200
        plain = await api.client.get("/api/v1/auth/audit-probe", headers=headers)
        assert plain.status_code == 503
        assert runs["plain"] == 0

        repairs(path, saved)
        back = await api.client.get(secret_url, headers=headers)
        assert back.status_code == 200
        assert back.json()["value"] == SECRET_MARKER
        assert runs["secret"] == 3

    verdict = verify_file(path, chain_key(config))
    assert verdict.ok, verdict.problem
    records = read_records(path)
    assert [r["type"] for r in records] == ["request", "gap", "request"]
    assert records[1]["missed"] == 1  # the withheld secret read; later ones never ran
    assert records[2]["status"] == 200


async def test_a_route_that_marks_itself_sensitive_is_withheld(
    make_config: Callable[..., Config],
) -> None:
    config = make_config()
    path = config.resolved_audit_file
    assert path is not None
    async with open_probe_api(config) as (api, runs):
        token, _ = await make_user_session(api.services, "carol")
        break_with_full_disk(path)
        response = await api.client.get("/api/v1/auth/audit-probe-marked", headers=api.auth(token))
        assert_refused(response.status_code, response.text, response.json()["code"])
        assert runs["marked"] == 1


async def test_another_working_sink_keeps_sensitive_routes_open(
    make_config: Callable[..., Config], capfd: pytest.CaptureFixture[str]
) -> None:
    config = make_config(audit_stdout=True)
    path = config.resolved_audit_file
    assert path is not None
    async with open_probe_api(config) as (api, _runs):
        token, _ = await make_user_session(api.services, "carol")
        break_with_full_disk(path)
        response = await api.client.get("/api/v1/secrets/audit-probe/0b6f", headers=api.auth(token))
        assert response.status_code == 200
        assert response.json()["value"] == SECRET_MARKER
    out = capfd.readouterr().out
    assert '"path":"/api/v1/secrets/audit-probe/0b6f"' in out
