"""When to look again while waiting for a sent message to settle (any gateway).

The first look comes after ``initial_delay`` (default ``2.5 * poll_interval``, at most
5 s, as the v1 spec advises), later ones further and further apart (x1.5 each time) up to
15 s, or ``poll_interval`` when that is larger. ``timeout`` is checked between looks.
"""

from __future__ import annotations

import anyio

__all__ = ["MAX_POLL_INTERVAL", "POLL_BACKOFF", "PollSchedule"]

#: Polls grow by this factor each time, up to `MAX_POLL_INTERVAL` (or poll_interval if more).
POLL_BACKOFF = 1.5
MAX_POLL_INTERVAL = 15.0


class PollSchedule:
    """The waits of one ``wait_for_delivery``: ``await first()``, then ``await next()``
    after each look until it returns False (``timeout`` has passed)."""

    def __init__(self, *, timeout: float, poll_interval: float, initial_delay: float | None):
        if timeout < 0:
            raise ValueError(f"timeout must be 0 or more seconds, not {timeout}")
        if poll_interval <= 0:
            raise ValueError(f"poll_interval must be more than 0 seconds, not {poll_interval}")
        if initial_delay is None:
            initial_delay = min(5.0, 2.5 * poll_interval)
        elif initial_delay < 0:
            raise ValueError(f"initial_delay must be 0 or more seconds, not {initial_delay}")
        self.timeout = timeout
        self._initial = initial_delay
        self._interval = poll_interval
        self._max = max(poll_interval, MAX_POLL_INTERVAL)
        self._deadline = 0.0

    async def first(self) -> None:
        """Start the clock and wait for the first look."""
        self._deadline = anyio.current_time() + self.timeout
        await anyio.sleep(min(self._initial, self.timeout))

    async def next(self) -> bool:
        """Wait for the next look; False (at once) when ``timeout`` has passed."""
        remaining = self._deadline - anyio.current_time()
        if remaining <= 0:
            return False
        await anyio.sleep(min(self._interval, remaining))
        self._interval = min(self._interval * POLL_BACKOFF, self._max)
        return True
