from __future__ import annotations

from tests.support import Api


async def test_health_answers_with_database_and_store(api: Api) -> None:
    response = await api.client.get("/api/v1/sys/health")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["sealed"] is False
    assert body["database"] == "ok"
    assert body["session_store"] == "ok"
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["strict-transport-security"].startswith("max-age=")
    assert len(response.headers["x-request-id"]) == 16


async def test_unknown_route_is_404_in_the_error_envelope(api: Api) -> None:
    response = await api.client.get("/api/v1/no/such/route")
    assert response.status_code == 404
    assert response.json() == {
        "detail": "no route for GET /api/v1/no/such/route",
        "code": "not_found",
    }
