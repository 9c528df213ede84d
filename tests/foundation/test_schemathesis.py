"""Property-based fuzzing of the OpenAPI schema against a real server (SECURITY.md 26):
no 5xx, and every documented response matches its schema.

The server is a real TLS process on the embedded default. Each generated case runs with a
fresh admin session, opened straight in the server's session table, so a case that ends its
own session (logout, a password reset) does not starve the ones after it.
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error, response_schema_conformance

from strongroom.config import Config
from strongroom.db import Database
from strongroom.sessions.db_store import DatabaseSessionStore
from tests.support import ServerProcess, make_session_in_store

pytestmark = pytest.mark.slow


class Fuzzed:
    def __init__(self, server: ServerProcess) -> None:
        self.server = server
        self.loop = asyncio.new_event_loop()
        config = Config(data_dir=server.data_dir)
        self.db = Database(config.resolved_database_url, pool_size=2)
        self.store = DatabaseSessionStore(self.db)
        self.session = requests.Session()
        self.session.verify = str(server.data_dir / "ca.pem")
        self.statuses: list[int] = []

    def admin_token(self) -> str:
        token: str = self.loop.run_until_complete(
            make_session_in_store(self.db, self.store, "admin")
        )
        return token

    def close(self) -> None:
        self.loop.run_until_complete(self.db.dispose())
        self.loop.close()
        self.session.close()


@pytest.fixture(scope="module")
def fuzzed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Fuzzed]:
    data: Path = tmp_path_factory.mktemp("fuzz") / "data"
    server = ServerProcess(data, {}, tls=True).start()
    target = Fuzzed(server)
    try:
        # The admin has the modules on: their routes are fuzzed past the enablement check.
        for module in ("transit", "totp"):
            response = target.session.post(
                f"{server.url}/api/v1/modules/{module}/enable",
                headers={"Authorization": f"Bearer {target.admin_token()}"},
                verify=str(server.data_dir / "ca.pem"),
            )
            assert response.status_code == 200, response.text
        yield target
    finally:
        target.close()
        server.stop()


@pytest.fixture(scope="module")
def api_schema(fuzzed: Fuzzed) -> Any:
    context = ssl.create_default_context(cafile=str(fuzzed.server.data_dir / "ca.pem"))
    raw = httpx.get(f"{fuzzed.server.url}/api/v1/openapi.json", verify=context).json()
    return schemathesis.openapi.from_dict(raw)


def _fuzz(operation: Any, fuzzed: Fuzzed) -> None:
    # schemathesis' own pytest plugin does not load under this pytest: drive Hypothesis here.
    @given(case=operation.as_strategy())
    @settings(
        max_examples=12,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    def run(case: Any) -> None:
        response = case.call_and_validate(
            base_url=fuzzed.server.url,
            session=fuzzed.session,
            headers={"Authorization": f"Bearer {fuzzed.admin_token()}"},
            checks=[not_a_server_error, response_schema_conformance],
            timeout=30,
            verify=str(fuzzed.server.data_dir / "ca.pem"),
        )
        fuzzed.statuses.append(response.status_code)

    run()


def test_no_server_errors_and_responses_match_the_schema(api_schema: Any, fuzzed: Fuzzed) -> None:
    failures: list[str] = []
    operations = [result.ok() for result in api_schema.get_all_operations()]
    assert len(operations) > 40
    for operation in operations:
        try:
            _fuzz(operation, fuzzed)
        except Exception as exc:  # collect every operation's failure, then report them all
            failures.append(f"{operation.method.upper()} {operation.path}: {str(exc)[:1500]}")
    assert not failures, "\n\n".join(failures)
    # The run reached the handlers: successes and refusals both, and many of them.
    assert len(fuzzed.statuses) > 300
    assert any(200 <= status < 300 for status in fuzzed.statuses)
    assert any(400 <= status < 500 for status in fuzzed.statuses)
