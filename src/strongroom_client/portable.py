"""Portable export and import of secrets, between strongroom servers or out of Vault/OpenBao.

`export_secrets` reads every live secret under a prefix through the API (each readable version
with its value, the metadata, the expiry) and writes it, encrypted to a passphrase, in the
backup file format (archive.py: scrypt, AES-256-GCM chunks). Inside, one JSON line each:

    {"format": "strongroom-export", "version": 1, "prefix": ...}          (the header)
    {"path", "metadata", "expires_at", "versions": [{"version", "created_at", "value"}]}
    {"end": true, "secrets": N}

`import_secrets` writes such records back through the API (`import_file` decrypts a file;
`vault_records` reads a Vault or OpenBao KV v2 mount over its HTTP API): a secret's versions in
order (version numbers start at 1 again: destroyed versions are not carried), its metadata and
its remaining lifetime. A live secret already at the target path is handled by the conflict
policy: `skip` it, `overwrite` it (the old one is soft-deleted, restorable by its id, and the
imported one takes the path with its history), or append the imported versions to it as
`new-version`s. Values live only in this process's memory, a secret at a time.
"""

from __future__ import annotations

import json
import ssl
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, BinaryIO, Literal

import httpx
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey

from strongroom_client.archive import ArchiveError, Writer, read
from strongroom_client.errors import NotFound, PathTaken, StrongroomError

if TYPE_CHECKING:
    from strongroom_client.client import Client

FORMAT = "strongroom-export"
Conflict = Literal["skip", "overwrite", "new-version"]
CONFLICTS: tuple[Conflict, ...] = ("skip", "overwrite", "new-version")
Progress = Callable[[int], None]


class ExportFormatError(ArchiveError):
    """The file decrypts but is not a strongroom export (a backup, or damaged)."""

    def __init__(self, detail: str) -> None:
        Exception.__init__(self, f"the file is not a strongroom export ({detail})")


@dataclass
class Counts:
    """What an export or an import did, secret by secret."""

    exported: int = 0
    created: int = 0
    overwritten: int = 0
    appended: int = 0
    skipped: int = 0
    expired: int = 0
    versions: int = 0
    skipped_paths: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "exported": self.exported,
            "created": self.created,
            "overwritten": self.overwritten,
            "appended": self.appended,
            "skipped": self.skipped,
            "expired": self.expired,
            "versions": self.versions,
        }


def _line(data: Any) -> bytes:
    return json.dumps(data, separators=(",", ":"), ensure_ascii=False).encode() + b"\n"


def export_records(client: Client, prefix: str, counts: Counts) -> Iterator[dict[str, Any]]:
    """Every live secret under `prefix`, with its readable versions' values. Secrets limited
    by `max_reads` are left out (reading them would spend their reads) and counted as
    skipped."""
    for info in client.kv.iter(prefix):
        if info.max_reads is not None:
            counts.skipped += 1
            counts.skipped_paths.append(info.path)
            continue
        try:
            listed = client.kv.versions(info.id)
        except NotFound:
            continue  # deleted or expired meanwhile
        versions: list[dict[str, Any]] = []
        for version in sorted(listed, key=lambda v: v.version):
            if version.destroyed:
                continue
            try:
                secret = client.kv.get_by_id(info.id, version.version)
            except NotFound:
                continue
            versions.append(
                {
                    "version": version.version,
                    "created_at": version.created_at,
                    "value": secret.value,
                }
            )
        if versions:
            yield {
                "path": info.path,
                "metadata": dict(info.metadata or {}),
                "expires_at": info.expires_at,
                "versions": versions,
            }


def new_identity() -> tuple[bytes, bytes]:
    """A fresh X25519 key pair as PEM: (the identity, kept private; the recipient, shared)."""
    key = X25519PrivateKey.generate()
    private = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    public = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return private, public


def load_recipient(pem: bytes) -> X25519PublicKey:
    """An X25519 public key (PEM, as `kv keygen` writes it); ValueError otherwise."""
    key = serialization.load_pem_public_key(pem)
    if not isinstance(key, X25519PublicKey):
        raise ValueError("not an X25519 public key")
    return key


def load_identity(pem: bytes) -> X25519PrivateKey:
    """An X25519 private key (PEM, as `kv keygen` writes it); ValueError otherwise."""
    try:
        key = serialization.load_pem_private_key(pem, password=None)
    except (TypeError, ValueError):
        raise ValueError("not an unencrypted PEM private key") from None
    if not isinstance(key, X25519PrivateKey):
        raise ValueError("not an X25519 private key")
    return key


