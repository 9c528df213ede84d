"""The exceptions of the strongroom client: one class per error code of the server.

    StrongroomError              status, code, detail, request_id
    ├── ConnectionFailed         the server could not be reached (no HTTP answer)
    ├── BadRequest               400 bad_request
    │   ├── InvalidCursor        400 invalid_cursor
    │   ├── InvalidKey           400 invalid_key (unseal / rekey share or key refused)
    │   ├── AlreadyInitialised   400 already_initialised
    │   ├── InvalidRequest       400 invalid_request (token endpoints, RFC 6749)
    │   └── InvalidCiphertext, InvalidSignature, VersionTooOld, UnsupportedOperation (transit)
    ├── Unauthorized             401 unauthorized
    │   ├── InvalidToken         401 invalid_token: the access token is invalid, expired, revoked
    │   └── InvalidGrant         invalid_grant: bad credentials, or a dead refresh token
    ├── Forbidden                403 forbidden
    │   ├── HttpsRequired        403 https_required
    │   ├── AccessDenied         403 access_denied (GitHub did not authorize)
    │   ├── ModuleNotEnabled     403 module_not_enabled / module_unavailable
    │   ├── ModuleNotAllowed     403 module_not_allowed (the caller's role)
    │   ├── KeyNotExportable     403 key_not_exportable
    │   └── RegistrationClosed   403 registration_closed
    ├── NotFound                 404 not_found
    │   └── ModuleNotFound, KeyNotFound
    ├── MethodNotAllowed         405 method_not_allowed
    ├── NotAcceptable            406 not_acceptable
    ├── Conflict                 409 conflict
    │   ├── PathTaken, CasMismatch, NotDeleted, RoleExists, RoleInUse, BuiltinRole,
    │   ├── AuditDatabaseDisabled, KeyExists, DeletionNotAllowed, NotEmpty,
    │   ├── RevisionMismatch, WrongRootKey (a restore)
    │   └── ModuleAlwaysEnabled  409 module_always_enabled (kv)
    ├── PayloadTooLarge          413 payload_too_large
    │   └── ValueTooLarge        413 value_too_large
    ├── UnsupportedMediaType     415 unsupported_media_type
    ├── ValidationError          422 validation_error (`errors`: FastAPI's list)
    ├── UnsupportedGrantType     unsupported_grant_type
    ├── RateLimited              429 (`retry_after` seconds); a locked account included
    ├── ServerError              500 internal_error
    └── Unavailable              503 unavailable
        ├── Sealed               503 sealed
        ├── NotInitialised       503 not_initialised
        ├── SessionStoreUnavailable, DatabaseUnavailable, AuditUnavailable,
        ├── HashingUnavailable, GithubUnavailable
        └── IntegrityError       503 integrity_error (a stored value failed its check)

A message is the server's `detail` (or RFC 6749 `error_description`): the server never puts
secret material in one, and neither does the client.
"""

from __future__ import annotations

from typing import Any


class StrongroomError(Exception):
    """Base of every error the client raises for an answer of the server (or no answer)."""

    status: int = 0
    code: str = "error"

    def __init__(
        self,
        detail: str,
        *,
        status: int | None = None,
        code: str | None = None,
        request_id: str | None = None,
        retry_after: float | None = None,
        errors: list[Any] | None = None,
    ) -> None:
        super().__init__(detail)
        self.detail = detail
        if status is not None:
            self.status = status
        if code is not None:
            self.code = code
        self.request_id = request_id
        self.retry_after = retry_after
        self.errors = errors or []

    def __str__(self) -> str:
        return f"{self.code}: {self.detail}"


class ConnectionFailed(StrongroomError):
    code = "connection_failed"


class BadRequest(StrongroomError):
    status, code = 400, "bad_request"


class InvalidCursor(BadRequest):
    code = "invalid_cursor"


class InvalidKey(BadRequest):
    code = "invalid_key"


class AlreadyInitialised(BadRequest):
    code = "already_initialised"


class InvalidRequest(BadRequest):
    code = "invalid_request"


class Unauthorized(StrongroomError):
    status, code = 401, "unauthorized"


class InvalidToken(Unauthorized):
    code = "invalid_token"


