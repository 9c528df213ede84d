"""The hash chain of an audit log file.

Each line of the file is one record, a JSON object with three chain members:

    seq   1, 2, 3, ... in file order
    prev  the `hash` of the previous line's record (64 zeros for the first record)
    hash  hex HMAC-SHA256, under the keyring's `audit_chain` key, of
          prev (64 ASCII hex characters)  +  canonical JSON of the record without `hash`

Canonical JSON is orjson's compact encoding with keys sorted (recursively), UTF-8, no
whitespace; strings keep JSON's escaping, so control characters and newlines never leave
the line. The line as written is that canonical encoding with `,"hash":"<hex>"` appended
as the last member, then `\\n`: writing costs one encoding and one HMAC, and the verifier
recomputes the same bytes from the parsed line.

Editing a record breaks its hash; deleting, inserting or swapping records breaks the `prev`
link (and `seq`) of the next one. The links are keyed: whoever can write the file but does not
hold the keyring cannot recompute them after a change, so a rewritten chain is refused.
Removing records from the end cannot be seen from the file alone: the writers keep the last
(seq, hash) in the database (`audit_checkpoints`), and `strongroom audit verify` compares.
(Without a key, `mac=None`, the links are plain SHA-256: only for tools and tests.)
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import orjson

from strongroom.audit.record import dump

GENESIS = "0" * 64
_FIRST_READ = 4096
# How far back from the end to look for the last intact record before starting afresh.
_MAX_TAIL_SCAN = 4 * 1024 * 1024


@dataclass(slots=True)  # built per request: a frozen __init__ costs 8x; never mutated
class ChainHead:
    """The last record of a chain: the next one gets `seq + 1` and `prev = hash`."""

    seq: int
    hash: str


START = ChainHead(0, GENESIS)


# The keyed hash of the chain: hex HMAC-SHA256 of its input under the `audit_chain` key.
Mac = Callable[[bytes], str]


def record_hash(prev: str, canonical: bytes, mac: Mac | None = None) -> str:
    data = prev.encode("ascii") + canonical
    return mac(data) if mac is not None else hashlib.sha256(data).hexdigest()


def chained_line(
    record: Mapping[str, Any], head: ChainHead, mac: Mac | None = None
) -> tuple[bytes, ChainHead]:
    """The file line of `record` following `head`, and the new head."""
    seq = head.seq + 1
    canonical = dump({**record, "seq": seq, "prev": head.hash}, sort_keys=True)
    digest = record_hash(head.hash, canonical, mac)
    line = b"".join((canonical[:-1], b',"hash":"', digest.encode("ascii"), b'"}\n'))
    return line, ChainHead(seq, digest)


def parse_line(line: bytes) -> dict[str, Any] | None:
    """A line as a JSON object, or None if it is not one."""
    try:
        value = orjson.loads(line)
    except orjson.JSONDecodeError:
        return None
    return value if isinstance(value, dict) else None


def head_of(record: Mapping[str, Any]) -> ChainHead | None:
    """The chain position a parsed record claims, or None if it has no valid chain members."""
    seq, digest = record.get("seq"), record.get("hash")
    if type(seq) is not int or seq < 1 or not isinstance(digest, str) or len(digest) != 64:
        return None
    return ChainHead(seq, digest)


@dataclass(frozen=True, slots=True)
class Tail:
    """What an appender needs to know about the end of a file."""

    head: ChainHead
    # The file does not end with a newline (a write was cut short by a crash): the next
    # record must start on a line of its own, leaving the broken line for `verify` to report.
    needs_newline: bool


def read_tail(fd: int, size: int) -> Tail:
    """The last intact record of the file open at `fd` (`size` bytes), read backwards."""
    if size == 0:
        return Tail(START, False)
    needs_newline = os.pread(fd, 1, size - 1) != b"\n"
    pos, pending, block = size, b"", _FIRST_READ
    while pos > 0 and size - pos < _MAX_TAIL_SCAN:
        start = max(0, pos - block)
        pending = os.pread(fd, pos - start, start) + pending
        pos, block = start, block * 2
        lines = pending.split(b"\n")
        # The last piece follows the last newline (empty, or a broken write); the first is
        # a whole line only at the start of the file.
        complete = lines[:-1] if pos == 0 else lines[1:-1]
        for line in reversed(complete):
            record = parse_line(line)
            head = head_of(record) if record is not None else None
            if head is not None:
                return Tail(head, needs_newline)
        if len(lines) > 1:  # keep the unread start of the first line, with its newline
            pending = lines[0] + b"\n"
    return Tail(START, needs_newline)
