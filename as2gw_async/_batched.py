"""Share worker-thread calls between tasks: `Batcher` runs queued items in batches.

A worker-thread round trip can cost more than the work it carries: on the 2-CPU benchmark
machine an empty ``anyio.to_thread.run_sync`` took ~0.4 ms while the event loop was busy,
more than writing, fsyncing and renaming a 32 KiB file. A `Batcher` queues each item, and a
waiting task that finds fewer than ``max_running`` batches in flight takes every item queued
at that moment into one thread call. With 16 downloads finishing together, 16 files cost a
few round trips instead of 16, and the batch function can share work between its items
(one directory fsync for many renames).

Cancellation: an item still in the queue is dropped (it never runs). Once its batch has
started, it runs to the end and the cancellation is raised after it, so a file written by it
is complete, never half there.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Generic, TypeVar

import anyio
import anyio.lowlevel
import anyio.to_thread

__all__ = ["Batcher"]

I = TypeVar("I")  # noqa: E741
R = TypeVar("R")


class _Entry(Generic[I, R]):
    __slots__ = ("done", "item", "outcome", "taken", "wake")

    def __init__(self, item: I) -> None:
        self.item = item
        self.outcome: R | BaseException | None = None
        self.taken = False  # in a batch that has started
        self.done = False
        self.wake = anyio.Event()


class _Queue(Generic[I, R]):
    """One event loop's queue: the waiting entries and the number of batches running."""

    def __init__(self) -> None:
        self.pending: list[_Entry[I, R]] = []
        self.running = 0


class Batcher(Generic[I, R]):
    """Run ``run_batch(items)`` in a worker thread for items submitted by many tasks.

    *run_batch* gets a list of items and returns one outcome per item, in order: a result,
    or the exception to raise in the task that submitted it. It must not raise itself.
    At most *max_running* batches run at once per event loop. One is the default because it
    was fastest in every measurement (tmpfs and ext4 on the benchmark machine, 16 and 64
    downloads at once): the bigger the batches, the fewer round trips, and while a batch
    runs the next one fills up.
    """

    def __init__(
        self,
        run_batch: Callable[[list[I]], Sequence[R | BaseException]],
        *,
        max_running: int = 1,
        name: str = "as2gw_async.batcher",
    ) -> None:
        self._run_batch = run_batch
        self.max_running = max_running
        self._queues: anyio.lowlevel.RunVar[_Queue[I, R]] = anyio.lowlevel.RunVar(name)

    async def submit(self, item: I) -> R:
        """Queue *item*, wait for its batch, and return its result (or raise its error)."""
        await anyio.lowlevel.checkpoint_if_cancelled()
        try:
            queue = self._queues.get()
        except LookupError:
            queue = _Queue()
            self._queues.set(queue)
        entry: _Entry[I, R] = _Entry(item)
        queue.pending.append(entry)
        while not entry.done:
            if not entry.taken and queue.running < self.max_running:
                await self._run(queue)
                continue
            try:
                await entry.wake.wait()
            except BaseException:
                if not entry.taken:  # not started: drop it
                    queue.pending.remove(entry)
                    _hand_over(queue, self.max_running)
                    raise
                with anyio.CancelScope(shield=True):  # started: wait for its outcome
                    while not entry.done:
                        entry.wake = anyio.Event()
                        await entry.wake.wait()
                raise
            entry.wake = anyio.Event()
        await anyio.lowlevel.checkpoint_if_cancelled()  # cancelled while its batch ran
        if isinstance(entry.outcome, BaseException):
            raise entry.outcome
        return entry.outcome  # type: ignore[return-value]

    async def _run(self, queue: _Queue[I, R]) -> None:
        batch, queue.pending = queue.pending, []
        for entry in batch:
            entry.taken = True
        queue.running += 1
        try:
            with anyio.CancelScope(shield=True):
                outcomes = await anyio.to_thread.run_sync(
                    self._run_batch, [entry.item for entry in batch]
                )
            for entry, outcome in zip(batch, outcomes, strict=True):
                entry.outcome = outcome
        except BaseException as exc:  # a broken run_batch: every item gets the error
            for entry in batch:
                entry.outcome = exc
            raise
        finally:
            queue.running -= 1
            for entry in batch:
                entry.done = True
                entry.wake.set()
            _hand_over(queue, self.max_running)


def _hand_over(queue: _Queue[I, R], max_running: int) -> None:
    """Wake the oldest waiting task, so that it runs the next batch."""
    if queue.pending and queue.running < max_running:
        queue.pending[0].wake.set()
