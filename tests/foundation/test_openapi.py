"""The OpenAPI document describes every route, and every reference in it resolves."""

from __future__ import annotations

from typing import Any

from tests.support import Api, all_routes


def _refs(node: Any) -> list[str]:
    if isinstance(node, dict):
        found = [node["$ref"]] if isinstance(node.get("$ref"), str) else []
        return found + [ref for value in node.values() for ref in _refs(value)]
    if isinstance(node, list):
        return [ref for value in node for ref in _refs(value)]
    return []


async def test_every_reference_resolves_and_every_route_is_documented(sqlite_api: Api) -> None:
    response = await sqlite_api.client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    document = response.json()
    schemas = document["components"]["schemas"]
    refs = _refs(document)
    assert "#/components/schemas/TokenRequest" in refs
    missing = sorted(
        {ref for ref in refs if ref.removeprefix("#/components/schemas/") not in schemas}
    )
    assert missing == []
    documented = {
        (method.upper(), path) for path, item in document["paths"].items() for method in item
    }
    app = sqlite_api.client._transport.app  # type: ignore[attr-defined]
    for method, raw_path in all_routes(app):
        path = raw_path.replace(":path}", "}")  # Starlette's converter is not part of the URL
        internal = path.startswith(("/api/v1/docs", "/api/v1/openapi")) or method == "HEAD"
        if path.startswith("/api/v1/") and not internal:
            assert (method, path) in documented, (method, path)
    token = document["paths"]["/api/v1/auth/token/create"]["post"]["requestBody"]["content"]
    assert set(token) == {"application/json", "application/x-www-form-urlencoded"}
    for route in document["paths"].values():
        for operation in route.values():
            assert operation.get("description") or operation.get("summary"), operation
