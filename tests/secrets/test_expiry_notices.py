"""Issue 22: expiry notices. A webhook receiver in the test gets a signed notice before a
secret expires and one when it has; a 500 is retried; two nodes send each notice once."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import inspect
import json
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from strongroom.config import Config
from tests.secrets.conftest import assert_error, create, headers_for
from tests.support import Api

SETTING = "/api/v1/sys/setting"
LOG = "/api/v1/sys/notifications"
WEBHOOK_SECRET = "whsec-test-key"
MARKER = "NOTICE-VALUE-MARKER"


@dataclass
class Receiver:
    url: str
    received: list[tuple[dict[str, str], bytes]] = field(default_factory=list)
    # Statuses to answer, in order; 200 once they run out.
    answers: list[int] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def bodies(self) -> list[dict[str, Any]]:
        with self.lock:
            return [json.loads(body) for _, body in self.received]


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    state = Receiver("")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            with state.lock:
                state.received.append(({k.lower(): v for k, v in self.headers.items()}, body))
                status = state.answers.pop(0) if state.answers else 200
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.url = f"http://127.0.0.1:{server.server_address[1]}/hook"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()


async def _configure(api: Api, admin: dict[str, str], url: str, leads: str = "7d,1d,1h") -> None:
    for key, value in (
        ("notifications.webhook_secret", WEBHOOK_SECRET),
        ("notifications.lead_times", leads),
        ("notifications.webhook_url", url),
    ):
        response = await api.client.post(SETTING, json={"key": key, "value": value}, headers=admin)
        assert response.status_code == 200, response.text


async def _until(condition: Callable[[], Any], deadline: float = 60.0) -> None:
    """Poll `condition` (a function, or a coroutine function) until it holds."""
    end = time.monotonic() + deadline
    while True:
        result = condition()
        if inspect.isawaitable(result):
            result = await result
        if result:
            return
        assert time.monotonic() < end, "condition not met before the deadline"
        await asyncio.sleep(0.05)


def _verify(headers: dict[str, str], body: bytes) -> None:
    parts = dict(item.split("=", 1) for item in headers["x-strongroom-signature"].split(","))
    expected = hmac.new(
        WEBHOOK_SECRET.encode(), parts["t"].encode() + b"." + body, hashlib.sha256
    ).hexdigest()
    assert hmac.compare_digest(parts["v1"], expected)
    assert abs(int(parts["t"]) - time.time()) < 300


@pytest.fixture
def fast_sweep(backend_config: Callable[..., Config]) -> Config:
    return backend_config(sweep_interval=0.1)


async def test_a_notice_before_expiry_and_one_at_expiry_signed_and_retried(
    fast_sweep: Config, open_api: Callable[[Config], Any], receiver: Receiver
) -> None:
    async with open_api(fast_sweep) as api:
        admin = await headers_for(api, "root", "admin")
        await _configure(api, admin, receiver.url)
        receiver.answers = [500]  # the first delivery fails: retried (after 2 s)
        soon = await create(api, admin, "apps/soon", MARKER, ttl="30m")
        await _until(lambda: len(receiver.received) >= 2)
        (_, first), (headers, body) = receiver.received[:2]
        assert first == body  # the same notice again after the 500
        _verify(headers, body)
        notice = json.loads(body)
        assert notice == {
            "event": "secret.expiring",
            "secret_id": soon["id"],
            "path": "apps/soon",
            "expires_at": soon["expires_at"],
            "lead_time": "1h",  # 7d and 1d had passed when the secret was written
        }
        assert MARKER.encode() not in body

        short = await create(api, admin, "apps/short", MARKER, ttl=2)
        await _until(
            lambda: any(
                b["event"] == "secret.expired" and b["secret_id"] == short["id"]
                for b in receiver.bodies()
            )
        )
        about_short = [b for b in receiver.bodies() if b["secret_id"] == short["id"]]
        assert [b["event"] for b in about_short] == ["secret.expiring", "secret.expired"]
        assert about_short[1]["lead_time"] is None
        for headers, body in receiver.received:
            _verify(headers, body)

        log = await api.client.get(LOG, headers=admin)
        assert log.status_code == 200, log.text
        entries = {(e["secret_id"], e["event"]): e for e in log.json()["items"]}
        retried = entries[(soon["id"], "secret.expiring")]
        assert (retried["status"], retried["attempts"], retried["last_status"]) == (
            "sent",
            2,
            200,
        )
        assert retried["sent_at"] is not None
        user = await headers_for(api, "ulla", "user")
        assert_error(await api.client.get(LOG, headers=user), 403)


async def test_plain_http_is_accepted_only_for_loopback(sqlite_api: Api) -> None:
    api = sqlite_api
    admin = await headers_for(api, "root", "admin")
    for url in ("http://hooks.example.com/x", "http://10.0.0.1/x", "ftp://127.0.0.1/x"):
        response = await api.client.post(
            SETTING, json={"key": "notifications.webhook_url", "value": url}, headers=admin
        )
        assert_error(response, 422)
    for url in ("https://hooks.example.com/x", "http://127.0.0.1:9/x", "http://[::1]:9/x"):
        response = await api.client.post(
            SETTING, json={"key": "notifications.webhook_url", "value": url}, headers=admin
        )
        assert response.status_code == 200, response.text
    bad = await api.client.post(
        SETTING, json={"key": "notifications.lead_times", "value": "7d,soon"}, headers=admin
    )
    assert_error(bad, 422)
    settings = await api.client.get("/api/v1/sys/settings", headers=admin)
    await api.client.post(
        SETTING, json={"key": "notifications.webhook_secret", "value": "shh-123"}, headers=admin
    )
    assert "shh-123" not in (await api.client.get("/api/v1/sys/settings", headers=admin)).text
    assert settings.status_code == 200


@pytest.mark.postgres
async def test_two_nodes_send_each_notice_once(
    make_config: Callable[..., Config],
    open_api: Callable[[Config], Any],
    receiver: Receiver,
    pg_url: str,
) -> None:
    config = make_config("postgres", sweep_interval=0.05)
    async with AsyncExitStack() as stack:
        first = await stack.enter_async_context(open_api(config))
        admin = await headers_for(first, "root", "admin")
        await _configure(first, admin, receiver.url)
        second = await stack.enter_async_context(open_api(config))
        assert second.services.settings.notifications.webhook_url == receiver.url
        ids = [(await create(first, admin, f"team/s{i}", "x", ttl="20h"))["id"] for i in range(8)]

        async def all_sent() -> bool:
            items = (await first.client.get(LOG, headers=admin)).json()["items"]
            return len(items) == len(ids) and all(i["status"] == "sent" for i in items)

        await _until(all_sent)
    bodies = receiver.bodies()
    assert sorted(b["secret_id"] for b in bodies) == sorted(ids)
    assert {b["lead_time"] for b in bodies} == {"1d"}


async def test_an_oversized_delivery_log_cursor_is_a_4xx(sqlite_api: Api) -> None:
    """Issue 16 finding 9 for the delivery log: a cursor past 64 bits is refused, not a 500."""
    admin = await headers_for(sqlite_api, "root", "admin")
    for cursor in ("99999999999999999999", "9223372036854775808"):
        response = await sqlite_api.client.get(LOG, params={"cursor": cursor}, headers=admin)
        assert 400 <= response.status_code < 500, response.text
