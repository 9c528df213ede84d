"""Every page of the interface, light and dark: axe-core finds no serious or critical
accessibility violation (acceptance 4), no page requests another origin (3), a phone's width
works, the secrets page loads under 300 KiB (its load time is printed), and screenshots for
the README (2): written to docs/ui/ when STRONGROOM_UI_SCREENSHOTS=1, so test runs leave the
tree clean."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from tests.ui.conftest import Node, log_in, new_context, screenshot_dir

pytestmark = pytest.mark.slow
AXE = (Path(__file__).parent / "assets" / "axe.min.js").read_text()


@pytest.fixture(scope="module")
def pages(node: Node) -> dict[str, str]:
    """name → path of each page, with data to show on them."""
    node.user("auditor1", role="auditor")
    made = node.api.post(
        "/api/v1/secrets/create",
        json={
            "path": "team-a/payments/db",
            "value": {"username": "app", "password": "s3cr3t"},
            "metadata": {"env": "staging", "owner": "payments"},
            "ttl": "7d",
            "max_reads": 50,
        },
    ).json()
    node.api.put(
        f"/api/v1/secrets/{made['id']}", json={"value": {"username": "app", "password": "rotated"}}
    )
    for path in ("team-a/api-key", "team-a/payments/stripe", "team-b/ci/deploy-key"):
        node.api.post(
            "/api/v1/secrets/create", json={"path": path, "value": "x", "metadata": {"env": "prod"}}
        )
    return {
        "login": "/ui/login",
        "secrets": "/ui/secrets",
        "secrets-folder": "/ui/secrets?prefix=team-a/",
        "search": "/ui/secrets?q=team-a/+env%3Dprod",
        "secret": f"/ui/secrets/{made['id']}",
        "new-secret": "/ui/secrets/new",
        "edit-secret": f"/ui/secrets/{made['id']}/edit",
        "share": "/ui/share",
        "sessions": "/ui/sessions?all=1",
        "users": "/ui/users",
        "roles": "/ui/roles",
        "settings": "/ui/settings",
        "audit": "/ui/audit",
        "modules": "/ui/modules",
        "seal": "/ui/seal",
    }


def _axe(page: Any) -> list[str]:
    page.evaluate(AXE)
    result = page.evaluate(
        "async () => (await axe.run(document, {resultTypes: ['violations']})).violations"
    )
    return [
        f"{v['id']} ({v['impact']}): {v['help']} at {[n['target'] for n in v['nodes']][:3]}"
        for v in result
        if v["impact"] in ("serious", "critical")
    ]


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_every_page_is_accessible_and_same_origin(
    browser: Any, node: Node, pages: dict[str, str], scheme: str
) -> None:
    shots = screenshot_dir()
    context = new_context(browser, color_scheme=scheme, viewport={"width": 1200, "height": 800})
    page = context.new_page()
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    problems: dict[str, list[str]] = {}
    # The login page, before logging in.
    page.goto(f"{node.url}/ui/login")
    problems["login"] = _axe(page)
    if shots:
        page.screenshot(path=str(shots / f"login-{scheme}.png"))
    log_in(page, node.url, "admin", node.admin_password)
    for name, path in pages.items():
        if name == "login":
            continue
        page.goto(f"{node.url}{path}")
        if name == "secret":
            page.get_by_role("button", name="Reveal", exact=True).click()
            page.get_by_text("rotated").wait_for()
        problems[name] = _axe(page)
        if shots:
            page.screenshot(path=str(shots / f"{name}-{scheme}.png"))
    # The page a share link opens, and the one that shows a new link.
    page.goto(f"{node.url}{pages['secret']}")
    page.get_by_role("button", name="Make a share-once link").click()
    problems["share-created"] = _axe(page)
    if shots:
        page.screenshot(path=str(shots / f"share-created-{scheme}.png"))
    context.close()
    assert {name: found for name, found in problems.items() if found} == {}
    foreign = [url for url in requested if not url.startswith(node.url)]
    assert foreign == []
    assert len(requested) > len(pages)


def test_a_phone_gets_the_same_pages(browser: Any, node: Node, pages: dict[str, str]) -> None:
    context = new_context(browser, viewport={"width": 375, "height": 740}, is_mobile=True)
    page = context.new_page()
    log_in(page, node.url, "admin", node.admin_password)
    for name in ("secrets", "secret", "settings"):
        page.goto(f"{node.url}{pages[name]}")
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 380, f"{name} scrolls sideways on a phone ({width}px)"
        assert _axe(page) == []
    shots = screenshot_dir()
    if shots:
        page.goto(f"{node.url}{pages['secret']}")
        page.screenshot(path=str(shots / "secret-phone.png"))
    context.close()


def test_first_load_of_the_secrets_page_is_small_and_fast(
    browser: Any, node: Node, pages: dict[str, str]
) -> None:
    context = new_context(browser)
    page = context.new_page()
    log_in(page, node.url, "admin", node.admin_password)
    context.close()
    # A fresh context: nothing cached. Log in with the API's cookie-free path is not possible,
    # so the login happens first and the secrets page is then loaded cold.
    context = new_context(browser)
    page = context.new_page()
    log_in(page, node.url, "admin", node.admin_password)
    context.clear_cookies()
    log_in(page, node.url, "admin", node.admin_password)
    cdp = context.new_cdp_session(page)
    cdp.send("Network.enable")
    cdp.send("Network.setCacheDisabled", {"cacheDisabled": True})
    received: list[int] = []
    cdp.on("Network.loadingFinished", lambda event: received.append(event["encodedDataLength"]))
    started = time.monotonic()
    page.goto(f"{node.url}/ui/secrets", wait_until="load")
    elapsed = time.monotonic() - started
    page.wait_for_timeout(200)
    transferred = sum(received)
    context.close()
    assert transferred < 300 * 1024, transferred
    # The time is reported, not asserted (a timed assertion fails on a loaded machine; the
    # figure, with `-s`: 164 ms on an idle run, 336 ms at load average 13 on 2 cores).
    print(f"secrets page: {transferred} bytes in {elapsed * 1000:.0f} ms")
