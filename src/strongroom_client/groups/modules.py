"""`client.modules`: the module library of issue 18 (its interface is fixed there), with the
`transit` (encryption as a service) and `totp` modules. Binary data travels as base64."""

from __future__ import annotations

import base64
import builtins
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from strongroom_client._core import Call, copy_docs, raw_json, route, segment
from strongroom_client.models import Module, build

if TYPE_CHECKING:
    from strongroom_client.aio import AsyncClient
    from strongroom_client.client import Client

TRANSIT = "/modules/transit"
TOTP = "/modules/totp"


def _modules(data: Any) -> builtins.list[Module]:
    items = data.get("items", data.get("modules")) if isinstance(data, dict) else data
    return [build(Module, item) for item in items or []]


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def list_call() -> Call[builtins.list[Module]]:
    return Call("GET", "/modules/", _modules)


def switch_call(module_id: str, on: bool) -> Call[Any]:
    return Call("POST", f"/modules/{segment(module_id)}/{'enable' if on else 'disable'}", raw_json)


def configure_call(module_id: str, available: bool, roles: Sequence[str] | None) -> Call[Any]:
    body: dict[str, Any] = {"available": available}
    if roles is not None:
        body["roles"] = list(roles)
    return Call("POST", "/sys/modules/" + segment(module_id), raw_json, json=body)


def catalog_call() -> Call[builtins.list[Module]]:
    return Call("GET", "/sys/modules", _modules)


def post(path: str, body: Any) -> Call[Any]:
    return Call("POST", path, raw_json, json=body)


def delete(path: str) -> Call[Any]:
    return Call("DELETE", path, raw_json)


def purge_call(module_id: str, username: str) -> Call[Any]:
    return post(f"/sys/modules/{segment(module_id)}/purge", {"username": username})


def get(path: str) -> Call[Any]:
    return Call("GET", path, raw_json)