class InvalidGrant(Unauthorized):
    code = "invalid_grant"


class UnsupportedGrantType(BadRequest):
    code = "unsupported_grant_type"


class Forbidden(StrongroomError):
    status, code = 403, "forbidden"


class HttpsRequired(Forbidden):
    code = "https_required"


class AccessDenied(Forbidden):
    code = "access_denied"


class ModuleNotEnabled(Forbidden):
    code = "module_not_enabled"


class ModuleNotAllowed(Forbidden):
    code = "module_not_allowed"


class KeyNotExportable(Forbidden):
    code = "key_not_exportable"


class RegistrationClosed(Forbidden):
    code = "registration_closed"


class NotFound(StrongroomError):
    status, code = 404, "not_found"


class ModuleNotFound(NotFound):
    code = "module_not_found"


class KeyNotFound(NotFound):
    code = "key_not_found"


class MethodNotAllowed(StrongroomError):
    status, code = 405, "method_not_allowed"


class NotAcceptable(StrongroomError):
    status, code = 406, "not_acceptable"


class Conflict(StrongroomError):
    status, code = 409, "conflict"


class PathTaken(Conflict):
    code = "path_taken"


class CasMismatch(Conflict):
    code = "cas_mismatch"


class NotDeleted(Conflict):
    code = "not_deleted"


class RoleExists(Conflict):
    code = "role_exists"


class RoleInUse(Conflict):
    code = "role_in_use"


class BuiltinRole(Conflict):
    code = "builtin_role"


class AuditDatabaseDisabled(Conflict):
    code = "audit_database_disabled"


class NotEmpty(Conflict):
    """A restore goes only into a server that holds no secret yet."""

    code = "not_empty"


class RevisionMismatch(Conflict):
    """The backup is of another schema version than the server restored into."""

    code = "revision_mismatch"


class WrongRootKey(Conflict):
    """The backup's keyring is not wrapped by this server's root key."""

    code = "wrong_root_key"


class PayloadTooLarge(StrongroomError):
    status, code = 413, "payload_too_large"


class ValueTooLarge(PayloadTooLarge):
    code = "value_too_large"


class UnsupportedMediaType(StrongroomError):
    status, code = 415, "unsupported_media_type"


class ValidationError(StrongroomError):
    """422: `errors` holds FastAPI's list of `{"loc", "msg", "type"}`."""

    status, code = 422, "validation_error"


class RateLimited(StrongroomError):
    """429: too many requests or failed logins; `retry_after` says when to try again."""

    status, code = 429, "too_many_requests"


class ServerError(StrongroomError):
    status, code = 500, "internal_error"


class Unavailable(StrongroomError):
    status, code = 503, "unavailable"


class Sealed(Unavailable):
    code = "sealed"


class NotInitialised(Unavailable):
    code = "not_initialised"


class SessionStoreUnavailable(Unavailable):
    code = "session_store_unavailable"


class DatabaseUnavailable(Unavailable):
    code = "database_unavailable"


class AuditUnavailable(Unavailable):
    code = "audit_unavailable"


class HashingUnavailable(Unavailable):
    code = "hashing_unavailable"


class GithubUnavailable(Unavailable):
    code = "github_unavailable"


class IntegrityError(Unavailable):
    code = "integrity_error"


class InvalidCiphertext(BadRequest):
    """Altered, of another key or context, or of an unknown version: the server says no more."""

    code = "invalid_ciphertext"


class InvalidSignature(BadRequest):
    code = "invalid_signature"


class VersionTooOld(BadRequest):
    code = "version_too_old"


class UnsupportedOperation(BadRequest):
    code = "unsupported_operation"


class KeyExists(Conflict):
    code = "key_exists"


class DeletionNotAllowed(Conflict):
    code = "deletion_not_allowed"


class ModuleAlwaysEnabled(Conflict):
    code = "module_always_enabled"


_BY_STATUS: dict[int, type[StrongroomError]] = {
    400: BadRequest,
    401: Unauthorized,
    403: Forbidden,
    404: NotFound,
    405: MethodNotAllowed,
    406: NotAcceptable,
    409: Conflict,
    413: PayloadTooLarge,
    415: UnsupportedMediaType,
    422: ValidationError,
    429: RateLimited,
    500: ServerError,
    503: Unavailable,
}

