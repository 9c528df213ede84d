"""`strongroom kv ...`: secrets by path."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from strongroom_client.cli.backup import _passphrase, _Silent, passphrase_option
from strongroom_client.cli.context import Connection
from strongroom_client.cli.failures import NOT_FOUND, USAGE, Failure
from strongroom_client.cli.output import Section, emit, format_option, write
from strongroom_client.models import as_dict

pass_connection = click.make_pass_decorator(Connection)

K = TypeVar("K")


def pairs(items: tuple[str, ...], what: str) -> dict[str, str]:
    """KEY=VALUE arguments into a dict (the value may hold '=')."""
    found: dict[str, str] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise click.UsageError(f"{what} must be KEY=VALUE, got {item!r}")
        found[key] = value
    return found


def versions_list(text: str | None) -> list[int] | None:
    if text is None:
        return None
    try:
        found = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise click.UsageError(f"--versions takes numbers like 1,2, not {text!r}") from None
    if not found or any(v < 1 for v in found):
        raise click.UsageError("--versions takes version numbers (1 or more) like 1,2")
    return found


def string_value(spec: str) -> str:
    """`--value`: a string, `@FILE` (its content) or `-` (stdin), byte for byte."""
    if spec == "-":
        raw = sys.stdin.buffer.read()
        where = "stdin"
    elif spec.startswith("@"):
        raw = Path(spec[1:]).read_bytes()
        where = spec[1:]
    else:
        return spec
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise Failure(f"the value in {where} is not UTF-8 text", 1) from None


def _key_or_passphrase(
    key_file: Path | None,
    option: str,
    load: Callable[[bytes], K],
    passphrase_file: Path | None,
    *,
    confirm: bool,
) -> tuple[K | None, str]:
    """The X25519 key in `key_file` when it is given (`option` names it in errors), else a
    passphrase: (key, "") or (None, passphrase)."""
    if key_file is None:
        return None, _passphrase(passphrase_file, confirm=confirm)
    try:
        return load(key_file.read_bytes()), ""
    except ValueError as exc:
        raise Failure(f"{option} {str(key_file)!r}: {exc}", 2) from None


@click.group()
def kv() -> None:
    """Read and write secrets by path. A value is a string or a JSON object of KEY=VALUE pairs."""


@kv.command("put")
@click.argument("path")
@click.argument("data", nargs=-1)
@click.option("--value", "value_spec", metavar="STRING|@FILE|-", help="A string value.")
@click.option("--ttl", help="Lifetime of the secret, e.g. 3600, 15m, 1h, 7d.")
@click.option("--max-reads", type=click.IntRange(min=1), help="Burn after this many reads.")
@click.option("--metadata", "-m", multiple=True, metavar="KEY=VALUE", help="Metadata (repeat).")
@click.option("--cas", type=click.IntRange(min=0), help="Write only if the version is N (0: new).")
@format_option
@pass_connection
def put(
    conn: Connection,
    path: str,
    data: tuple[str, ...],
    value_spec: str | None,
    ttl: str | None,
    max_reads: int | None,
    metadata: tuple[str, ...],
    cas: int | None,
    fmt: str | None,
) -> None:
    """Write a secret: KEY=VALUE pairs (a JSON object) or --value (a string). On a path that
    holds a secret, this writes a new version of it."""
    if bool(data) == (value_spec is not None):
        raise click.UsageError("give KEY=VALUE pairs or --value, one of the two")
    value: Any = pairs(data, "data") if data else string_value(value_spec or "")
    client = conn.client()
    written = client.kv.put(
        path,
        value,
        ttl=int(ttl) if ttl and ttl.isdigit() else ttl,
        max_reads=max_reads,
        metadata=pairs(metadata, "--metadata") if metadata else None,
        cas=cas,
    )
    emit(as_dict(written), fmt, value=lambda d: d["version"])


@kv.command("get")
@click.argument("path")
@click.option("--version", "version", type=click.IntRange(min=1), help="This version.")
@click.option("--field", metavar="KEY", help="Print only this field of the value, exactly.")
@format_option
@pass_connection
def get(
    conn: Connection, path: str, version: int | None, field: str | None, fmt: str | None
) -> int:
    """Read a secret. --field KEY (or --format value) prints exactly the value: no decoration,
    no added newline."""
    secret = conn.client().kv.get(path, version)
    if field is not None:
        if not isinstance(secret.value, dict) or field not in secret.value:
            raise Failure(f"not_found: the value at {path!r} has no field {field!r}", NOT_FOUND)
        from strongroom_client.cli.output import value_text

        write(value_text(secret.value[field]))
        return 0
    emit(as_dict(secret), fmt, value=lambda d: d["value"], table=_secret_table)
    return 0


def _secret_table(data: dict[str, Any]) -> list[Section]:
    about = [[key, data[key]] for key in ("path", "version", "id", "created_at", "updated_at")]
    about += [[key, data[key]] for key in ("expires_at", "reads", "max_reads") if data[key]]
    about.append(["metadata", data["metadata"]])
    value = data["value"]
    if isinstance(value, dict):
        rows = [[key, val] for key, val in value.items()]
    else:
        rows = [["value", value]]
    return [Section("Secret", ["Key", "Value"], about), Section("Data", ["Key", "Value"], rows)]


@kv.command("list")
@click.argument("prefix", default="")
@click.option("--metadata", "-m", multiple=True, metavar="KEY=VALUE", help="Filter (repeat).")
@format_option
@pass_connection
def list_(conn: Connection, prefix: str, metadata: tuple[str, ...], fmt: str | None) -> None:
    """List the secrets under PREFIX (every page), without their values."""
    filters = pairs(metadata, "--metadata") if metadata else None
    items = [as_dict(info) for info in conn.client().kv.iter(prefix, metadata=filters)]
    emit(
        items,
        fmt,
        value=lambda d: [item["path"] for item in d],
        table=lambda d: [
            Section(
                "",
                ["Path", "Version", "Updated", "Expires", "Metadata"],
                [
                    [i["path"], i["version"], i["updated_at"], i["expires_at"], i["metadata"]]
                    for i in d
                ],
            )
        ],
    )


@kv.command("versions")
@click.argument("path")
@format_option
@pass_connection
def versions(conn: Connection, path: str, fmt: str | None) -> None:
    """The versions of a secret, newest first (no values)."""
    items = [as_dict(v) for v in conn.client().kv.versions(path)]
    emit(items, fmt, value=lambda d: [item["version"] for item in d])


@kv.command("delete")
@click.argument("path")
@format_option
@pass_connection
def delete(conn: Connection, path: str, fmt: str | None) -> None:
    """Delete a secret (soft): unreadable at once, restorable with `kv undelete`."""
    state = conn.client().kv.delete(path)
    conn.remember_deleted(state.path, state.id)
    emit(as_dict(state), fmt, value=lambda d: d["id"])


def _client_with_deleted(conn: Connection) -> Any:
    client = conn.client()
    client.kv.deleted.update(conn.deleted())
    return client


@kv.command("undelete")
@click.argument("path")
@click.option(
    "--versions",
    "versions_text",
    metavar="N,N",
    help="Accepted as in Vault; strongroom deletes and restores a secret as a whole, with "
    "every version that was not destroyed.",
)
@format_option
@pass_connection
def undelete(conn: Connection, path: str, versions_text: str | None, fmt: str | None) -> None:
    """Restore a deleted secret (deleted from this machine, or give its id)."""
    versions_list(versions_text)
    state = _client_with_deleted(conn).kv.undelete(path)
    emit(as_dict(state), fmt, value=lambda d: d["version"])


@kv.command("destroy")
@click.argument("path")
@click.option("--versions", "versions_text", metavar="N,N", help="Versions to wipe for good.")
@click.option("--all", "every", is_flag=True, help="Wipe every version: the secret is gone.")
@format_option
@pass_connection
def destroy(
    conn: Connection, path: str, versions_text: str | None, every: bool, fmt: str | None
) -> None:
    """Wipe versions of a secret for good (their values cannot be recovered)."""
    chosen_versions = versions_list(versions_text)
    if (chosen_versions is None) != every:
        raise click.UsageError("give --versions N,N or --all")
    state = _client_with_deleted(conn).kv.destroy(path, chosen_versions)
    emit(as_dict(state), fmt, value=lambda d: d["destroyed_versions"])


@kv.command("mv")
@click.argument("source")
@click.argument("destination")
@format_option
@pass_connection
def mv(conn: Connection, source: str, destination: str, fmt: str | None) -> None:
    """Move (rename) a secret, keeping its id, versions, metadata and expiry. A SOURCE ending
    in '/' moves every secret under that prefix to the prefix DESTINATION, all or nothing.
    No value is read or printed."""
    prefix = source.endswith("/")
    if prefix and not destination.endswith("/"):
        raise click.UsageError(
            "a prefix (SOURCE ending in '/') moves to a prefix: end DESTINATION with '/'"
        )
    moved = conn.client().kv.move(source, destination, prefix=prefix)
    emit(
        moved,
        fmt,
        value=lambda d: [f"{item['from']} -> {item['to']}" for item in d],
        table=lambda d: [
            Section("", ["From", "To", "Id"], [[i["from"], i["to"], i["id"]] for i in d])
        ],
    )


@kv.group("metadata")
def metadata_group() -> None:
    """A secret's metadata, version and times (never its value)."""


