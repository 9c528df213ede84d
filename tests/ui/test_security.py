"""The interface's defences, seen from a real browser (issue 23, acceptance 3): the content
security policy is sent and enforced, the cookie flags, a form posted from a page of another
origin is refused, and a revealed value is in neither the browser's cache nor its storage
after navigation."""

from __future__ import annotations

import http.server
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support import free_port
from tests.ui.conftest import CHROMIUM, CHROMIUM_ARGS, Node, log_in, new_context

pytestmark = pytest.mark.slow
MARKER = "cache-probe-7c1d9e0b42"


@pytest.fixture(scope="module")
def mallory(node: Node) -> str:
    return node.user("mallory")


def test_csp_headers_and_cookie_flags(browser: Any, node: Node, mallory: str) -> None:
    context = new_context(browser)
    page = context.new_page()
    response = page.goto(f"{node.url}/ui/login")
    headers = response.headers
    csp = headers["content-security-policy"]
    for directive in (
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "frame-ancestors 'none'",
    ):
        assert directive in csp
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
    assert headers["cache-control"] == "no-store"
    assert headers["x-frame-options"] == "DENY"
    # Enforced: an inline script injected into the page does not run.
    blocked = page.evaluate(
        """() => new Promise((resolve) => {
            document.addEventListener(
                'securitypolicyviolation', (e) => resolve(e.violatedDirective));
            const s = document.createElement('script');
            s.textContent = 'window.__ran = true';
            document.body.appendChild(s);
            setTimeout(() => resolve(window.__ran ? 'ran' : 'silent'), 1000);
        })"""
    )
    assert blocked.startswith("script-src")
    with page.expect_response(
        lambda r: r.url.endswith("/ui/login") and r.request.method == "POST"
    ) as login:
        page.get_by_label("Username").fill("mallory")
        page.get_by_label("Password").fill(mallory)
        page.get_by_role("button", name="Log in").click()
    raw = login.value.headers_array()
    set_cookies = [h["value"] for h in raw if h["name"].lower() == "set-cookie"]
    session = next(c for c in set_cookies if c.startswith("__Host-strongroom-session="))
    flags = {part.strip().lower() for part in session.split(";")[1:]}
    assert {"httponly", "secure", "samesite=strict", "path=/"} <= flags
    assert not any(f.startswith("domain") for f in flags)
    stored = {c["name"]: c for c in context.cookies()}
    cookie = stored["__Host-strongroom-session"]
    assert cookie["httpOnly"] and cookie["secure"] and cookie["sameSite"] == "Strict"
    # Scripts cannot read it.
    assert "strongroom-session" not in page.evaluate("document.cookie")
    context.close()


class _Attacker(http.server.BaseHTTPRequestHandler):
    target = ""

    def do_GET(self) -> None:
        body = f"""<!doctype html><html><body>
<form id="f" method="post" action="{self.target}/ui/secrets/new">
<input name="csrf" value="guessed"><input name="path" value="users/mallory/planted">
<input name="kind" value="text"><input name="value" value="from-evil">
<button id="go" type="submit">win a prize</button></form></body></html>""".encode()
        self.send_response(200)
        self.send_header("content-type", "text/html")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def attacker_site(node: Node) -> Iterator[str]:
    handler = type("Handler", (_Attacker,), {"target": node.url})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", free_port()), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://localhost:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


def test_a_form_posted_from_another_origin_is_refused(
    browser: Any, node: Node, mallory: str, attacker_site: str
) -> None:
    context = new_context(browser)
    page = context.new_page()
    log_in(page, node.url, "mallory", mallory)
    page.goto(attacker_site)
    with page.expect_navigation():
        page.click("#go")
    assert page.url == f"{node.url}/ui/secrets/new"
    assert "cross-site request refused" in page.content()
    token = node.token("mallory", mallory)
    listed = node.api.get(
        "/api/v1/secrets",
        params={"prefix": "users/mallory/"},
        headers={"Authorization": f"Bearer {token}"},
    ).json()
    assert [item["path"] for item in listed["items"]] == []
    context.close()


def test_a_revealed_value_leaves_no_trace_in_cache_or_storage(
    playwright: Any, node: Node, mallory: str, tmp_path: Path
) -> None:
    token = node.token("mallory", mallory)
    made = node.api.post(
        "/api/v1/secrets/create",
        json={"path": "users/mallory/probe", "value": MARKER},
        headers={"Authorization": f"Bearer {token}"},
    ).json()
    profile = tmp_path / "profile"
    context = playwright.chromium.launch_persistent_context(
        str(profile), executable_path=CHROMIUM, args=CHROMIUM_ARGS, ignore_https_errors=True
    )
    page = context.new_page()
    log_in(page, node.url, "mallory", mallory)
    page.goto(f"{node.url}/ui/secrets/{made['id']}")
    page.get_by_role("button", name="Reveal", exact=True).click()
    page.get_by_text(MARKER).wait_for()
    page.goto(f"{node.url}/ui/sessions")
    page.go_back()
    page.wait_for_load_state()
    assert MARKER not in page.content()  # not restored from the back/forward cache
    leftovers = page.evaluate(
        """async () => ({
            local: JSON.stringify(Object.assign({}, localStorage)),
            session: JSON.stringify(Object.assign({}, sessionStorage)),
            caches: (await caches.keys()).length,
            databases: (await indexedDB.databases()).length,
        })"""
    )
    assert MARKER not in leftovers["local"] and MARKER not in leftovers["session"]
    assert leftovers["caches"] == 0 and leftovers["databases"] == 0
    cached = page.evaluate(
        """async (url) => {
            try {
                const r = await fetch(url, {cache: 'only-if-cached', mode: 'same-origin'});
                return r.status + ' ' + (await r.text()).length;
            } catch (e) { return 'not cached'; }
        }""",
        f"{node.url}/ui/secrets/{made['id']}/reveal",
    )
    assert cached == "not cached"
    context.close()
    # The whole profile on disk (HTTP cache, storage, session restore): no trace of the value.
    for path in profile.rglob("*"):
        if path.is_file():
            assert MARKER.encode() not in path.read_bytes(), path
