"""The acceptance flows of the web interface (issue 23, 1), in headless Chromium against a real
TLS server: log in, create, find by search and by metadata, reveal, edit (a new version),
share once (a fresh context opens it, a second time it is gone), revoke a session and see the
other browser logged out, an admin's setting refused with the server's message, and an auditor
who sees the audit entries of all that and cannot reveal values."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.ui.conftest import Node, log_in, new_context

pytestmark = pytest.mark.slow

VALUE = "pa55-w0rd-9f3c1e"


@pytest.fixture(scope="module")
def alice(node: Node) -> str:
    return node.user("alice")


def _create(page: Any, base: str, path: str) -> None:
    page.goto(f"{base}/ui/secrets/new")
    page.get_by_label("Path").fill(path)
    page.get_by_label("Key/value pairs").check()
    page.get_by_label("Key 1", exact=True).fill("username")
    page.get_by_label("Value 1", exact=True).fill("app")
    page.get_by_label("Key 2", exact=True).fill("password")
    page.get_by_label("Value 2", exact=True).fill(VALUE)
    page.get_by_label("Metadata").fill("env=staging\nowner=payments")
    page.get_by_label("TTL").fill("1h")
    page.get_by_role("button", name="Create secret").click()
    page.wait_for_url(re.compile(rf"{base}/ui/secrets/[0-9a-f-]{{36}}\?done=created"))


def test_create_find_reveal_edit_and_share_once(browser: Any, node: Node, alice: str) -> None:
    base = node.url
    context = new_context(browser)
    page = context.new_page()
    log_in(page, base, "alice", alice)
    _create(page, base, "users/alice/payments/db")
    secret_url = page.url.split("?")[0]
    # The value is not on the page until asked for.
    assert VALUE not in page.content()
    assert page.get_by_text("Reads left").is_visible()

    # Found by path prefix, and by metadata.
    page.goto(f"{base}/ui/secrets")
    page.get_by_label("Search").fill("users/alice/pay")
    page.get_by_role("button", name="Search").click()
    assert page.get_by_role("link", name="users/alice/payments/db").is_visible()
    page.get_by_label("Search").fill("env=staging owner=payments")
    page.get_by_role("button", name="Search").click()
    assert page.get_by_role("link", name="users/alice/payments/db").is_visible()
    page.get_by_label("Search").fill("env=production")
    page.get_by_role("button", name="Search").click()
    assert page.get_by_role("link", name="users/alice/payments/db").count() == 0
    # And in the tree, folder by folder.
    page.goto(f"{base}/ui/secrets?prefix=users/alice/")
    page.get_by_role("link", name="payments/").click()
    page.get_by_role("link", name="db", exact=True).click()
    assert page.url == secret_url

    # Reveal on click.
    page.get_by_role("button", name="Reveal", exact=True).click()
    page.get_by_text(VALUE).wait_for()

    # Edit: a new version, whose value is loaded only on request.
    page.goto(f"{secret_url}/edit")
    page.get_by_role("button", name="Load the current value").click()
    page.get_by_role("button", name="Current value loaded").wait_for()
    page.get_by_label("Value 2", exact=True).fill("rotated-" + VALUE)
    page.get_by_role("button", name="Save new version").click()
    page.wait_for_url(f"{secret_url}?done=saved")
    assert page.get_by_role("cell", name="2 current").is_visible()
    page.get_by_role("button", name="Reveal", exact=True).click()
    page.get_by_text("rotated-" + VALUE).wait_for()
    page.get_by_role("button", name="Reveal v1").click()
    page.get_by_text(VALUE, exact=True).wait_for()

    # Share once: the link works in a fresh context, once.
    page.goto(secret_url)
    page.get_by_label("Link lives for").select_option("3600")
    page.get_by_role("button", name="Make a share-once link").click()
    link = page.get_by_label("Link").input_value()
    assert re.fullmatch(rf"{base}/ui/share#[0-9a-f-]{{36}}\.[A-Za-z0-9_-]{{43}}", link)
    for attempt in range(2):
        stranger = new_context(browser)
        shared = stranger.new_page()
        shared.goto(link)
        assert "#" not in shared.url  # the key leaves the address bar at once
        shared.get_by_role("button", name="Open the secret").click()
        if attempt == 0:
            shared.get_by_text("rotated-" + VALUE).wait_for()
        else:
            shared.get_by_text("this link was already used").wait_for()
            assert "rotated-" + VALUE not in shared.content()
        stranger.close()
    context.close()


def test_revoking_a_session_logs_the_other_browser_out(browser: Any, node: Node) -> None:
    password = node.user("bob")
    base = node.url
    first, second = (
        new_context(browser, user_agent="first-browser"),
        new_context(browser, user_agent="second-browser"),
    )
    one, two = first.new_page(), second.new_page()
    log_in(one, base, "bob", password)
    log_in(two, base, "bob", password)
    one.goto(f"{base}/ui/sessions")
    one.get_by_role("button", name=re.compile(r"Revoke the session .*second-browser")).click()
    one.wait_for_url(f"{base}/ui/sessions?done=revoked")
    assert one.get_by_text("second-browser").count() == 0
    two.goto(f"{base}/ui/secrets")
    assert two.url.startswith(f"{base}/ui/login")
    assert two.get_by_role("button", name="Log in").is_visible()
    # The first browser is still in.
    one.goto(f"{base}/ui/secrets")
    assert one.url == f"{base}/ui/secrets"
    # Log out POSTs and ends the session.
    one.get_by_role("button", name="Log out").click()
    one.wait_for_url(f"{base}/ui/login?done=logged-out")
    one.goto(f"{base}/ui/sessions")
    assert one.url.startswith(f"{base}/ui/login")
    first.close()
    second.close()


def test_admin_sees_the_servers_validation_message(browser: Any, node: Node) -> None:
    base = node.url
    context = new_context(browser)
    page = context.new_page()
    log_in(page, base, "admin", node.admin_password)
    page.goto(f"{base}/ui/settings")
    field = page.get_by_label("security.password_min_length")
    field.fill("3")
    page.get_by_role("button", name="Save security.password_min_length").click()
    alert = page.locator("#err-security\\.password_min_length")
    alert.wait_for()
    assert "8" in alert.inner_text()
    assert page.get_by_label("security.password_min_length").get_attribute("aria-invalid") == "true"
    setting = node.api.get("/api/v1/sys/setting/security.password_min_length").json()
    assert setting["value"] == 12  # unchanged
    # A good value is saved.
    page.get_by_label("general.login_banner").fill("Authorised staff only.")
    page.get_by_role("button", name="Save general.login_banner").click()
    page.wait_for_url(re.compile(r".*done=setting-saved.*"))
    context.close()
    anonymous = new_context(browser)
    login_page = anonymous.new_page()
    login_page.goto(f"{base}/ui/login")
    assert login_page.get_by_role("note").inner_text() == "Authorised staff only."
    anonymous.close()


def test_auditor_sees_the_audit_entries_and_cannot_reveal(
    browser: Any, node: Node, alice: str
) -> None:
    base = node.url
    # alice creates, reveals and shares a secret in the browser: the auditor must see all that.
    context = new_context(browser)
    page = context.new_page()
    log_in(page, base, "alice", alice)
    _create(page, base, "users/alice/audited")
    secret_id = page.url.split("?")[0].rsplit("/", 1)[1]
    page.get_by_role("button", name="Reveal", exact=True).click()
    page.get_by_text(VALUE).wait_for()
    page.get_by_role("button", name="Make a share-once link").click()
    page.get_by_label("Link").wait_for()
    context.close()
    made = {"id": secret_id}

    node.user("audrey", role="auditor")
    context = new_context(browser)
    page = context.new_page()
    log_in(page, base, "audrey", alice)
    page.goto(f"{base}/ui/audit")
    page.get_by_label("User").fill("alice")
    page.get_by_role("button", name="Filter").click()
    rows = page.locator("table.audit tbody tr")
    text = rows.all_inner_texts()
    assert any(
        f"POST /ui/secrets/{made['id']}/reveal" in row and "users/alice/audited" in row
        for row in text
    ), text
    assert any("POST /ui/secrets/new" in row for row in text), text
    assert any("POST /ui/secrets/" in row and "/share" in row for row in text), text
    assert VALUE not in page.content()
    # The auditor sees the secret listed, and no way to its value.
    page.goto(f"{base}/ui/secrets/{made['id']}")
    assert page.get_by_role("button", name="Reveal", exact=True).count() == 0
    assert page.get_by_text("may list this secret but not read its value").is_visible()
    response = page.request.post(
        f"{base}/ui/secrets/{made['id']}/reveal",
        headers={
            "X-CSRF-Token": page.locator('meta[name="csrf-token"]').get_attribute("content"),
            "Accept": "application/json",
            "Origin": base,
        },
    )
    assert response.status == 403
    assert VALUE not in response.text()
    context.close()