class Transit:
    """Encryption as a service: named keys that never leave the server (`aes256-gcm`,
    `chacha20-poly1305`, `ed25519`, `ecdsa-p256`)."""

    def __init__(self, client: Client) -> None:
        self._c = client

    @route("POST", "/modules/transit/keys")
    def create_key(self, name: str, type: str = "aes256-gcm", *, exportable: bool = False) -> Any:
        """Create a named key."""
        body = {"name": name, "type": type, "exportable": exportable}
        return self._c.call(post(f"{TRANSIT}/keys", body))

    @route("GET", "/modules/transit/keys")
    def keys(self) -> Any:
        """Your keys (no key material)."""
        return self._c.call(get(f"{TRANSIT}/keys"))

    @route("GET", "/modules/transit/keys/{name}")
    def key(self, name: str) -> Any:
        """One key's versions and settings (no key material)."""
        return self._c.call(get(f"{TRANSIT}/keys/{segment(name)}"))

    @route("POST", "/modules/transit/encrypt/{name}")
    def encrypt(self, name: str, plaintext: bytes, *, context: bytes | None = None) -> str:
        """Encrypt `plaintext`; returns `strongroom:v{N}:...`."""
        body: dict[str, Any] = {"plaintext": _b64(plaintext)}
        if context is not None:
            body["context"] = _b64(context)
        return str(self._c.call(post(f"{TRANSIT}/encrypt/{segment(name)}", body))["ciphertext"])

    def encrypt_batch(self, name: str, items: Sequence[dict[str, Any]]) -> builtins.list[Any]:
        """Up to 1,000 items `{"plaintext": base64, "context"?: base64}` in one call."""
        body = {"batch_input": list(items)}
        return list(self._c.call(post(f"{TRANSIT}/encrypt/{segment(name)}", body))["batch_results"])

    @route("POST", "/modules/transit/decrypt/{name}")
    def decrypt(self, name: str, ciphertext: str, *, context: bytes | None = None) -> bytes:
        """Decrypt a `strongroom:v{N}:...` ciphertext."""
        body: dict[str, Any] = {"ciphertext": ciphertext}
        if context is not None:
            body["context"] = _b64(context)
        answer = self._c.call(post(f"{TRANSIT}/decrypt/{segment(name)}", body))
        return base64.b64decode(answer["plaintext"])

    @route("POST", "/modules/transit/rotate/{name}")
    def rotate(self, name: str) -> Any:
        """Add a key version; new ciphertexts use it."""
        return self._c.call(post(f"{TRANSIT}/rotate/{segment(name)}", {}))

    @route("POST", "/modules/transit/rewrap/{name}")
    def rewrap(self, name: str, ciphertext: str) -> str:
        """Re-encrypt a ciphertext under the newest key version, without revealing it."""
        answer = self._c.call(post(f"{TRANSIT}/rewrap/{segment(name)}", {"ciphertext": ciphertext}))
        return str(answer["ciphertext"])

    @route("POST", "/modules/transit/sign/{name}")
    def sign(self, name: str, data: bytes) -> str:
        """Sign `data` with an ed25519 or ecdsa-p256 key."""
        answer = self._c.call(post(f"{TRANSIT}/sign/{segment(name)}", {"input": _b64(data)}))
        return str(answer["signature"])

    @route("POST", "/modules/transit/verify/{name}")
    def verify(self, name: str, data: bytes, signature: str) -> bool:
        """Check a signature."""
        body = {"input": _b64(data), "signature": signature}
        return bool(self._c.call(post(f"{TRANSIT}/verify/{segment(name)}", body))["valid"])

    @route("POST", "/modules/transit/datakey/{name}")
    def datakey(self, name: str, **options: Any) -> Any:
        """A fresh data key, wrapped by the named key (plaintext only if asked)."""
        return self._c.call(post(f"{TRANSIT}/datakey/{segment(name)}", options))

    @route("POST", "/modules/transit/keys/{name}/config")
    def configure(self, name: str, **options: Any) -> Any:
        """Set `min_decryption_version`, `exportable` (false to true only) or
        `deletion_allowed`."""
        return self._c.call(post(f"{TRANSIT}/keys/{segment(name)}/config", options))

    @route("DELETE", "/modules/transit/keys/{name}")
    def delete_key(self, name: str) -> Any:
        """Delete a key and its versions (needs `deletion_allowed`)."""
        return self._c.call(delete(f"{TRANSIT}/keys/{segment(name)}"))

    @route("GET", "/modules/transit/export/{export_type}/{name}")
    def export(self, name: str, export_type: str = "public-key") -> dict[str, str]:
        """A key's versions in portable form, by version: `public-key` (PEM) of a signing key;
        `encryption-key` or `signing-key` of an exportable key."""
        answer = self._c.call(get(f"{TRANSIT}/export/{segment(export_type)}/{segment(name)}"))
        return dict(answer["keys"])


class Totp:
    """One-time passwords (RFC 6238): keys the server generates or imports."""

    def __init__(self, client: Client) -> None:
        self._c = client

    @route("POST", "/modules/totp/keys")
    def create_key(self, name: str, *, issuer: str, account_name: str, **options: Any) -> Any:
        """Generate a key on the server: returns its `url` (otpauth://) and `barcode` (PNG,
        base64). Options: `algorithm`, `digits`, `period`."""
        body = {"name": name, "generate": True, "issuer": issuer, "account_name": account_name}
        return self._c.call(post(f"{TOTP}/keys", {**body, **options}))

    def import_key(self, name: str, url: str) -> Any:
        """Import an existing `otpauth://` URL (or base32 seed)."""
        return self._c.call(post(f"{TOTP}/keys", {"name": name, "url": url}))

    @route("GET", "/modules/totp/code/{name}")
    def code(self, name: str) -> str:
        """The current code of a key."""
        return str(self._c.call(get(f"{TOTP}/code/{segment(name)}"))["code"])

    @route("POST", "/modules/totp/validate/{name}")
    def validate(self, name: str, code: str) -> bool:
        """Whether `code` is valid now (each code validates at most once)."""
        body = {"code": code}
        return bool(self._c.call(post(f"{TOTP}/validate/{segment(name)}", body))["valid"])

    @route("GET", "/modules/totp/keys")
    def keys(self) -> Any:
        """Your TOTP keys (no seeds)."""
        return self._c.call(get(f"{TOTP}/keys"))

    @route("GET", "/modules/totp/keys/{name}")
    def key(self, name: str) -> Any:
        """One TOTP key (no seed)."""
        return self._c.call(get(f"{TOTP}/keys/{segment(name)}"))

    @route("DELETE", "/modules/totp/keys/{name}")
    def delete_key(self, name: str) -> Any:
        """Delete a TOTP key."""
        return self._c.call(delete(f"{TOTP}/keys/{segment(name)}"))


