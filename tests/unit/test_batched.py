"""`Batcher`: queued items share worker-thread calls; outcomes and cancellation per item."""

from __future__ import annotations

import threading
from collections.abc import Awaitable, Callable, Sequence

import anyio
import pytest

from as2gw_async._batched import Batcher


class Recorder:
    """A batch function that records its batches; with ``held`` each batch waits for a
    `release` before it runs."""

    def __init__(self, *, held: bool = False) -> None:
        self.batches: list[list[int]] = []
        self.ran: list[int] = []
        self._permits = threading.Semaphore(0)
        self._held = held

    def release(self) -> None:
        self._permits.release()

    async def wait_for_batches(self, count: int) -> None:
        with anyio.fail_after(60):
            while len(self.batches) < count:
                await anyio.sleep(0.005)

    def __call__(self, items: list[int]) -> Sequence[int | BaseException]:
        self.batches.append(list(items))
        if self._held:
            assert self._permits.acquire(timeout=60)
        out: list[int | BaseException] = []
        for item in items:
            self.ran.append(item)
            out.append(ValueError(f"odd {item}") if item % 2 else item * 10)
        return out


async def test_items_share_thread_calls_and_get_their_own_outcome() -> None:
    rec = Recorder()
    batcher: Batcher[int, int] = Batcher(rec)
    results: dict[int, int | str] = {}

    async def one(n: int) -> None:
        try:
            results[n] = await batcher.submit(n)
        except ValueError as exc:
            results[n] = str(exc)

    async with anyio.create_task_group() as tg:
        for n in range(100):
            tg.start_soon(one, n)

    assert results == {n: (f"odd {n}" if n % 2 else n * 10) for n in range(100)}
    assert sorted(rec.ran) == list(range(100))  # each item ran exactly once
    assert len(rec.batches) < 100  # and they shared thread calls
    assert max(len(b) for b in rec.batches) > 1


async def test_a_queued_item_cancelled_never_runs_and_the_queue_goes_on() -> None:
    rec = Recorder(held=True)
    batcher: Batcher[int, int] = Batcher(rec)
    got: dict[str, int] = {}

    async def first() -> None:
        got["first"] = await batcher.submit(0)

    with anyio.fail_after(60):  # a regression must fail, not hang
        async with anyio.create_task_group() as tg:
            tg.start_soon(first)
            await rec.wait_for_batches(1)  # batch [0] is running (held)
            with anyio.CancelScope() as scope:
                tg.start_soon(_cancel_soon, scope)
                await batcher.submit(2)  # queued behind it, then cancelled
            assert scope.cancelled_caught
            rec.release()
    assert got == {"first": 0}
    rec.release()
    assert await batcher.submit(4) == 40  # the queue was handed over, not stuck
    assert rec.ran == [0, 4]


async def _cancel_soon(scope: anyio.CancelScope) -> None:
    await anyio.wait_all_tasks_blocked()  # the submit below is queued
    scope.cancel()


async def test_a_started_item_finishes_before_the_cancellation_is_raised() -> None:
    """Both for the task that runs the batch and for one whose item another task took."""
    rec = Recorder(held=True)
    batcher: Batcher[int, int] = Batcher(rec)
    outcome: dict[int, str] = {}

    async def submit(n: int, scope: anyio.CancelScope) -> None:
        with scope:
            outcome[n] = f"returned {await batcher.submit(n)}"
        if scope.cancelled_caught:
            outcome[n] = "cancelled"

    scopes = {n: anyio.CancelScope() for n in (0, 2, 4)}
    with anyio.fail_after(60):  # a regression must fail, not hang
        await _two_batches(rec, submit, scopes)
    assert rec.ran == [0, 2, 4]  # every started item ran to the end
    assert outcome == {0: "cancelled", 2: "returned 20", 4: "cancelled"}


async def _two_batches(
    rec: Recorder,
    submit: Callable[[int, anyio.CancelScope], Awaitable[None]],
    scopes: dict[int, anyio.CancelScope],
) -> None:
    async with anyio.create_task_group() as tg:
        tg.start_soon(submit, 0, scopes[0])
        await rec.wait_for_batches(1)  # [0] runs, held
        tg.start_soon(submit, 2, scopes[2])
        tg.start_soon(submit, 4, scopes[4])
        await anyio.wait_all_tasks_blocked()  # both queued
        scopes[0].cancel()  # the task running batch [0]
        rec.release()
        await rec.wait_for_batches(2)  # the task of 2 now runs [2, 4], held
        assert rec.batches[1] == [2, 4]
        scopes[4].cancel()  # 4 is in a running batch that another task runs
        await anyio.wait_all_tasks_blocked()  # the cancellation has reached it
        rec.release()


async def test_cancelled_before_submitting_runs_nothing() -> None:
    rec = Recorder()
    batcher: Batcher[int, int] = Batcher(rec)
    with anyio.CancelScope() as scope:
        scope.cancel()
        await batcher.submit(8)
    assert rec.batches == []


async def test_a_broken_batch_function_fails_every_item_of_the_batch() -> None:
    def broken(items: list[int]) -> Sequence[int]:
        raise RuntimeError("boom")

    batcher: Batcher[int, int] = Batcher(broken)
    with pytest.raises(RuntimeError, match="boom"):
        await batcher.submit(1)
    with pytest.raises(RuntimeError, match="boom"):  # and the next call is not stuck
        await batcher.submit(2)


def test_on_trio() -> None:
    pytest.importorskip("trio")
    rec = Recorder()
    batcher: Batcher[int, int] = Batcher(rec)

    async def main() -> list[int]:
        out: list[int] = []

        async def one(n: int) -> None:
            out.append(await batcher.submit(n))

        async with anyio.create_task_group() as tg:
            for n in range(0, 40, 2):
                tg.start_soon(one, n)
        return sorted(out)

    assert anyio.run(main, backend="trio") == [n * 10 for n in range(0, 40, 2)]
