"""The audit log's fan-out and health, the sinks the configuration builds, the record rules."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from strongroom.audit.factory import make_audit_log
from strongroom.audit.log import AuditLog
from strongroom.audit.record import is_sensitive_path, parse_time, rfc3339
from strongroom.audit.sinks import DatabaseSink, FileSink, StdoutSink
from strongroom.audit.verify import verify_file
from strongroom.config import Config, ConfigError
from strongroom.db import Database
from tests.audit.helpers import break_with_full_disk, read_records, repair_full_disk


async def test_one_working_sink_is_enough(tmp_path: Path) -> None:
    good, bad = tmp_path / "good.log", tmp_path / "bad.log"
    break_with_full_disk(bad)
    log = AuditLog([FileSink(bad), FileSink(good)])
    assert await log.write({"type": "test", "n": 1})
    assert log.healthy
    assert [r["n"] for r in read_records(good)] == [1]


async def test_no_working_sink_fails_and_a_repaired_one_writes_a_gap_first(
    tmp_path: Path,
) -> None:
    path = tmp_path / "audit.log"
    log = AuditLog([FileSink(path)])
    assert await log.write({"type": "test", "n": 0})
    saved = break_with_full_disk(path)
    assert not await log.write({"type": "test", "n": 1})
    assert not await log.write({"type": "test", "n": 2})
    assert not log.healthy
    assert not await log.probe()  # still broken
    repair_full_disk(path, saved)
    assert await log.probe()
    assert log.healthy
    assert await log.write({"type": "test", "n": 3})
    records = read_records(path)
    assert [r["type"] for r in records] == ["test", "gap", "test"]
    assert records[1]["missed"] == 2
    assert parse_time(records[1]["since"]) <= parse_time(records[1]["time"])
    assert verify_file(path).ok


def test_factory_builds_the_configured_sinks(make_config: Callable[..., Config]) -> None:
    config = make_config(audit_stdout=True, audit_database=True)
    db = Database(config.resolved_database_url)
    sinks = make_audit_log(config, db).sinks
    assert [type(s) for s in sinks] == [FileSink, StdoutSink, DatabaseSink]
    assert isinstance(sinks[0], FileSink)
    assert sinks[0].path == config.resolved_audit_file


def test_default_file_is_in_the_data_directory(make_config: Callable[..., Config]) -> None:
    config = make_config(audit_file=None)
    db = Database(config.resolved_database_url)
    (sink,) = make_audit_log(config, db).sinks
    assert isinstance(sink, FileSink)
    assert sink.path == config.data_dir / "audit.log"


def test_a_node_without_any_audit_sink_does_not_start(
    make_config: Callable[..., Config],
) -> None:
    config = make_config(audit_file="off")
    with pytest.raises(ConfigError, match="no audit sink"):
        make_audit_log(config, Database(config.resolved_database_url))


@pytest.mark.parametrize(
    ("path", "sensitive"),
    [
        ("/api/v1/secrets", True),
        ("/api/v1/secrets/0b6f/versions", True),
        ("/api/v1/secrets/by-path/a/b", True),
        ("/api/v1/sys/settings", True),
        ("/api/v1/sys/setting/security.require_https", True),
        ("/api/v1/sys/health", False),
        ("/api/v1/roles", True),
        ("/api/v1/users/create", True),
        ("/api/v1/users/me", True),
        ("/api/v1/audit", True),
        ("/api/v1/audit/hash", True),
        ("/api/v1/modules/kv/enable", True),
        ("/api/v1/auth/token/create", True),
        ("/api/v1/auth/token/renew", True),
        ("/api/v1/token/create", True),
        ("/api/v1/auth/github/login", True),
        ("/api/v1/auth/token/revoke", False),
        ("/api/v1/token/revoke", False),
        ("/api/v1/auth/logout", False),
        ("/api/v1/auth/sessions", False),
        ("/api/v1/auth/check_token", False),
        ("/api/v1/secretsfoo", False),
        ("/api/v1/usersx/create", False),
        ("/api/v1/openapi.json", False),
        ("/elsewhere/secrets", False),
    ],
)
def test_sensitive_route_rule(path: str, sensitive: bool) -> None:
    assert is_sensitive_path(path) is sensitive


def test_times_round_trip() -> None:
    stamp = 1_738_324_800.123456
    text = rfc3339(stamp)
    assert text == "2025-01-31T12:00:00.123456Z"
    assert parse_time(text) == pytest.approx(stamp, abs=1e-6)
    assert parse_time("1738324800") == 1_738_324_800
    assert parse_time("2025-01-31T12:00:00") == 1_738_324_800  # naive means UTC
    for bad, reason in [
        ("yesterday", "Invalid isoformat"),
        ("", "Invalid isoformat"),
        ("nan", "not a finite"),
        ("inf", "not a finite"),
    ]:
        with pytest.raises(ValueError, match=reason):
            parse_time(bad)


async def test_records_that_json_cannot_encode_are_still_written(tmp_path: Path) -> None:
    path = tmp_path / "audit.log"
    log = AuditLog([FileSink(path)])
    awkward = {"type": "test", "user": "lone\ud800surrogate", "details": {1: 2**70}}
    assert await log.write(awkward)
    (record,) = read_records(path)
    assert record["user"] == "lone\\ud800surrogate"
    assert record["details"] == {"1": str(2**70)}
    assert verify_file(path).ok


async def test_audit_disable_writes_nothing_and_refuses_nothing(
    make_config: Any, open_api: Any
) -> None:
    from tests.support import make_user_session

    config = make_config("sqlite", audit_disable=True)
    async with open_api(config) as api:
        token, _ = await make_user_session(api.services, "root", "admin")
        response = await api.client.get("/api/v1/sys/settings", headers=api.auth(token))
        assert response.status_code == 200
    assert not config.resolved_audit_file.exists()


async def test_concurrent_records_share_one_append_and_keep_one_chain(tmp_path: Path) -> None:
    sink = FileSink(tmp_path / "audit.log")
    appends: list[int] = []
    real = sink.append_many

    def counting(records: list[Any]) -> Any:
        appends.append(len(records))
        return real(records)

    sink.append_many = counting  # type: ignore[method-assign]
    await asyncio.gather(*[sink.write({"type": "request", "n": n}) for n in range(50)])
    await sink.write({"type": "request", "n": 50})
    assert appends == [50, 1]
    records = read_records(tmp_path / "audit.log")
    assert [record["n"] for record in records] == list(range(51))
    assert [record["seq"] for record in records] == list(range(1, 52))
    assert verify_file(tmp_path / "audit.log").ok
