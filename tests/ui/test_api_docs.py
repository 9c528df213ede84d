"""Issue 16, finding 17: `/api/v1/docs` renders offline in a real browser (Chromium), with every
request to another origin cut off, and no content security policy violation."""

from __future__ import annotations

from typing import Any

from tests.ui.conftest import Node, new_context


def test_finding_17_the_api_docs_render_with_no_other_origin(node: Node, browser: Any) -> None:
    context = new_context(browser)
    page = context.new_page()
    elsewhere: list[str] = []
    problems: list[str] = []

    def only_this_origin(route: Any) -> None:
        if route.request.url.startswith(node.url + "/"):
            route.continue_()
        else:
            elsewhere.append(route.request.url)
            route.abort()

    page.route("**/*", only_this_origin)
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda error: problems.append(str(error)))
    try:
        response = page.goto(f"{node.url}/api/v1/docs")
        assert response is not None and response.status == 200
        # Swagger UI fetched the OpenAPI document and drew the operations from it.
        page.locator(".opblock").first.wait_for(timeout=60_000)
        assert page.locator(".opblock").count() > 50
        assert page.get_by_text("/api/v1/secrets/create").count() >= 1
    finally:
        context.close()
    assert elsewhere == [], elsewhere
    assert problems == [], problems
