"""Scripted misbehaviour of the ECGrid emulator: the next K calls of a route fail in a chosen way.

Every fault is queued for a *route* (``"parcels/download"``, ``"auth/login"``, ... or ``"*"``
for any route; :data:`ROUTES` lists them) and used up by the next matching call:

``status``     answer HTTP 500 / 503 (or any status) with ``success: false`` and an errorCode,
               before the call is processed (no state changes)
``rate_limit`` answer 429 ``RateLimitExceeded`` with ``Retry-After: <seconds>``, unprocessed
``envelope``   answer HTTP **200** with ``success: false`` and the given errorCode, unprocessed
``reset``      process the call (a download is counted), send the headers and a part of the
               body, then drop the connection
``mismatch``   a download whose ``bytes`` disagrees with its content (by ``delta``)
``latency``    sleep that many seconds, then answer normally
"""

from __future__ import annotations

import threading
from collections import deque
from dataclasses import dataclass

__all__ = ["FAULT_KINDS", "Fault", "FaultQueue"]

FAULT_KINDS: tuple[str, ...] = ("status", "rate_limit", "envelope", "reset", "mismatch", "latency")


@dataclass(frozen=True)
class Fault:
    """One queued fault: its kind, the route it waits for and its parameters."""

    kind: str
    route: str = "*"
    status: int = 500
    error_code: str = "InternalError"
    message: str = ""
    retry_after: float = 1.0
    fraction: float = 0.5
    delta: int = 1
    seconds: float = 0.0


class FaultQueue:
    """Faults waiting for their calls, in order, used up one a matching call; thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._queue: deque[Fault] = deque()

    def add(self, fault: Fault, count: int = 1) -> None:
        """Queue ``fault`` for the next ``count`` matching calls."""
        if fault.kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {fault.kind!r}; known: {list(FAULT_KINDS)}")
        if count < 1:
            raise ValueError("count must be >= 1")
        with self._lock:
            self._queue.extend([fault] * count)

    def take(self, route: str, kinds: tuple[str, ...] = FAULT_KINDS) -> Fault | None:
        """The first queued fault of one of ``kinds`` for ``route`` (removed), or None."""
        with self._lock:
            for i, fault in enumerate(self._queue):
                if fault.kind in kinds and fault.route in ("*", route):
                    del self._queue[i]
                    return fault
        return None

    def clear(self) -> None:
        """Forget every queued fault."""
        with self._lock:
            self._queue.clear()

    def __len__(self) -> int:
        with self._lock:
            return len(self._queue)