@metadata_group.command("get")
@click.argument("path")
@format_option
@pass_connection
def metadata_get(conn: Connection, path: str, fmt: str | None) -> None:
    """Show a secret without its value: version, metadata, times, reads."""
    info = as_dict(conn.client().kv.metadata(path))
    emit(info, fmt, value=lambda d: d["metadata"])


@kv.command("export")
@click.argument("prefix")
@click.option(
    "--to", "file", required=True, type=click.Path(dir_okay=False, path_type=Path), help="File."
)
@click.option(
    "--recipient",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    help="Encrypt to this X25519 public key (a .pub file of `kv keygen`), not a passphrase.",
)
@passphrase_option
@pass_connection
def export(
    conn: Connection,
    prefix: str,
    file: Path,
    recipient: Path | None,
    passphrase_file: Path | None,
) -> None:
    """Export every live secret under PREFIX (each readable version, metadata, expiry) to an
    encrypted FILE, for `kv import` on this or another server. Secrets limited by max_reads
    are left out (reading them would spend their reads)."""
    from strongroom_client.portable import export_secrets, load_recipient

    key, phrase = _key_or_passphrase(
        recipient, "--recipient", load_recipient, passphrase_file, confirm=True
    )
    client = conn.client()
    partial = file.with_name(file.name + ".partial")
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with _bar("secrets", 0) as bar, os.fdopen(fd, "wb") as out:
        try:
            counts = export_secrets(client, prefix, out, phrase, recipient=key, progress=bar.update)
        except BaseException:
            partial.unlink(missing_ok=True)
            raise
    partial.replace(file)
    click.echo(
        f"exported {counts.exported} secrets ({counts.versions} versions) to {file}"
        + (f"; left out {counts.skipped} limited by max_reads" if counts.skipped else ""),
        err=True,
    )