class Modules:
    """The module library: what each module is and whether it is on for you."""

    def __init__(self, client: Client) -> None:
        self._c = client
        self.transit = Transit(client)
        self.totp = Totp(client)

    @route("GET", "/modules/")
    @route("GET", "/modules")
    def list(self) -> builtins.list[Module]:
        """Every module with its status for you (available, enabled, allowed)."""
        return self._c.call(list_call())

    @route("POST", "/modules/{module_id}/enable")
    def enable(self, module_id: str) -> Any:
        """Switch a module on for you (`Forbidden` if unavailable, `NotFound` if unknown)."""
        return self._c.call(switch_call(module_id, True))

    @route("POST", "/modules/{module_id}/disable")
    def disable(self, module_id: str) -> Any:
        """Switch a module off for you; its data is kept."""
        return self._c.call(switch_call(module_id, False))

    @route("GET", "/sys/modules")
    def catalog(self) -> builtins.list[Module]:
        """Every module with its availability and roles (admin)."""
        return self._c.call(catalog_call())

    @route("POST", "/sys/modules/{module_id}")
    def configure(
        self, module_id: str, *, available: bool, roles: Sequence[str] | None = None
    ) -> Any:
        """Make a module available on this server (or not), and to which roles (admin)."""
        return self._c.call(configure_call(module_id, available, roles))

    @route("POST", "/sys/modules/{module_id}/purge")
    def purge(self, module_id: str, username: str) -> Any:
        """Delete a user's data of a module and disable it for them (admin)."""
        return self._c.call(purge_call(module_id, username))


class AsyncTransit:
    def __init__(self, client: AsyncClient) -> None:
        self._c = client

    @route("POST", "/modules/transit/keys")
    async def create_key(
        self, name: str, type: str = "aes256-gcm", *, exportable: bool = False
    ) -> Any:
        body = {"name": name, "type": type, "exportable": exportable}
        return await self._c.call(post(f"{TRANSIT}/keys", body))

    @route("GET", "/modules/transit/keys")
    async def keys(self) -> Any:
        return await self._c.call(get(f"{TRANSIT}/keys"))

    @route("GET", "/modules/transit/keys/{name}")
    async def key(self, name: str) -> Any:
        return await self._c.call(get(f"{TRANSIT}/keys/{segment(name)}"))

    @route("POST", "/modules/transit/encrypt/{name}")
    async def encrypt(self, name: str, plaintext: bytes, *, context: bytes | None = None) -> str:
        body: dict[str, Any] = {"plaintext": _b64(plaintext)}
        if context is not None:
            body["context"] = _b64(context)
        answer = await self._c.call(post(f"{TRANSIT}/encrypt/{segment(name)}", body))
        return str(answer["ciphertext"])

    async def encrypt_batch(self, name: str, items: Sequence[dict[str, Any]]) -> builtins.list[Any]:
        body = {"batch_input": list(items)}
        answer = await self._c.call(post(f"{TRANSIT}/encrypt/{segment(name)}", body))
        return list(answer["batch_results"])

    @route("POST", "/modules/transit/decrypt/{name}")
    async def decrypt(self, name: str, ciphertext: str, *, context: bytes | None = None) -> bytes:
        body: dict[str, Any] = {"ciphertext": ciphertext}
        if context is not None:
            body["context"] = _b64(context)
        answer = await self._c.call(post(f"{TRANSIT}/decrypt/{segment(name)}", body))
        return base64.b64decode(answer["plaintext"])

    @route("POST", "/modules/transit/rotate/{name}")
    async def rotate(self, name: str) -> Any:
        return await self._c.call(post(f"{TRANSIT}/rotate/{segment(name)}", {}))

    @route("POST", "/modules/transit/rewrap/{name}")
    async def rewrap(self, name: str, ciphertext: str) -> str:
        body = {"ciphertext": ciphertext}
        answer = await self._c.call(post(f"{TRANSIT}/rewrap/{segment(name)}", body))
        return str(answer["ciphertext"])

    @route("POST", "/modules/transit/sign/{name}")
    async def sign(self, name: str, data: bytes) -> str:
        answer = await self._c.call(post(f"{TRANSIT}/sign/{segment(name)}", {"input": _b64(data)}))
        return str(answer["signature"])

    @route("POST", "/modules/transit/verify/{name}")
    async def verify(self, name: str, data: bytes, signature: str) -> bool:
        body = {"input": _b64(data), "signature": signature}
        return bool((await self._c.call(post(f"{TRANSIT}/verify/{segment(name)}", body)))["valid"])

    @route("POST", "/modules/transit/datakey/{name}")
    async def datakey(self, name: str, **options: Any) -> Any:
        return await self._c.call(post(f"{TRANSIT}/datakey/{segment(name)}", options))

    @route("POST", "/modules/transit/keys/{name}/config")
    async def configure(self, name: str, **options: Any) -> Any:
        return await self._c.call(post(f"{TRANSIT}/keys/{segment(name)}/config", options))

    @route("DELETE", "/modules/transit/keys/{name}")
    async def delete_key(self, name: str) -> Any:
        return await self._c.call(delete(f"{TRANSIT}/keys/{segment(name)}"))

    @route("GET", "/modules/transit/export/{export_type}/{name}")
    async def export(self, name: str, export_type: str = "public-key") -> dict[str, str]:
        path = f"{TRANSIT}/export/{segment(export_type)}/{segment(name)}"
        return dict((await self._c.call(get(path)))["keys"])


