"""`strongroom audit verify FILE...`: check the keyed hash chain of an audit log.

Every line must be a JSON object whose `hash` is right for its content and its `prev` (HMAC
under the keyring's `audit_chain` key), whose `prev` is the hash of the line before and whose
`seq` is one more than the line before; every file must end with a newline. Several files (a
log and its rotated files, in any order, or a glob) are one chain: ordered by their first
`seq`, each file's first record follows the last record of the file before. The set may start
past seq 1 when the oldest rotated files were deleted; it is reported.

The key is the node's: the command reads the configuration like `strongroom server` does
(`--data-dir` / `STRONGROOM_DATA_DIR`, `--config`, the seal: key file or STRONGROOM_ROOT_KEY),
opens the database and unwraps the keyring without changing anything. The database also holds
the chain's checkpoint (the last seq and hash its writers stored): a log that ends before it,
or holds another record at that seq, was truncated or rewritten.

The first line that breaks a rule is named: `FILE: record N (line N): <what is wrong>`.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import glob
import hmac
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from strongroom.audit.chain import (
    START,
    ChainHead,
    Mac,
    head_of,
    parse_line,
    record_hash,
)
from strongroom.audit.record import dump

if TYPE_CHECKING:
    from strongroom.config import Config
    from strongroom.crypto import RootKey
    from strongroom.db import Database


@dataclass(frozen=True, slots=True)
class Verdict:
    """`records` intact records; `problem` names the first bad one (None if all are intact)."""

    records: int
    problem: str | None = None
    first_seq: int = 1
    last: ChainHead = field(default_factory=lambda: START)
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.problem is None


def check_line(
    raw: bytes, previous: ChainHead | None, mac: Mac | None = None
) -> tuple[ChainHead | None, str | None]:
    """The chain head after `raw`, or None and what is wrong with it. `previous` None: the
    first record of a set whose earlier files are gone (its `prev` cannot be checked)."""
    if not raw.endswith(b"\n"):
        if parse_line(raw) is None:
            return None, "truncated: the file ends in the middle of a record"
        return None, "truncated: the last record has no line end"
    record = parse_line(raw)
    if record is None:
        return None, "not a JSON object (damaged or inserted line)"
    claimed = head_of(record)
    prev = record.get("prev")
    if claimed is None or not isinstance(prev, str) or len(prev) != 64 or not prev.isascii():
        return None, "no valid seq / prev / hash members"
    del record["hash"]
    if record_hash(prev, dump(record, sort_keys=True), mac) != claimed.hash:
        return None, (
            "hash mismatch: the record was modified, or written under another key"
            if mac is not None
            else "hash mismatch: the record was modified"
        )
    if previous is None:
        return claimed, None
    if prev != previous.hash:
        return None, (
            f"prev does not match the hash of the record before (seq {previous.seq}): "
            "records were deleted, inserted or reordered"
        )
    if claimed.seq != previous.seq + 1:
        return None, f"seq is {claimed.seq}, expected {previous.seq + 1}"
    return claimed, None


def _first_seq(path: Path) -> int:
    with path.open("rb") as handle:
        record = parse_line(handle.readline())
    head = head_of(record) if record is not None else None
    return head.seq if head is not None else 0


def verify_files(
    paths: Sequence[Path],
    mac: Mac | None = None,
    checkpoint: tuple[int, str] | None = None,
) -> Verdict:
    """Check a set of files as one chain (streaming); raises OSError if one cannot be read."""
    ordered = sorted(paths, key=_first_seq) if len(paths) > 1 else list(paths)
    head: ChainHead | None = START
    count, first_seq, notes = 0, 1, []
    checked_checkpoint = False
    for index, path in enumerate(ordered):
        label = f"{path}: " if len(ordered) > 1 else ""
        with path.open("rb") as handle:
            for number, raw in enumerate(handle, 1):
                start_of_set = index == 0 and number == 1
                if start_of_set:
                    record = parse_line(raw)
                    claimed = head_of(record) if record is not None else None
                    if claimed is not None and claimed.seq > 1:
                        if record is None or record.get("type") != "rotation":
                            return Verdict(
                                0,
                                f"{label}record 1 (line 1): prev does not match: the log starts "
                                f"at seq {claimed.seq} with no rotation record: records were "
                                "deleted",
                            )
                        head, first_seq = None, claimed.seq  # older files were removed
                        notes.append(f"the log starts at seq {claimed.seq}: older files are gone")
                new_head, problem = check_line(raw, head, mac)
                if new_head is None:
                    return Verdict(
                        count, f"{label}record {number} (line {number}): {problem}", first_seq
                    )
                if checkpoint is not None and new_head.seq == checkpoint[0]:
                    checked_checkpoint = True
                    if not hmac.compare_digest(new_head.hash, checkpoint[1]):
                        return Verdict(
                            count,
                            f"{label}record {number} (line {number}): not the record the "
                            f"database's checkpoint names at seq {checkpoint[0]}: the log was "
                            "rewritten",
                            first_seq,
                        )
                head, count = new_head, count + 1
    last = head if head is not None else START
    if checkpoint is not None and not checked_checkpoint:
        if checkpoint[0] > last.seq:
            return Verdict(
                count,
                f"truncated: the log ends at seq {last.seq}, but the database's checkpoint "
                f"is at seq {checkpoint[0]}: records were removed from its end",
                first_seq,
                last,
            )
        notes.append(f"the database's checkpoint (seq {checkpoint[0]}) is in a removed file")
    return Verdict(count, None, first_seq, last, notes)


def verify_file(path: Path, mac: Mac | None = None) -> Verdict:
    """One file, no checkpoint (see `verify_files`)."""
    return verify_files([path], mac)


def expand(names: Sequence[Path]) -> list[Path]:
    """The files named, a name with `*`, `?` or `[` that is no file being a glob."""
    found: list[Path] = []
    for name in names:
        text = str(name)
        if not name.exists() and any(c in text for c in "*?["):
            matches = sorted(glob.glob(text))
            if not matches:
                raise FileNotFoundError(2, "no file matches", text)
            found += [Path(match) for match in matches]
        else:
            found.append(name)
    return list(dict.fromkeys(found))


class KeyNotFound(Exception):
    """The chain's key cannot be had (no database, no root key, another root key)."""


