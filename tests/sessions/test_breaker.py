"""SECURITY.md 48: a hung Redis (SIGSTOP: it accepts connections and answers nothing) costs
requests its full timeout only until the circuit breaker opens; then they answer 503 at once,
and service resumes by itself once Redis answers again (issue 17, finding 5)."""

from __future__ import annotations

import asyncio
import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from strongroom.config import Config
from strongroom.sessions.redis_store import TIMEOUT
from tests.conftest import need
from tests.sessions.private_redis import PrivateRedis
from tests.support import Api, make_user_session

pytestmark = [pytest.mark.slow, pytest.mark.redis]
CLIENTS = 8


async def _timed(api: Api, token: str) -> tuple[int, float]:
    started = time.monotonic()
    response = await api.client.get("/api/v1/users/me", headers=api.auth(token))
    if response.status_code == 503:
        assert response.json()["code"] == "session_store_unavailable"
    return response.status_code, time.monotonic() - started


async def _load(api: Api, token: str, seconds: float) -> list[tuple[int, float]]:
    """CLIENTS clients, each sending requests one after another for `seconds`."""
    answers: list[tuple[int, float]] = []
    deadline = time.monotonic() + seconds

    async def client() -> None:
        while time.monotonic() < deadline:
            answers.append(await _timed(api, token))

    await asyncio.gather(*(client() for _ in range(CLIENTS)))
    return answers


async def test_a_frozen_redis_fails_fast_after_repeated_timeouts_and_recovers(
    tmp_path: Path, make_config: Callable[..., Config], open_api: Any
) -> None:
    need(shutil.which("redis-server") is not None, "redis-server")
    redis = PrivateRedis(tmp_path / "redis")
    redis.start()
    try:
        config = make_config("sqlite", redis_store=True, redis_url=redis.url)
        async with open_api(config) as api:
            token, _ = await make_user_session(api.services, "frieda", "user")
            assert (await _timed(api, token))[0] == 200
            redis.freeze()
            # Until the breaker opens, requests wait for the timeout (a few rounds of it).
            opened_after = time.monotonic()
            while (answer := await _timed(api, token))[1] > TIMEOUT / 4:
                assert answer[0] == 503
                assert time.monotonic() - opened_after < 8 * TIMEOUT, "the breaker never opened"
            # Open: every request answers 503 at once, far more of them than timeouts allow.
            answers = await _load(api, token, TIMEOUT)
            assert {status for status, _ in answers} == {503}
            assert max(seconds for _, seconds in answers) < TIMEOUT / 4
            assert len(answers) > 20 * CLIENTS
            redis.thaw()
            # A probe finds Redis again in the background; service resumes without a restart.
            deadline = time.monotonic() + 5 * TIMEOUT
            while (await _timed(api, token))[0] != 200:
                assert time.monotonic() < deadline, "service did not resume"
                await asyncio.sleep(0.1)
            answers = await _load(api, token, 0.5)
            assert {status for status, _ in answers} == {200}
    finally:
        redis.thaw()
        redis.kill()