class AsyncTotp:
    def __init__(self, client: AsyncClient) -> None:
        self._c = client

    @route("POST", "/modules/totp/keys")
    async def create_key(self, name: str, *, issuer: str, account_name: str, **options: Any) -> Any:
        body = {"name": name, "generate": True, "issuer": issuer, "account_name": account_name}
        return await self._c.call(post(f"{TOTP}/keys", {**body, **options}))

    async def import_key(self, name: str, url: str) -> Any:
        return await self._c.call(post(f"{TOTP}/keys", {"name": name, "url": url}))

    @route("GET", "/modules/totp/code/{name}")
    async def code(self, name: str) -> str:
        return str((await self._c.call(get(f"{TOTP}/code/{segment(name)}")))["code"])

    @route("POST", "/modules/totp/validate/{name}")
    async def validate(self, name: str, code: str) -> bool:
        body = {"code": code}
        return bool((await self._c.call(post(f"{TOTP}/validate/{segment(name)}", body)))["valid"])

    @route("GET", "/modules/totp/keys")
    async def keys(self) -> Any:
        return await self._c.call(get(f"{TOTP}/keys"))

    @route("GET", "/modules/totp/keys/{name}")
    async def key(self, name: str) -> Any:
        return await self._c.call(get(f"{TOTP}/keys/{segment(name)}"))

    @route("DELETE", "/modules/totp/keys/{name}")
    async def delete_key(self, name: str) -> Any:
        return await self._c.call(delete(f"{TOTP}/keys/{segment(name)}"))


class AsyncModules:
    def __init__(self, client: AsyncClient) -> None:
        self._c = client
        self.transit = AsyncTransit(client)
        self.totp = AsyncTotp(client)

    @route("GET", "/modules/")
    @route("GET", "/modules")
    async def list(self) -> builtins.list[Module]:
        return await self._c.call(list_call())

    @route("POST", "/modules/{module_id}/enable")
    async def enable(self, module_id: str) -> Any:
        return await self._c.call(switch_call(module_id, True))

    @route("POST", "/modules/{module_id}/disable")
    async def disable(self, module_id: str) -> Any:
        return await self._c.call(switch_call(module_id, False))

    @route("GET", "/sys/modules")
    async def catalog(self) -> builtins.list[Module]:
        return await self._c.call(catalog_call())

    @route("POST", "/sys/modules/{module_id}")
    async def configure(
        self, module_id: str, *, available: bool, roles: Sequence[str] | None = None
    ) -> Any:
        return await self._c.call(configure_call(module_id, available, roles))

    @route("POST", "/sys/modules/{module_id}/purge")
    async def purge(self, module_id: str, username: str) -> Any:
        return await self._c.call(purge_call(module_id, username))


for _async, _sync in ((AsyncTransit, Transit), (AsyncTotp, Totp), (AsyncModules, Modules)):
    copy_docs(_async, _sync)
