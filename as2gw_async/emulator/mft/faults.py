"""Scripted misbehaviour for the MFT emulator and its object store.

A :class:`FaultScript` holds faults queued for the next requests of a route (or of any
route): an error status, a delay, or (object store only) a connection reset after some
bytes of the body. Each fault is used up once per request it hits, ``times`` times, in the
order it was added. ``latency`` is a fixed delay added to every request. No randomness:
a test says exactly which calls misbehave.

Example::

    gateway.faults.fail("list", 503, times=2)       # the next two listings answer 503
    gateway.faults.fail("submit", 429, retry_after=1)
    store.faults.reset(after_bytes=1000, times=3)   # the next three downloads break off
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

__all__ = ["Fault", "FaultScript", "format_retry_after"]


@dataclass
class Fault:
    """One scripted fault: ``kind`` is ``status``, ``delay`` or ``reset``."""

    kind: str
    route: str | None
    times: int
    status: int = 0
    retry_after: float | None = None
    seconds: float = 0.0
    after_bytes: int = 0


class FaultScript:
    """Faults queued for the next requests, per route name (``None``: any route)."""

    def __init__(self, routes: tuple[str, ...]) -> None:
        self.routes = routes
        #: seconds added to every request (0: none)
        self.latency: float = 0.0
        self._lock = threading.Lock()
        self._queue: list[Fault] = []

    def _add(self, fault: Fault) -> None:
        if fault.route is not None and fault.route not in self.routes:
            raise ValueError(f"unknown route {fault.route!r}; known: {list(self.routes)}")
        if fault.times < 1:
            raise ValueError("times must be >= 1")
        with self._lock:
            self._queue.append(fault)

    def fail(
        self,
        route: str | None,
        status: int,
        times: int = 1,
        *,
        retry_after: float | None = None,
    ) -> None:
        """Answer ``status`` (e.g. 429, 500, 503) to the next ``times`` requests of ``route``.

        With ``retry_after`` a ``Retry-After`` header is added (whole seconds if integral).
        """
        if not 400 <= status <= 599:
            raise ValueError("a fault status must be 4xx or 5xx")
        self._add(Fault("status", route, times, status=status, retry_after=retry_after))

    def delay(self, route: str | None, seconds: float, times: int = 1) -> None:
        """Delay the next ``times`` requests of ``route`` by ``seconds``, then answer normally."""
        if seconds < 0:
            raise ValueError("seconds must be >= 0")
        self._add(Fault("delay", route, times, seconds=seconds))

    def reset(self, route: str | None = None, *, after_bytes: int = 0, times: int = 1) -> None:
        """Send the headers and ``after_bytes`` bytes of the next ``times`` bodies, then
        close the connection (object store downloads only)."""
        if after_bytes < 0:
            raise ValueError("after_bytes must be >= 0")
        self._add(Fault("reset", route, times, after_bytes=after_bytes))

    def clear(self) -> None:
        """Drop every queued fault (``latency`` stays)."""
        with self._lock:
            self._queue.clear()

    @property
    def pending(self) -> int:
        """How many faulty requests are still queued (a fault with ``times=3`` counts 3)."""
        with self._lock:
            return sum(f.times for f in self._queue)

    def take(self, route: str) -> Fault | None:
        """The fault for one request on ``route`` (using it up once), or None."""
        with self._lock:
            for fault in self._queue:
                if fault.route is None or fault.route == route:
                    fault.times -= 1
                    if fault.times == 0:
                        self._queue.remove(fault)
                    return fault
            return None


def format_retry_after(seconds: float) -> str:
    """A ``Retry-After`` value: whole seconds when integral, else a short decimal."""
    if float(seconds).is_integer():
        return str(int(seconds))
    return f"{seconds:.3f}".rstrip("0").rstrip(".")
