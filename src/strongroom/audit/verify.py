"""`strongroom audit verify FILE`: check the hash chain of an audit log file.

Every line must be a JSON object whose `hash` is right for its content and its `prev`, whose
`prev` is the hash of the line before (64 zeros for the first) and whose `seq` is one more than
the line before (1 for the first); the file must end with a newline. The first line that
breaks a rule is named: `record N (line N): <what is wrong>`. See `strongroom.audit.chain`.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

from strongroom.audit.chain import START, ChainHead, head_of, parse_line, record_hash
from strongroom.audit.record import dump


@dataclass(frozen=True, slots=True)
class Verdict:
    """`records` intact records; `problem` names the first bad one (None if all are intact)."""

    records: int
    problem: str | None = None

    @property
    def ok(self) -> bool:
        return self.problem is None


def check_line(raw: bytes, previous: ChainHead) -> tuple[ChainHead | None, str | None]:
    """The chain head after `raw`, or None and what is wrong with it."""
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
    if record_hash(prev, dump(record, sort_keys=True)) != claimed.hash:
        return None, "hash mismatch: the record was modified"
    if prev != previous.hash:
        return None, (
            f"prev does not match the hash of the record before (seq {previous.seq}): "
            "records were deleted, inserted or reordered"
        )
    if claimed.seq != previous.seq + 1:
        return None, f"seq is {claimed.seq}, expected {previous.seq + 1}"
    return claimed, None


def verify_file(path: Path) -> Verdict:
    """Check the whole file, streaming; raises OSError if it cannot be read."""
    head = START
    count = 0
    with path.open("rb") as handle:
        for number, raw in enumerate(handle, 1):
            new_head, problem = check_line(raw, head)
            if new_head is None:
                return Verdict(count, f"record {number} (line {number}): {problem}")
            head, count = new_head, number
    return Verdict(count)


def verify_command(path: Path) -> int:
    """Print `OK: N records` (exit 0) or the first bad record (exit 1); 2 if unreadable."""
    try:
        verdict = verify_file(path)
    except OSError as exc:
        sys.stderr.write(f"strongroom: error: cannot read {path}: {exc.strerror or exc}\n")
        return 2
    if verdict.problem is not None:
        sys.stdout.write(f"{verdict.problem}\n")
        sys.stdout.write(f"FAILED: {verdict.records} records intact before it\n")
        return 1
    sys.stdout.write(f"OK: {verdict.records} records\n")
    return 0