async def _root_key(config: Config, db: Database) -> RootKey:
    """The root key from the configured seal, as the node recovers it at start (read only)."""
    from sqlalchemy.exc import SQLAlchemyError

    from strongroom.seal import repository as seal_repository
    from strongroom.seal.backends import SealUnavailable, seal_for

    if config.seal.value in ("shamir", "manual"):
        raise KeyNotFound(
            f"seal={config.seal.value}: the root key exists only as key shares; give it for this "
            "check (STRONGROOM_SEAL=env STRONGROOM_ROOT_KEY=...)"
        )
    try:
        async with db.connect() as conn:
            stored = await seal_repository.load(conn)
    except (SQLAlchemyError, OSError) as exc:
        raise KeyNotFound(f"cannot read the database: {type(exc).__name__}") from None
    try:
        return seal_for(config).recover(None if stored is None else stored.wrapped_root)
    except SealUnavailable as exc:
        raise KeyNotFound(str(exc)) from None


async def _load_key(overrides: dict[str, object]) -> tuple[Mac, dict[str, tuple[int, str]]]:
    """The chain key and every checkpoint, from the node's configuration (read only)."""
    import functools

    from sqlalchemy import select
    from sqlalchemy.exc import SQLAlchemyError

    from strongroom.audit import repository
    from strongroom.barrier.models import keyring as keyring_table
    from strongroom.config import load_config
    from strongroom.crypto import DecryptionError, KeyPurpose, Keyring, WrappedKey
    from strongroom.db import Database

    known = {purpose.value for purpose in KeyPurpose}
    config_file = overrides.pop("config", None)
    config = load_config(config_file if isinstance(config_file, Path) else None, **overrides)
    if config.database_url == "" and not (config.data_dir / "strongroom.db").exists():
        raise KeyNotFound(
            f"no database in {config.data_dir}: give the node's data directory "
            "(--data-dir or STRONGROOM_DATA_DIR)"
        )
    db = Database(config.resolved_database_url, pool_size=1)
    try:
        root = await _root_key(config, db)
        try:
            async with db.connect() as conn:
                rows = await conn.execute(
                    select(
                        keyring_table.c.purpose,
                        keyring_table.c.version,
                        keyring_table.c.wrapped_key,
                    )
                )
                entries = [WrappedKey(KeyPurpose(p), v, w) for p, v, w in rows if p in known]
            checkpoints = await repository.load_checkpoints(db)
        except (SQLAlchemyError, OSError) as exc:
            raise KeyNotFound(f"cannot read the database: {type(exc).__name__}") from None
        try:
            keyring = Keyring.unwrap(root, entries)
        except DecryptionError:
            raise KeyNotFound("the root key does not open this database's keyring") from None
        if not keyring.has_purpose(KeyPurpose.audit_chain):
            raise KeyNotFound("the keyring has no audit chain key yet (start the node once)")
        return functools.partial(keyring.mac, KeyPurpose.audit_chain), checkpoints
    finally:
        await db.dispose()