#: Every `code` the server answers with, and its class (a test greps the server for codes).
BY_CODE: dict[str, type[StrongroomError]] = {
    cls.code: cls
    for cls in (
        BadRequest,
        InvalidCursor,
        InvalidKey,
        AlreadyInitialised,
        InvalidRequest,
        Unauthorized,
        InvalidToken,
        InvalidGrant,
        UnsupportedGrantType,
        Forbidden,
        HttpsRequired,
        AccessDenied,
        ModuleNotEnabled,
        NotFound,
        MethodNotAllowed,
        NotAcceptable,
        Conflict,
        PathTaken,
        CasMismatch,
        NotDeleted,
        RoleExists,
        RoleInUse,
        BuiltinRole,
        AuditDatabaseDisabled,
        NotEmpty,
        RevisionMismatch,
        WrongRootKey,
        PayloadTooLarge,
        ValueTooLarge,
        UnsupportedMediaType,
        ValidationError,
        RateLimited,
        ServerError,
        Unavailable,
        Sealed,
        NotInitialised,
        SessionStoreUnavailable,
        DatabaseUnavailable,
        AuditUnavailable,
        HashingUnavailable,
        GithubUnavailable,
        IntegrityError,
        ModuleNotAllowed,
        KeyNotExportable,
        RegistrationClosed,
        ModuleNotFound,
        KeyNotFound,
        InvalidCiphertext,
        InvalidSignature,
        VersionTooOld,
        UnsupportedOperation,
        KeyExists,
        DeletionNotAllowed,
        ModuleAlwaysEnabled,
    )
}
BY_CODE["module_unavailable"] = ModuleNotEnabled
BY_CODE["too_many_requests"] = RateLimited
# The web interface's own answers (/ui/...), for completeness: the API never gives them.
BY_CODE["csrf_refused"] = Forbidden
BY_CODE["share_gone"] = NotFound
# Key custody (sys/seal, sys/rekey): the operator's mistakes, by their status's class.
for _code, _cls in (
    ("automatic_seal", Conflict),
    ("not_shamir", Conflict),
    ("rekey_busy", Conflict),
    ("seal_unavailable", Conflict),
    ("no_rekey", BadRequest),
    ("invalid_nonce", BadRequest),
):
    BY_CODE[_code] = _cls
# The Vault-compatible API's refusal of a request without a token (/v1/, answered in Vault's
# shape; the SDK never calls it).
BY_CODE["missing_token"] = Forbidden


def error_from(status: int, body: Any, headers: dict[str, str] | None = None) -> StrongroomError:
    """The exception for an error answer: by its code, else by its status."""
    headers = headers or {}
    detail: str = f"HTTP {status}"
    code: str | None = None
    errors: list[Any] | None = None
    if isinstance(body, dict):
        raw = body.get("detail")
        if isinstance(raw, list):  # FastAPI's 422 shape
            errors = raw
            detail = "; ".join(_validation_message(item) for item in raw) or detail
        elif isinstance(raw, str):
            detail = raw
        elif isinstance(body.get("error_description"), str):
            detail = body["error_description"]
        found = body.get("code", body.get("error"))
        code = found if isinstance(found, str) else None
    if status == 429:
        cls: type[StrongroomError] = RateLimited
    else:
        cls = BY_CODE.get(code or "", _BY_STATUS.get(status, StrongroomError))
    return cls(
        detail,
        status=status,
        code=code or cls.code,
        request_id=headers.get("x-request-id"),
        retry_after=retry_after(headers),
        errors=errors,
    )


def _validation_message(item: Any) -> str:
    if not isinstance(item, dict):
        return str(item)
    where = ".".join(str(part) for part in item.get("loc", ()) if part != "body")
    message = str(item.get("msg", "invalid"))
    return f"{where}: {message}" if where else message


def retry_after(headers: dict[str, str]) -> float | None:
    """Retry-After in seconds (only the delay form; strongroom never sends a date)."""
    value = headers.get("retry-after")
    try:
        return float(value) if value else None
    except ValueError:
        return None