def export_secrets(
    client: Client,
    prefix: str,
    out: BinaryIO,
    passphrase: str = "",
    *,
    recipient: X25519PublicKey | None = None,
    progress: Progress | None = None,
) -> Counts:
    """Write every live secret under `prefix` to `out`, encrypted to `passphrase` or, when
    given, to the X25519 `recipient`."""
    counts = Counts()
    writer = Writer(out, passphrase, recipient=recipient)
    created = datetime.now(UTC).isoformat()
    writer.write(_line({"format": FORMAT, "version": 1, "prefix": prefix, "created_at": created}))
    for record in export_records(client, prefix, counts):
        writer.write(_line(record))
        counts.exported += 1
        counts.versions += len(record["versions"])
        if progress is not None:
            progress(1)
    writer.write(_line({"end": True, "secrets": counts.exported}))
    writer.close()
    return counts


def file_records(
    source: BinaryIO, passphrase: str = "", identity: X25519PrivateKey | None = None
) -> tuple[str, Iterator[dict[str, Any]]]:
    """The export prefix and the secrets of an export file. The whole file is decrypted and
    checked (authenticity, the end line) before the first record is handed out, so a damaged
    file writes nothing; the records are then held in memory."""
    buffer = bytearray()
    for plain in read(source, passphrase, identity=identity):
        buffer += plain
    lines = bytes(buffer).split(b"\n")
    try:
        header = json.loads(lines[0])
        end = json.loads(lines[-2]) if len(lines) >= 2 else None
    except ValueError:
        raise ExportFormatError("unreadable header") from None
    if not isinstance(header, dict) or header.get("format") != FORMAT:
        raise ExportFormatError("no export header: a backup is restored with `backup restore`")
    if header.get("version") != 1:
        raise ExportFormatError(f"unknown export version {header.get('version')!r}")
    body = lines[1:-2]
    if not isinstance(end, dict) or end.get("end") is not True or end.get("secrets") != len(body):
        raise ExportFormatError("incomplete")
    records = [json.loads(line) for line in body]
    return str(header.get("prefix") or ""), iter(records)


def _ttl(expires_at: str | None, now: datetime) -> int | None:
    """Seconds left until `expires_at` (0: no expiry, the server's `ttl` convention); None if
    it has passed."""
    if not expires_at:
        return 0
    when = datetime.fromisoformat(expires_at.replace("Z", "+00:00"))
    left = int((when - now).total_seconds())
    return left if left > 0 else None


def _target(path: str, old_prefix: str, new_prefix: str | None) -> str:
    if new_prefix is None:
        return path
    rest = path[len(old_prefix) :] if old_prefix and path.startswith(old_prefix) else path
    return new_prefix.rstrip("/") + "/" + rest.lstrip("/") if new_prefix else rest.lstrip("/")


def import_secrets(
    client: Client,
    records: Iterable[dict[str, Any]],
    *,
    old_prefix: str = "",
    new_prefix: str | None = None,
    conflict: Conflict = "skip",
    progress: Progress | None = None,
) -> Counts:
    """Write `records` (as `export_records` makes them) into the server, one secret at a
    time; a live secret at a target path is handled by `conflict`."""
    if conflict not in CONFLICTS:
        raise ValueError(f"conflict must be one of {', '.join(CONFLICTS)}")
    counts = Counts()
    for record in records:
        path = _target(record["path"], old_prefix, new_prefix)
        try:
            _import_one(client, record, path, conflict, counts)
        except StrongroomError as exc:
            raise ImportStopped(path, counts, exc) from None
        if progress is not None:
            progress(1)
    return counts


def _import_one(
    client: Client, record: dict[str, Any], path: str, conflict: Conflict, counts: Counts
) -> None:
    ttl = _ttl(record.get("expires_at"), datetime.now(UTC))
    if ttl is None:
        counts.expired += 1
        return
    versions = [v["value"] for v in sorted(record["versions"], key=lambda v: v["version"])]
    if not versions:
        return
    metadata: dict[str, str] = {str(k): str(v) for k, v in (record.get("metadata") or {}).items()}
    try:
        existing: str | None = client.kv.resolve(path).id
    except NotFound:
        existing = None
    replaced = False
    if existing is not None and conflict == "skip":
        counts.skipped += 1
        counts.skipped_paths.append(path)
        return
    if existing is not None and conflict == "overwrite":
        client.kv.delete(path)  # soft: the old secret stays restorable by its id
        counts.overwritten += 1
        existing, replaced = None, True
    elif existing is not None:
        counts.appended += 1
    if existing is None:
        try:
            written = client.kv.create(path, versions[0], ttl=ttl, metadata=metadata)
        except PathTaken:  # written meanwhile: the policy again, from the top
            if replaced:
                counts.overwritten -= 1
            _import_one(client, record, path, conflict, counts)
            return
        if not replaced:
            counts.created += 1
        secret_id, rest = written.id, versions[1:]
    else:
        secret_id, rest = existing, versions
    for value in rest:
        client.kv.update(secret_id, value, ttl=ttl, metadata=metadata)
    counts.versions += len(versions)


