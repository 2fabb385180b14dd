"""An asyncio event loop with a clock the test controls: time jumps instead of passing.

Whenever every task is waiting on a timer (nothing to read, nothing ready), the loop moves
its clock straight to the next timer instead of sleeping. ``anyio.sleep``,
``anyio.current_time`` and ``asyncio`` timeouts all read this clock, so a test can assert
*exactly* when something happened ("after 10 s, not 13 s") without waiting for it, and a
busy machine cannot make it flaky. Worker threads and sockets still work: the loop only
jumps when nothing at all is ready.
"""

from __future__ import annotations

import asyncio
import selectors
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

T = TypeVar("T")


class _Clock:
    def __init__(self) -> None:
        self.now = 0.0


#: Loop iterations in a row that neither wait nor find I/O before the loop is declared stuck
#: in a busy loop (``sleep(0)`` forever): virtual time would never advance, so no timeout in
#: the test could fire, and the test would hang instead of failing.
MAX_BUSY_ITERATIONS = 200_000


class BusyLoopError(RuntimeError):
    """The code under test spun without ever waiting."""


class _JumpingSelector(selectors.DefaultSelector):  # type: ignore[misc,valid-type]
    """Polls without blocking; when nothing is ready and a timer is due, jumps to it."""

    def __init__(self, clock: _Clock) -> None:
        super().__init__()
        self._clock = clock
        self._busy = 0

    def select(self, timeout: float | None = None) -> list[Any]:
        ready: list[Any] = super().select(0)
        if ready or timeout == 0:
            self._busy = 0 if ready else self._busy + 1
            if self._busy > MAX_BUSY_ITERATIONS:
                raise BusyLoopError(f"{self._busy} loop iterations without ever waiting")
            return ready
        self._busy = 0
        if timeout is None:  # no timer at all: only I/O or another thread can wake us
            return super().select(None)  # type: ignore[no-any-return]
        self._clock.now += timeout
        return []


class VirtualTimeLoop(asyncio.SelectorEventLoop):
    """A selector event loop whose ``time()`` starts at 0 and advances only by jumps."""

    def __init__(self) -> None:
        self._virtual = _Clock()
        super().__init__(_JumpingSelector(self._virtual))

    def time(self) -> float:
        return self._virtual.now


def run_in_virtual_time(main: Callable[[], Awaitable[T]]) -> T:
    """Run ``main()`` to completion on a fresh `VirtualTimeLoop` and close it."""
    loop = VirtualTimeLoop()
    try:
        return loop.run_until_complete(main())
    finally:
        loop.run_until_complete(loop.shutdown_asyncgens())
        loop.close()