@kv.command("import")
@click.argument("file", required=False, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--prefix", "new_prefix", help="Put the secrets under this prefix instead.")
@click.option(
    "--conflict",
    type=click.Choice(["skip", "overwrite", "new-version"]),
    default="skip",
    show_default=True,
    help="A live secret at a target path: leave it, replace it (the old one is soft-deleted) "
    "or add the imported versions to it.",
)
@click.option("--from-vault", "vault_addr", metavar="ADDR", help="Read a Vault/OpenBao KV v2.")
@click.option("--vault-token", envvar="VAULT_TOKEN", help="Vault token (or VAULT_TOKEN).")
@click.option("--vault-cacert", envvar="VAULT_CACERT", help="CA file for Vault's TLS.")
@click.option("--mount", default="secret", show_default=True, help="The Vault KV v2 mount.")
@click.option("--path", "vault_path", default="", help="Only the secrets under this Vault path.")
@click.option(
    "--identity",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    help="The private key (of `kv keygen`) of a FILE exported to its --recipient.",
)
@passphrase_option
@format_option
@pass_connection
def import_(
    conn: Connection,
    file: Path | None,
    new_prefix: str | None,
    conflict: str,
    vault_addr: str | None,
    vault_token: str | None,
    vault_cacert: str | None,
    mount: str,
    vault_path: str,
    identity: Path | None,
    passphrase_file: Path | None,
    fmt: str | None,
) -> None:
    """Import an export FILE, or with --from-vault ADDR a Vault or OpenBao KV v2 mount (every
    version that is not deleted or destroyed, custom_metadata as metadata), through the API:
    versions in order, metadata and remaining lifetime kept. Prints the counts."""
    import httpx

    from strongroom_client.archive import ArchiveError
    from strongroom_client.portable import (
        ImportStopped,
        VaultError,
        import_file,
        import_secrets,
        load_identity,
        vault_client,
        vault_records,
    )

    policy: Any = conflict
    if (file is None) == (vault_addr is None):
        raise click.UsageError("give FILE or --from-vault ADDR, one of the two")
    if file is not None:
        if not file.is_file():
            raise click.UsageError(f"no file {str(file)!r}")
        key, phrase = _key_or_passphrase(
            identity, "--identity", load_identity, passphrase_file, confirm=False
        )
        client = conn.client()
        with _bar("secrets", 0) as bar, file.open("rb") as source:
            try:
                counts = import_file(
                    client,
                    source,
                    phrase,
                    identity=key,
                    new_prefix=new_prefix,
                    conflict=policy,
                    progress=bar.update,
                )
            except (ArchiveError, ImportStopped) as exc:
                raise Failure(str(exc)) from None
    else:
        if not vault_token:
            raise click.UsageError("--from-vault needs --vault-token or VAULT_TOKEN")
        client = conn.client()
        with (
            _bar("secrets", 0) as bar,
            vault_client(vault_addr or "", vault_token, vault_cacert) as http,
        ):
            try:
                counts = import_secrets(
                    client,
                    vault_records(http, mount, vault_path),
                    old_prefix=vault_path.strip("/") + "/" if vault_path.strip("/") else "",
                    new_prefix=new_prefix,
                    conflict=policy,
                    progress=bar.update,
                )
            except (VaultError, httpx.HTTPError) as exc:
                raise Failure(f"reading Vault failed: {exc}") from None
            except ImportStopped as exc:
                raise Failure(str(exc)) from None
    emit(
        counts.as_dict(),
        fmt,
        value=lambda d: " ".join(f"{k}={v}" for k, v in d.items()),
    )


@kv.command("keygen")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
def keygen(file: Path) -> None:
    """Make an X25519 key pair for exports: the identity (private) in FILE, mode 0600, and
    the recipient (public) in FILE.pub, to give to whoever runs `kv export --recipient`."""
    from strongroom_client.portable import new_identity

    private, public = new_identity()
    fd = os.open(file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(private)
    file.with_name(file.name + ".pub").write_bytes(public)
    click.echo(f"identity in {file}, recipient in {file}.pub", err=True)


def _bar(label: str, length: int) -> Any:
    """A progress bar on stderr when it is a terminal."""
    if sys.stderr.isatty():
        return click.progressbar(
            length=length, label=label, file=sys.stderr, show_eta=False, show_percent=False
        )
    return _Silent()


__all__ = ["USAGE", "kv"]