def import_file(
    client: Client,
    source: BinaryIO,
    passphrase: str = "",
    *,
    identity: X25519PrivateKey | None = None,
    new_prefix: str | None = None,
    conflict: Conflict = "skip",
    progress: Progress | None = None,
) -> Counts:
    """Decrypt the export in `source` (with `passphrase`, or `identity` if it was encrypted
    to a recipient) and import it (see `import_secrets`)."""
    old_prefix, records = file_records(source, passphrase, identity)
    return import_secrets(
        client,
        records,
        old_prefix=old_prefix,
        new_prefix=new_prefix,
        conflict=conflict,
        progress=progress,
    )


class ImportStopped(Exception):
    """The server refused a write: the import stopped at `path`; `counts` is what was done
    before it (earlier secrets stay written)."""

    def __init__(self, path: str, counts: Counts, cause: StrongroomError) -> None:
        done = ", ".join(f"{k} {v}" for k, v in counts.as_dict().items() if k != "exported")
        super().__init__(f"the import stopped at {path!r}: {cause} (done before it: {done})")
        self.path, self.counts = path, counts


class VaultError(Exception):
    """Vault or OpenBao answered an error (its status, never a value)."""


def vault_client(addr: str, token: str, cacert: str | None = None) -> httpx.Client:
    verify: Any = ssl.create_default_context(cafile=cacert) if cacert else True
    return httpx.Client(
        base_url=addr.rstrip("/") + "/v1/",
        headers={"X-Vault-Token": token},
        verify=verify,
        timeout=httpx.Timeout(30.0),
        trust_env=False,
    )


def _vault(http: httpx.Client, method: str, url: str) -> Any:
    response = http.request(method, url)
    if response.status_code == 404:
        return None
    if response.status_code >= 400:
        try:
            errors = response.json().get("errors") or []
        except ValueError:
            errors = []
        detail = "; ".join(str(e) for e in errors)[:300]
        raise VaultError(f"Vault answered {response.status_code} to {method} {url}: {detail}")
    return response.json()


def _vault_paths(http: httpx.Client, mount: str, path: str) -> Iterator[str]:
    """Every secret path under `path` in the KV v2 `mount` (depth first, sorted)."""
    listed = _vault(http, "LIST", f"{mount}/metadata/{path}")
    if listed is None:
        if path and not path.endswith("/"):
            yield path  # a single secret
        return
    for key in sorted(listed["data"]["keys"]):
        child = f"{path.rstrip('/')}/{key}" if path.strip("/") else key
        if key.endswith("/"):
            yield from _vault_paths(http, mount, child)
        else:
            yield child


def vault_records(
    http: httpx.Client, mount: str = "secret", path: str = ""
) -> Iterator[dict[str, Any]]:
    """The secrets of a Vault/OpenBao KV v2 mount under `path`, as export records: each
    version that is neither deleted nor destroyed, in order, with `custom_metadata` as the
    metadata. Paths are the mount's own (`import_secrets(old_prefix=path)` moves them)."""
    mount = mount.strip("/")
    base = path.strip("/")
    start = base + "/" if base else ""
    for secret_path in _vault_paths(http, mount, start):
        meta = _vault(http, "GET", f"{mount}/metadata/{secret_path}")
        if meta is None:
            continue
        data = meta["data"]
        versions: list[dict[str, Any]] = []
        for number in sorted(int(n) for n in (data.get("versions") or {})):
            about = data["versions"][str(number)]
            if about.get("destroyed") or about.get("deletion_time"):
                continue
            read_back = _vault(http, "GET", f"{mount}/data/{secret_path}?version={number}")
            if read_back is None or read_back["data"]["data"] is None:
                continue
            versions.append(
                {
                    "version": number,
                    "created_at": about.get("created_time"),
                    "value": read_back["data"]["data"],
                }
            )
        if versions:
            yield {
                "path": secret_path,
                "metadata": dict(data.get("custom_metadata") or {}),
                "expires_at": None,
                "versions": versions,
            }


__all__ = [
    "CONFLICTS",
    "Counts",
    "ExportFormatError",
    "ImportStopped",
    "VaultError",
    "export_secrets",
    "import_file",
    "import_secrets",
    "load_identity",
    "load_recipient",
    "new_identity",
    "vault_client",
    "vault_records",
]
