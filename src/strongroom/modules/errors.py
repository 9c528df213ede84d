"""The errors of the module library and its modules (all StrongroomError: one handler)."""

from __future__ import annotations

from strongroom.errors import BadRequest, Conflict, Forbidden, NotFound, StrongroomError


class ModuleNotFound(NotFound):
    code = "module_not_found"


class ModuleUnavailable(Forbidden):
    """The operator has not made the module available on this server."""

    code = "module_unavailable"


class ModuleNotAllowed(Forbidden):
    """The caller's role may not use the module (or this key of it)."""

    code = "module_not_allowed"


class ModuleNotEnabled(Forbidden):
    code = "module_not_enabled"


class ModuleAlwaysEnabled(Conflict):
    code = "module_always_enabled"


class KeyNotFound(NotFound):
    code = "key_not_found"


class KeyExists(Conflict):
    code = "key_exists"


class UnsupportedOperation(BadRequest):
    """The key's type cannot do this (an ed25519 key does not encrypt...)."""

    code = "unsupported_operation"


class InvalidCiphertext(BadRequest):
    """Malformed, altered, of an unknown version, or not made by this key (and context): the
    caller learns nothing about which."""

    code = "invalid_ciphertext"

    def __init__(self) -> None:
        super().__init__("the ciphertext is invalid for this key")


class VersionTooOld(BadRequest):
    """A ciphertext or signature of a key version below the key's min_decryption_version."""

    code = "version_too_old"


class ModuleIntegrityError(StrongroomError):
    """Stored key material failed its barrier authentication: damaged data, not the caller's
    fault (503, like a secret's integrity_error); the server log names the key, never a value."""

    status = 503
    code = "integrity_error"

    def __init__(self) -> None:
        super().__init__(
            "the stored key failed its integrity check and cannot be used; "
            "the operator can find details in the server log"
        )
