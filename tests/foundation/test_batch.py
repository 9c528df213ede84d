"""The group commit of single-row writes (db/batch.py): what waits together leaves together,
one key per batch, and each item succeeds or fails as if it had run alone.

The `run` functions here stand for the statement; the PostgreSQL statement itself is tested
through the API in tests/secrets/test_hot_path.py."""

from __future__ import annotations

import asyncio
from collections.abc import Hashable, Mapping, Sequence

import pytest

from strongroom.db.batch import Batcher
from strongroom.db.engine import DatabaseUnreachable


class Recorder:
    """A `run` that answers key -> key * 10, records each batch, and can be held or fail."""

    def __init__(self, *, refuse: set[int] | None = None, unreachable: bool = False) -> None:
        self.batches: list[list[int]] = []
        self.release = asyncio.Event()
        self.release.set()
        self.refuse = refuse or set()
        self.unreachable = unreachable

    async def __call__(self, items: Sequence[int]) -> Mapping[Hashable, int]:
        self.batches.append(list(items))
        await self.release.wait()
        if self.unreachable:
            raise DatabaseUnreachable("ConnectionRefusedError")
        if self.refuse & set(items):
            raise ValueError(f"refused {sorted(self.refuse & set(items))}")
        return {item: item * 10 for item in items if item >= 0}


def _batcher(run: Recorder, max_batch: int = 64, *, shared: bool = False) -> Batcher[int, int]:
    return Batcher(run, lambda item: abs(item), max_batch=max_batch, shared=shared)


async def test_items_that_wait_together_leave_together() -> None:
    run = Recorder()
    batcher = _batcher(run)
    run.release.clear()
    first = asyncio.ensure_future(batcher.submit(1))
    await asyncio.sleep(0)  # the first batch leaves with item 1 alone and is held
    await asyncio.sleep(0)
    waiting = [asyncio.ensure_future(batcher.submit(n)) for n in range(2, 7)]
    await asyncio.sleep(0.01)
    assert run.batches == [[1]]
    assert not any(task.done() for task in [first, *waiting])  # nothing before its statement
    run.release.set()
    assert await first == 10
    assert await asyncio.gather(*waiting) == [20, 30, 40, 50, 60]
    assert run.batches == [[1], [2, 3, 4, 5, 6]]
    assert batcher.batches == 2


async def test_a_key_missing_from_the_result_is_none() -> None:
    batcher = _batcher(Recorder())
    assert await asyncio.gather(batcher.submit(3), batcher.submit(-4)) == [30, None]


async def test_one_key_never_twice_in_a_batch_and_batches_are_bounded() -> None:
    run = Recorder()
    batcher = _batcher(run, max_batch=3)
    results = await asyncio.gather(*(batcher.submit(n) for n in (1, -1, 2, 3, 4)))
    assert results == [10, None, 20, 30, 40]
    assert run.batches == [[1, 2, 3], [-1, 4]]


async def test_a_failing_batch_is_retried_item_by_item() -> None:
    run = Recorder(refuse={3})
    batcher = _batcher(run)
    submitted = (batcher.submit(n) for n in (1, 2, 3, 4))
    outcomes = await asyncio.gather(*submitted, return_exceptions=True)
    assert outcomes[:2] == [10, 20] and outcomes[3] == 40
    assert isinstance(outcomes[2], ValueError) and "refused [3]" in str(outcomes[2])
    assert run.batches == [[1, 2, 3, 4], [1], [2], [3], [4]]


async def test_a_cancelled_caller_leaves_the_queue() -> None:
    run = Recorder()
    batcher = _batcher(run)
    run.release.clear()
    holding = asyncio.ensure_future(batcher.submit(1))
    await asyncio.sleep(0.01)
    cancelled = asyncio.ensure_future(batcher.submit(2))
    kept = asyncio.ensure_future(batcher.submit(3))
    await asyncio.sleep(0)
    cancelled.cancel()
    run.release.set()
    assert await holding == 10 and await kept == 30
    with pytest.raises(asyncio.CancelledError):
        await cancelled
    assert run.batches == [[1], [3]]


async def test_an_unreachable_database_fails_the_whole_batch_at_once() -> None:
    # Not item by item: each would wait out its own connect timeout, and a statement that may
    # have committed before the connection was lost must not run again.
    run = Recorder(unreachable=True)
    batcher = _batcher(run)
    outcomes = await asyncio.gather(*(batcher.submit(n) for n in (1, 2, 3)), return_exceptions=True)
    assert all(isinstance(outcome, DatabaseUnreachable) for outcome in outcomes)
    assert run.batches == [[1, 2, 3]]


async def test_items_whose_callers_left_are_not_retried_alone() -> None:
    run = Recorder(refuse={2})
    batcher = _batcher(run)
    run.release.clear()
    first = asyncio.ensure_future(batcher.submit(1))
    gone = asyncio.ensure_future(batcher.submit(3))
    refused = asyncio.ensure_future(batcher.submit(2))
    await asyncio.sleep(0.01)
    assert run.batches == [[1, 3, 2]]
    gone.cancel()  # after its batch left: the batch still runs, but not its retry
    await asyncio.sleep(0)
    run.release.set()
    assert await first == 10
    with pytest.raises(ValueError, match="refused"):
        await refused
    assert run.batches == [[1, 3, 2], [1], [2]]


async def test_shared_keys_share_one_slot_and_one_result() -> None:
    run = Recorder()
    batcher = _batcher(run, shared=True)
    results = await asyncio.gather(*(batcher.submit(n) for n in (5, 5, 6, 5, -6)))
    assert results == [50, 50, 60, 50, 60]  # -6 shares 6's slot (same key) and its result
    assert run.batches == [[5, 6]]


async def test_a_run_of_one_unshared_key_does_not_scan_the_whole_queue() -> None:
    run = Recorder()
    batcher = _batcher(run, max_batch=2)
    results = await asyncio.gather(*(batcher.submit(7) for _ in range(5)), batcher.submit(8))
    assert results == [70] * 5 + [80]
    assert len(run.batches) == 5  # one 7 per batch; 8 joins one of them
    assert [7, 8] in run.batches
