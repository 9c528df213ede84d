"""The modules there are, with what the library shows of each."""

from __future__ import annotations

from dataclasses import dataclass

from strongroom.policy.rules import ADMIN, USER

KV, TRANSIT, TOTP = "kv", "transit", "totp"


@dataclass(frozen=True, slots=True)
class ModuleInfo:
    id: str
    name: str
    description: str
    version: str
    # The secrets API itself: listed, always available and enabled; it cannot be disabled.
    always_enabled: bool = False


CATALOG: dict[str, ModuleInfo] = {
    KV: ModuleInfo(
        KV,
        "Key/value secrets",
        "Versioned secrets with TTL, metadata and burn-after-reading: the secrets API itself "
        "(/api/v1/secrets). Always enabled.",
        "1.0.0",
        always_enabled=True,
    ),
    TRANSIT: ModuleInfo(
        TRANSIT,
        "Transit",
        "Encryption as a service: named keys that never leave the server encrypt, decrypt, "
        "sign, verify and make data keys (aes256-gcm, chacha20-poly1305, ed25519, ecdsa-p256).",
        "1.0.0",
    ),
    TOTP: ModuleInfo(
        TOTP,
        "TOTP",
        "Time-based one-time passwords (RFC 6238): generate a key with its QR code for an "
        "authenticator app and validate codes, or import a key and read its current code.",
        "1.0.0",
    ),
}

# Who may use a module until an admin says otherwise (POST /api/v1/sys/modules/{id}).
DEFAULT_ROLES = (ADMIN, USER)
