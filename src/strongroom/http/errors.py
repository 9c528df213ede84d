"""One handler per error family; every error leaves as `{"detail", "code"}` (or its 422/OAuth
shape), never with a traceback."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

from strongroom.db.engine import DatabaseUnavailable
from strongroom.errors import InvalidInput, OAuthError, ServiceUnavailable, StrongroomError
from strongroom.http.context import SCOPE_KEY, RequestContext
from strongroom.http.responses import JsonResponse, error_body
from strongroom.sessions.store import StoreUnavailable

log = logging.getLogger("strongroom.errors")

_STATUS_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "validation_error",
    429: "too_many_requests",
}


def _note(request: Request, code: str) -> None:
    ctx: RequestContext | None = request.scope.get(SCOPE_KEY)
    if ctx is not None:
        ctx.error_code = code


def _clean_validation_errors(errors: Any) -> list[dict[str, Any]]:
    """FastAPI's 422 items without `input` or `ctx`: they may echo a password or a secret."""
    cleaned = []
    for error in errors:
        msg = str(error.get("msg", "invalid value"))
        if error.get("type") == "json_invalid" and isinstance(error.get("ctx"), dict):
            # The parser's reason (position, NaN, an integer out of range): never the input.
            msg = f"{msg}: {error['ctx'].get('error', '')}"
        cleaned.append(
            {
                "loc": list(error.get("loc", [])),
                "msg": msg,
                "type": str(error.get("type", "value_error")),
            }
        )
    return cleaned


def render_error(exc: StrongroomError) -> JsonResponse:
    """The response of a StrongroomError: the envelope, or FastAPI's 422 shape."""
    if isinstance(exc, InvalidInput):
        body: dict[str, Any] = {
            "detail": [{"loc": exc.loc, "msg": exc.detail, "type": "value_error"}],
            "code": exc.code,
        }
        return JsonResponse(body, status_code=422)
    return JsonResponse(
        error_body(exc.detail, exc.code), status_code=exc.status, headers=exc.headers()
    )


async def _strongroom_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StrongroomError)
    _note(request, exc.code)
    return render_error(exc)


async def _oauth_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, OAuthError)
    _note(request, exc.error)
    return JsonResponse(
        {"error": exc.error, "error_description": exc.description},
        status_code=exc.status,
        headers=exc.headers(),
    )


async def _validation_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    _note(request, "validation_error")
    return JsonResponse(
        {"detail": _clean_validation_errors(exc.errors()), "code": "validation_error"},
        status_code=422,
    )


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    code = _STATUS_CODES.get(exc.status_code, "error")
    _note(request, code)
    detail = exc.detail if isinstance(exc.detail, str) else code.replace("_", " ")
    if exc.status_code == 404 and detail == "Not Found":
        detail = f"no route for {request.method} {request.url.path}"
    return JsonResponse(
        error_body(detail, code), status_code=exc.status_code, headers=dict(exc.headers or {})
    )


STORE_UNAVAILABLE = ("the session store is unavailable", "session_store_unavailable")
DATABASE_UNAVAILABLE = ("the database is unavailable", "database_unavailable")


def outage_error(exc: StoreUnavailable | DatabaseUnavailable, where: str) -> ServiceUnavailable:
    """The 503 of a backend that cannot be reached (logged once, without the request's data);
    for the handlers below and for the fast lane, which answers before them."""
    detail, code = STORE_UNAVAILABLE if isinstance(exc, StoreUnavailable) else DATABASE_UNAVAILABLE
    log.warning("%s on %s: %s", detail.removeprefix("the "), where, type(exc).__name__)
    return ServiceUnavailable(detail, code=code, retry_after=5)


def _outage(request: Request, exc: StoreUnavailable | DatabaseUnavailable) -> Response:
    error = outage_error(exc, f"{request.method} {request.url.path}")
    _note(request, error.code)
    return render_error(error)


async def _store_unavailable(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StoreUnavailable)
    return _outage(request, exc)


def broken_connection(exc: Exception) -> bool:
    """A SQLAlchemy error that means the database, not the statement, failed."""
    return isinstance(exc, OperationalError | InterfaceError) or (
        isinstance(exc, DBAPIError) and exc.connection_invalidated
    )


async def _database_unavailable(request: Request, exc: Exception) -> Response:
    if isinstance(exc, DatabaseUnavailable):
        return _outage(request, exc)
    if not broken_connection(exc):
        return await _unexpected(request, exc)
    return _outage(request, DatabaseUnavailable(type(exc).__name__))


async def _unexpected(request: Request, exc: Exception) -> Response:
    _note(request, "internal_error")
    log.error(
        "unhandled %s on %s %s", type(exc).__name__, request.method, request.url.path, exc_info=exc
    )
    return JsonResponse(error_body("internal error", "internal_error"), status_code=500)


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(StrongroomError, _strongroom_error)
    app.add_exception_handler(OAuthError, _oauth_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(StoreUnavailable, _store_unavailable)
    app.add_exception_handler(DBAPIError, _database_unavailable)
    app.add_exception_handler(DatabaseUnavailable, _database_unavailable)
    app.add_exception_handler(Exception, _unexpected)
