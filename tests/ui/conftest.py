"""One real TLS server and one headless Chromium (Debian's) per test module; contexts per test.

The server runs with the database audit sink (the audit page reads it). Chromium is driven by
Playwright with `executable_path`: Playwright downloads no browser here.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import need
from tests.support import TEST_PASSWORD, ServerProcess

CHROMIUM = os.environ.get("STRONGROOM_TEST_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


class Node:
    """The server, an admin API client, and helpers to make users."""

    def __init__(self, server: ServerProcess) -> None:
        self.server = server
        self.url = server.url
        self.api = httpx.Client(base_url=server.url, verify=server.verify, timeout=30)
        password = (server.data_dir / "admin-password").read_text().split("password: ")[1].strip()
        self.admin_password = password
        token = self.token("admin", password)
        self.api.headers["Authorization"] = f"Bearer {token}"

    def token(self, username: str, password: str) -> str:
        response = self.api.post(
            "/api/v1/auth/token/create",
            data={"grant_type": "password", "username": username, "password": password},
        )
        assert response.status_code == 200, response.text
        return str(response.json()["access_token"])

    def user(self, username: str, role: str = "user") -> str:
        response = self.api.post(
            "/api/v1/users/create",
            json={
                "username": username,
                "role": role,
                "password": TEST_PASSWORD,
                "email": f"{username}@example.com",
            },
        )
        assert response.status_code == 200, response.text
        return TEST_PASSWORD

    def close(self) -> None:
        self.api.close()


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Node]:
    need(Path(CHROMIUM).exists(), f"{CHROMIUM} (apt-get install chromium)")
    data_dir = tmp_path_factory.mktemp("ui-node")
    server = ServerProcess(
        data_dir,
        {"STRONGROOM_AUDIT_DATABASE": "true", "STRONGROOM_LOG_LEVEL": "warning"},
        tls=True,
    ).start()
    node = Node(server)
    try:
        yield node
    finally:
        node.close()
        server.stop()


@pytest.fixture(scope="module")
def playwright() -> Iterator[Any]:
    need(Path(CHROMIUM).exists(), f"{CHROMIUM} (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="module")
def browser(playwright: Any) -> Iterator[Any]:
    chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
    try:
        yield chromium
    finally:
        chromium.close()


def new_context(browser: Any, **options: Any) -> Any:
    return browser.new_context(ignore_https_errors=True, **options)


def log_in(page: Any, base: str, username: str, password: str) -> None:
    page.goto(f"{base}/ui/login")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(f"{base}/ui/secrets")


def screenshot_dir() -> Path | None:
    """Where screenshots go: docs/ui/ when STRONGROOM_UI_SCREENSHOTS=1, else nowhere."""
    if os.environ.get("STRONGROOM_UI_SCREENSHOTS") != "1":
        return None
    target = Path(__file__).resolve().parents[2] / "docs" / "ui"
    target.mkdir(parents=True, exist_ok=True)
    return target


__all__ = ["Node", "log_in", "new_context", "screenshot_dir", "shutil"]
