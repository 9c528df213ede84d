"""Issue 16, finding 1 (SECURITY.md 29): concurrent guesses cannot beat the login lock-out.

Real server processes (one node with two workers on SQLite; two nodes on PostgreSQL + Redis),
real parallel HTTPS clients spread over every node. A password check is counted where it
happens: each one marks its request's audit record (`details.password_checked`), and each
answers 401 or 200; a refused attempt answers 429 and checks nothing.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.cluster.deployments import KINDS, LOGIN, Deployment, deployment
from tests.support import TEST_PASSWORD

ACCOUNT_THRESHOLD = 10
IP_THRESHOLD = 20
WRONG = "not the password, a guess"

pytestmark = pytest.mark.slow


@pytest.fixture(params=KINDS)
def nodes(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Deployment]:
    with deployment(str(request.param), tmp_path, request) as opened:
        opened.set_security(
            trusted_proxies=["127.0.0.1"],
            login_failure_threshold=ACCOUNT_THRESHOLD,
            login_ip_failure_threshold=IP_THRESHOLD,
        )
        yield opened


@dataclass
class Answer:
    status: int
    finished: float  # time.monotonic() when the answer was in
    retry_after: str | None


async def _login(client: httpx.AsyncClient, username: str, password: str, ip: str) -> Answer:
    response = await client.post(
        LOGIN,
        data={"grant_type": "password", "username": username, "password": password},
        headers={"X-Forwarded-For": ip},
    )
    return Answer(response.status_code, time.monotonic(), response.headers.get("retry-after"))


def _checked(records: list[dict[str, Any]], usernames: set[str]) -> int:
    """Password checks the servers recorded for these usernames."""
    return sum(
        1
        for record in records
        if record.get("attempted_user") in usernames
        and (record.get("details") or {}).get("password_checked")
    )


async def _account_under_60_concurrent_guesses(nodes: Deployment, clients: list[Any]) -> None:
    """60 concurrent wrong guesses for one account from 60 addresses, and the right password
    sent while they are in flight (once the first refusal is in): at most the threshold of
    passwords checked, and the right one refused."""
    nodes.create_user("target", TEST_PASSWORD)
    guesses = [
        asyncio.create_task(_login(clients[i % len(clients)], "target", WRONG, f"10.1.0.{i}"))
        for i in range(60)
    ]
    pending: set[asyncio.Task[Answer]] = set(guesses)
    while pending:  # until a guess was refused: every slot of the account is taken then
        done, pending = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
        if any(task.result().status == 429 for task in done):
            break
    right = await _login(clients[1 % len(clients)], "target", TEST_PASSWORD, "10.2.0.1")
    answers = await asyncio.gather(*guesses)
    statuses = [answer.status for answer in answers]
    assert set(statuses) <= {401, 429}, statuses
    assert statuses.count(401) <= ACCOUNT_THRESHOLD, statuses
    assert right.status == 429
    assert right.retry_after is not None and int(right.retry_after) >= 1
    # Every guess has settled: the account is locked, the right password still refused.
    again = await _login(clients[0], "target", TEST_PASSWORD, "10.2.0.2")
    assert again.status == 429
    checked = _checked(nodes.audit_records(), {"target"})
    assert checked == statuses.count(401)
    assert 1 <= checked <= ACCOUNT_THRESHOLD


async def _client_under_100_concurrent_guesses(nodes: Deployment, clients: list[Any]) -> None:
    """100 concurrent guesses from one address, each for another account: at most the
    per-IP threshold of passwords checked."""
    names = {f"spray{i:03d}" for i in range(100)}
    answers = await asyncio.gather(
        *(
            _login(clients[i % len(clients)], name, WRONG, "203.0.113.50")
            for i, name in enumerate(sorted(names))
        )
    )
    statuses = [answer.status for answer in answers]
    assert set(statuses) <= {401, 429}, statuses
    assert 1 <= statuses.count(401) <= IP_THRESHOLD, statuses
    assert _checked(nodes.audit_records(), names) == statuses.count(401)


async def _flood_does_not_queue_another_login(nodes: Deployment, clients: list[Any]) -> None:
    """While 100 concurrent guesses for one account are refused, another account's login is
    served behind at most the threshold of password checks."""
    nodes.create_user("victim", TEST_PASSWORD)
    nodes.create_user("bystander", TEST_PASSWORD)
    flood = [
        asyncio.create_task(_login(clients[i % len(clients)], "victim", WRONG, f"10.3.0.{i}"))
        for i in range(100)
    ]
    await asyncio.sleep(0)  # the flood is on its way first
    bystander = await _login(clients[0], "bystander", TEST_PASSWORD, "10.4.0.1")
    answers = await asyncio.gather(*flood)
    assert bystander.status == 200
    checked_before = [a for a in answers if a.status == 401 and a.finished < bystander.finished]
    assert len(checked_before) <= ACCOUNT_THRESHOLD
    assert [a.status for a in answers].count(401) <= ACCOUNT_THRESHOLD


async def test_finding_1_concurrent_guesses_cannot_beat_the_lockout(nodes: Deployment) -> None:
    # Three attacks on one deployment: each from its own addresses, on its own accounts.
    clients = [nodes.client(i) for i in range(len(nodes.nodes))]
    try:
        await _account_under_60_concurrent_guesses(nodes, clients)
        await _client_under_100_concurrent_guesses(nodes, clients)
        await _flood_does_not_queue_another_login(nodes, clients)
    finally:
        for client in clients:
            await client.aclose()
