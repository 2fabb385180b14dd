"""A client-side limit on requests per time window, shared by all tasks of a session.

The real gateway allows 50 requests per 10 seconds per account and answers 429 beyond
that. Pacing ourselves keeps high-concurrency work steady instead of collecting 429s.
"""

from __future__ import annotations

import collections

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
    """A sliding-window limiter: waiters are served first come, first served."""

    def __init__(self, limit: RateLimit) -> None:
        self.limit = limit
        self._starts: collections.deque[float] = collections.deque(maxlen=limit.requests)
        self._lock = anyio.Lock()

    async def acquire(self) -> None:
        """Wait until one more request fits in the window, and count it."""
        async with self._lock:
            if len(self._starts) == self.limit.requests:
                wait = self._starts[0] + self.limit.period - anyio.current_time()
                if wait > 0:
                    await anyio.sleep(wait)
            self._starts.append(anyio.current_time())
