"""`GET /metrics` of a real server with two workers (issue 22, acceptance 1): whichever worker
answers a scrape, it reports the requests of both (prometheus-client's multiprocess mode)."""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import pytest

from tests.operations.metrics_text import requests_total
from tests.support import ServerProcess, admin_password

pytestmark = pytest.mark.slow
# Traffic to an unknown path: nothing else (health checks of the test harness) counts there.
UNKNOWN = "/no-such-path"


def _worker(response: httpx.Response) -> str:
    # A request id is a random half per worker process, then a counter (http/middleware.py).
    return response.headers["x-request-id"][:8]


def test_counters_add_up_over_every_worker(tmp_path: Path) -> None:
    node = ServerProcess(tmp_path / "node", {}, tls=True, workers=2).start(timeout=120)
    try:
        login = httpx.post(
            f"{node.url}/api/v1/auth/token/create",
            data={
                "grant_type": "password",
                "username": "admin",
                "password": admin_password(node.data_dir),
            },
            verify=node.verify,
        )
        assert login.status_code == 200, login.text
        headers = {"Authorization": f"Bearer {login.json()['access_token']}"}
        assert (node.data_dir / "metrics").is_dir()

        def scrape() -> httpx.Response:
            # A new connection each time, so that either worker may take it.
            answer = httpx.get(f"{node.url}/metrics", headers=headers, verify=node.verify)
            assert answer.status_code == 200, answer.text
            return answer

        workers: dict[str, int] = {}
        sent = 0
        deadline = time.monotonic() + 120
        while (len(workers) < 2 or sent < 20) and time.monotonic() < deadline:
            answer = httpx.get(f"{node.url}{UNKNOWN}", verify=node.verify)
            assert answer.status_code == 404
            workers[_worker(answer)] = workers.get(_worker(answer), 0) + 1
            sent += 1
        assert len(workers) == 2, "every request went to one worker"

        # Every scrape, whichever worker answers it, counts every worker's requests (a worker
        # adds its tallies to the shared files once a second: poll until both agree).
        totals: dict[str, float] = {}
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            answer = scrape()
            totals[_worker(answer)] = requests_total(answer.text, "GET", "unmatched", "404")
            if len(totals) == 2 and set(totals.values()) == {sent}:
                break
        assert len(totals) == 2, "every scrape went to one worker"
        assert set(totals.values()) == {sent}
    finally:
        node.stop()