def load_chain_key(overrides: dict[str, object]) -> tuple[Mac, dict[str, tuple[int, str]]]:
    """The chain key and the checkpoints of the node `overrides` configures (like the flags
    of `strongroom server`); runs its own event loop (in a thread if one is running here)."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(_load_key(dict(overrides)))
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(lambda: asyncio.run(_load_key(dict(overrides)))).result()


def _checkpoint_for(
    files: Sequence[Path], checkpoints: dict[str, tuple[int, str]]
) -> tuple[int, str] | None:
    """The checkpoint of the chain these files hold: the one named by a file's path with its
    rotation suffix (`.1`, `.2`...) removed."""
    for path in files:
        resolved = str(path.resolve())
        base, _, suffix = resolved.rpartition(".")
        for name in (resolved, base if suffix.isdigit() else None):
            if name is not None and name in checkpoints:
                return checkpoints[name]
    return None


def verify_command(
    files: Sequence[Path] | Path, key_overrides: dict[str, object] | None = None
) -> int:
    """Print `OK: N records` (exit 0) or the first bad record (exit 1); 2 if a file cannot
    be read or the chain's key cannot be found."""
    names = [files] if isinstance(files, Path) else list(files)
    try:
        paths = expand(names)
        mac, checkpoints = load_chain_key(key_overrides or {})
        checkpoint = _checkpoint_for(paths, checkpoints)
        verdict = verify_files(paths, mac, checkpoint)
    except KeyNotFound as exc:
        sys.stderr.write(f"strongroom: error: cannot find the audit chain key: {exc}\n")
        return 2
    except OSError as exc:
        where = exc.filename or ", ".join(map(str, names))
        sys.stderr.write(f"strongroom: error: cannot read {where}: {exc.strerror or exc}\n")
        return 2
    except Exception as exc:  # a configuration error from load_config
        from strongroom.config import ConfigError

        if isinstance(exc, ConfigError):
            sys.stderr.write(f"strongroom: error: {exc}\n")
            return 2
        raise
    if verdict.problem is not None:
        sys.stdout.write(f"{verdict.problem}\n")
        sys.stdout.write(f"FAILED: {verdict.records} records intact before it\n")
        return 1
    for note in verdict.notes:
        sys.stderr.write(f"note: {note}\n")
    if checkpoint is None:
        sys.stderr.write(
            "note: the database holds no checkpoint of this log: its end cannot be checked\n"
        )
    sys.stdout.write(f"OK: {verdict.records} records\n")
    return 0
