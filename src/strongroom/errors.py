"""The one exception hierarchy of strongroom, rendered by one handler.

    StrongroomError            status, code, detail
    ├── BadRequest             400 bad_request
    ├── Unauthorized           401 unauthorized (WWW-Authenticate: Bearer)
    ├── Forbidden              403 forbidden
    ├── NotFound               404 not_found
    ├── Conflict               409 conflict
    ├── PayloadTooLarge        413 payload_too_large
    ├── InvalidInput           422 validation_error (FastAPI's 422 shape)
    ├── TooManyRequests        429 too_many_requests (Retry-After)
    └── ServiceUnavailable     503 unavailable (Retry-After when known)
    OAuthError                 RFC 6749 §5.2 body {"error", "error_description"}

Below the endpoint layer code raises these, never `HTTPException`. A message never carries
secret material: it is shown to the caller and may be logged.
"""

from __future__ import annotations

from collections.abc import Sequence


class StrongroomError(Exception):
    status: int = 500
    code: str = "internal_error"

    def __init__(self, detail: str, *, code: str | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        if code is not None:
            self.code = code

    def headers(self) -> dict[str, str]:
        return {}


class BadRequest(StrongroomError):
    status = 400
    code = "bad_request"


class Unauthorized(StrongroomError):
    status = 401
    code = "unauthorized"

    def headers(self) -> dict[str, str]:
        return {"WWW-Authenticate": 'Bearer realm="strongroom"'}


class Forbidden(StrongroomError):
    status = 403
    code = "forbidden"


class NotFound(StrongroomError):
    status = 404
    code = "not_found"


class HiddenNotFound(NotFound):
    """The unknown id's 404, answered for a secret the caller's role may not see at all: the
    caller learns nothing, while the audit log records the attempt as denied."""


class Conflict(StrongroomError):
    status = 409
    code = "conflict"


class PayloadTooLarge(StrongroomError):
    status = 413
    code = "payload_too_large"


class InvalidInput(StrongroomError):
    """A semantic validation failure, rendered in FastAPI's 422 shape."""

    status = 422
    code = "validation_error"

    def __init__(self, detail: str, *, loc: Sequence[str | int] = ("body",)) -> None:
        super().__init__(detail)
        self.loc = list(loc)


class TooManyRequests(StrongroomError):
    status = 429
    code = "too_many_requests"

    def __init__(self, detail: str, *, retry_after: int, code: str | None = None) -> None:
        super().__init__(detail, code=code)
        self.retry_after = max(1, retry_after)

    def headers(self) -> dict[str, str]:
        return {"Retry-After": str(self.retry_after)}


class ServiceUnavailable(StrongroomError):
    status = 503
    code = "unavailable"

    def __init__(
        self, detail: str, *, code: str | None = None, retry_after: int | None = None
    ) -> None:
        super().__init__(detail, code=code)
        self.retry_after = retry_after

    def headers(self) -> dict[str, str]:
        return {"Retry-After": str(self.retry_after)} if self.retry_after else {}


class OAuthError(Exception):
    """A token-endpoint error in the shape OAuth2 clients understand (RFC 6749 §5.2)."""

    def __init__(
        self,
        error: str,
        description: str,
        *,
        status: int = 400,
        retry_after: int | None = None,
    ) -> None:
        super().__init__(description)
        self.error = error
        self.description = description
        self.status = status
        self.retry_after = retry_after

    def headers(self) -> dict[str, str]:
        headers = {"Cache-Control": "no-store"}
        if self.status == 401:
            headers["WWW-Authenticate"] = 'Bearer realm="strongroom"'
        if self.retry_after:
            headers["Retry-After"] = str(self.retry_after)
        return headers
