"""The hash chain and the file sink: definition, resume, several writers, damaged tails."""

from __future__ import annotations

import hashlib
import json
import multiprocessing
from collections.abc import Callable
from pathlib import Path

import pytest

from strongroom.audit.chain import GENESIS
from strongroom.audit.sinks import FileSink
from strongroom.audit.verify import verify_file
from tests.audit.helpers import (
    break_with_directory,
    break_with_full_disk,
    read_records,
    repair_directory,
    repair_full_disk,
)
from tests.audit.workers import append_many, append_over_size_limit


def test_hash_is_sha256_of_prev_and_canonical_json(tmp_path: Path) -> None:
    path = tmp_path / "audit.log"
    sink = FileSink(path)
    sink.append({"type": "test", "user": "zoë", "note": "tab\there"})
    sink.append({"type": "test", "b": 2, "a": 1})
    first, second = read_records(path)
    assert (first["seq"], first["prev"]) == (1, GENESIS)
    assert (second["seq"], second["prev"]) == (2, first["hash"])
    for record in (first, second):
        claimed = record.pop("hash")
        # The documented definition, computed with the standard library instead of orjson.
        canonical = json.dumps(record, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        digest = hashlib.sha256(record["prev"].encode() + canonical.encode()).hexdigest()
        assert claimed == digest


def test_chain_resumes_after_a_restart(tmp_path: Path) -> None:
    path = tmp_path / "audit.log"
    before = FileSink(path)
    for n in range(3):
        before.append({"type": "test", "n": n, "filler": "y" * 10_000})
    # A new process: nothing cached, records bigger than the first tail read.
    after = FileSink(path)
    after.append({"type": "test", "n": 3})
    records = read_records(path)
    assert [r["seq"] for r in records] == [1, 2, 3, 4]
    assert records[3]["prev"] == records[2]["hash"]
    assert verify_file(path).records == 4
    assert verify_file(path).ok


def test_two_writers_of_one_file_keep_one_chain(tmp_path: Path) -> None:
    path = tmp_path / "audit.log"
    first, second = FileSink(path), FileSink(path)
    for n in range(10):
        (first if n % 3 else second).append({"type": "test", "n": n})
    verdict = verify_file(path)
    assert verdict.ok, verdict.problem
    assert verdict.records == 10
    assert [r["n"] for r in read_records(path)] == list(range(10))


def test_concurrent_appends_from_several_processes(tmp_path: Path) -> None:
    path = tmp_path / "audit.log"
    workers, each = 4, 500
    spawn = multiprocessing.get_context("spawn")
    start = spawn.Barrier(workers)
    processes = [
        spawn.Process(target=append_many, args=(str(path), w, each, start)) for w in range(workers)
    ]
    for process in processes:
        process.start()
    for process in processes:
        process.join(120)
        assert process.exitcode == 0
    verdict = verify_file(path)
    assert verdict.ok, verdict.problem
    assert verdict.records == workers * each
    records = read_records(path)
    for worker in range(workers):
        assert [r["n"] for r in records if r["worker"] == worker] == list(range(each))


def test_short_write_is_cut_back_off(tmp_path: Path) -> None:
    path = tmp_path / "audit.log"
    sink = FileSink(path)
    sink.append({"type": "test", "n": 0})
    size = path.stat().st_size
    with multiprocessing.get_context("spawn").Pool(1) as pool:
        outcome = pool.apply(append_over_size_limit, (str(path), 40))
    assert outcome.startswith("OSError")
    assert path.stat().st_size == size  # no half record left behind
    sink.append({"type": "test", "n": 1})
    verdict = verify_file(path)
    assert verdict.ok, verdict.problem
    assert verdict.records == 2


@pytest.mark.parametrize(
    ("breaks", "repairs", "error"),
    [
        (break_with_full_disk, repair_full_disk, "No space left"),
        (break_with_directory, repair_directory, "Is a directory"),
    ],
)
def test_broken_path_fails_at_the_next_record_and_recovers(
    tmp_path: Path,
    breaks: Callable[[Path], Path],
    repairs: Callable[[Path, Path], None],
    error: str,
) -> None:
    path = tmp_path / "audit.log"
    sink = FileSink(path)
    sink.append({"type": "test", "n": 0})
    saved = breaks(path)
    with pytest.raises(OSError, match=error):
        sink.append({"type": "test", "n": 1})
    repairs(path, saved)
    sink.append({"type": "test", "n": 2})
    verdict = verify_file(path)
    assert verdict.ok, verdict.problem
    assert [r["n"] for r in read_records(path)] == [0, 2]


def test_a_torn_last_line_is_left_for_verify_and_the_chain_continues(tmp_path: Path) -> None:
    path = tmp_path / "audit.log"
    sink = FileSink(path)
    for n in range(3):
        sink.append({"type": "test", "n": n})
    with path.open("ab") as handle:
        handle.write(b'{"type":"test","n":')  # a writer died mid-record
    FileSink(path).append({"type": "test", "n": 3})
    lines = path.read_bytes().splitlines()
    assert len(lines) == 5
    assert lines[3] == b'{"type":"test","n":'
    last = json.loads(lines[4])
    assert last["seq"] == 4
    assert last["prev"] == json.loads(lines[2])["hash"]
    verdict = verify_file(path)
    assert verdict.problem is not None
    assert verdict.problem.startswith("record 4 (line 4): not a JSON object")
