"""A clock the test moves by hand, for the emulator's time-driven state.

The emulated gateway reads time only through ``Gateway.clock`` (queued messages are sent,
retried or failed, and tokens expire, lazily from that clock). Setting it to a
`ManualClock` makes "0.3 s later" an assignment instead of a sleep: no test then waits,
or flakes, on a busy machine.
"""

from __future__ import annotations

import time


class ManualClock:
    """``time.time``-like; starts at the real time, moves only by `advance`."""

    def __init__(self, start: float | None = None) -> None:
        self.now = time.time() if start is None else start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        """Move the clock ``seconds`` forward."""
        self.now += seconds
