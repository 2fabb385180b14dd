"""A client-side limit on requests per time window, shared by all tasks of a session.

The real gateway allows 50 requests per 10 seconds per account and answers 429 beyond
that. Pacing ourselves keeps high-concurrency work steady instead of collecting 429s.
"""

from __future__ import annotations

from collections.abc import Callable

import anyio
from attrs import define, field, validators

__all__ = ["RateLimit", "RateLimiter"]


@define(frozen=True)
class RateLimit:
    """At most ``requests`` requests in any ``period`` seconds."""

    requests: int = field(validator=validators.gt(0))
    period: float = field(validator=validators.gt(0))


GATEWAY_RATE_LIMIT = RateLimit(50, 10.0)


class RateLimiter:
    """A sliding-window limiter: waiters are served first come, first served.

    The gateway counts a request when it arrives: after we started it, before its answer
    came back. A request therefore holds its place in the window from its start until
    ``period`` after its answer (call the function `acquire` returns when the answer
    arrives): requests that travel at different speeds cannot bunch up at the gateway,
    provided each is answered within ``period``. Without that call a place is held for
    ``period`` from the start.
    """

    def __init__(self, limit: RateLimit) -> None:
        self.limit = limit
        # One cell a request in the window: its start, then when its answer arrived.
        self._slots: list[list[float]] = []
        self._lock = anyio.Lock()

    async def acquire(self) -> Callable[[], None]:
        """Wait until one more request fits in the window, and count it.

        Returns the function to call when the request's answer (or failure) arrives.
        """
        async with self._lock:
            while True:
                horizon = anyio.current_time() - self.limit.period
                self._slots = [slot for slot in self._slots if slot[0] > horizon]
                if len(self._slots) < self.limit.requests:
                    break
                await anyio.sleep(min(slot[0] for slot in self._slots) - horizon)
            slot = [anyio.current_time()]
            self._slots.append(slot)

        def answered() -> None:
            slot[0] = max(slot[0], anyio.current_time())

        return answered
