"""Fault plans: deterministic, seeded misbehaviour of the emulated gateway.

A :class:`FaultPlan` decides, request by request, whether to misbehave and how. The decision
sequence depends only on the seed and the order in which requests arrive, so a single-client
test run is reproducible. Faults only ever apply to the spec routes under ``/v1``, never to the
``/_emulator/`` control routes.

Kinds:

``latency``       sleep a random time drawn from ``latency`` (seconds), then answer normally
``429``           answer 429 with ``Retry-After: <retry_after>`` and ``{"message": ...}``
``500`` ``502`` ``503``  answer that status with ``{"message": ...}``
``reset``         process the request, send the headers and about half the body, then drop
                  the connection
``short``         process the request, declare the full ``Content-Length`` but send only about
                  half the body, then end the response (the server closes the connection)
``expire_token``  the token the request carries is expired from now on; the request gets 401

``429``/``5xx``/``expire_token`` are answered *before* the request is processed (no state
changes); ``reset``/``short`` happen *after* it was processed (a send was enqueued, a message
was marked read), which is exactly the ambiguity a careful client must survive.
"""

from __future__ import annotations

import random
import threading
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field

__all__ = ["ALL_FAULT_KINDS", "ROUTE_NAMES", "FaultPlan"]

ALL_FAULT_KINDS: tuple[str, ...] = (
    "latency",
    "429",
    "500",
    "502",
    "503",
    "reset",
    "short",
    "expire_token",
)

ROUTE_NAMES: tuple[str, ...] = (
    "authorize",
    "list",
    "get",
    "attachment",
    "zip",
    "mdn",
    "batch",
    "send",
    "mark_unread",
    "stop",
    "retry",
)


@dataclass
class FaultPlan:
    """When and how the emulator misbehaves; off unless assigned to ``gateway.faults``.

    ``rate`` is the probability that a request (on one of ``routes``, all spec routes when
    ``None``) gets a fault, whose kind is then drawn uniformly from ``kinds``. Both draws come
    from ``random.Random(seed)``, so the sequence is reproducible.

    Scripted faults are consumed first, regardless of ``rate``: ``plan.script("429", "reset",
    route="attachment")`` makes the next two requests on that route fail that way, in order.

    Example::

        gateway.faults = FaultPlan(seed=0, rate=0.1, kinds=("429", "503", "reset"))
        gateway.faults = FaultPlan(rate=0.0).script("expire_token")
    """

    seed: int = 0
    rate: float = 0.1
    kinds: tuple[str, ...] = ALL_FAULT_KINDS
    latency: tuple[float, float] = (0.0, 0.05)
    retry_after: float = 0.1
    routes: frozenset[str] | tuple[str, ...] | None = None
    _rng: random.Random = field(init=False, repr=False, compare=False)
    _lock: threading.Lock = field(init=False, repr=False, compare=False)
    _scripted: deque[tuple[str, str | None]] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        unknown = [k for k in self.kinds if k not in ALL_FAULT_KINDS]
        if unknown:
            raise ValueError(f"unknown fault kinds {unknown}; known: {list(ALL_FAULT_KINDS)}")
        if not 0.0 <= self.rate <= 1.0:
            raise ValueError("rate must be within [0, 1]")
        if self.routes is not None:
            bad = [r for r in self.routes if r not in ROUTE_NAMES]
            if bad:
                raise ValueError(f"unknown routes {bad}; known: {list(ROUTE_NAMES)}")
            self.routes = frozenset(self.routes)
        lo, hi = self.latency
        if lo < 0 or hi < lo:
            raise ValueError("latency must be (low, high) with 0 <= low <= high")
        self.kinds = tuple(self.kinds)
        self._rng = random.Random(self.seed)
        self._lock = threading.Lock()
        self._scripted = deque()

    def script(self, *kinds: str, route: str | None = None) -> FaultPlan:
        """Queue faults for the next requests (on ``route``, or any spec route); returns self."""
        for kind in kinds:
            if kind not in ALL_FAULT_KINDS:
                raise ValueError(f"unknown fault kind {kind!r}")
        if route is not None and route not in ROUTE_NAMES:
            raise ValueError(f"unknown route {route!r}")
        with self._lock:
            self._scripted.extend((kind, route) for kind in kinds)
        return self

    @property
    def pending_scripted(self) -> int:
        """How many scripted faults have not been used yet."""
        with self._lock:
            return len(self._scripted)

    def decide(self, route: str) -> tuple[str, float] | None:
        """Pick the fault for one request on ``route``: ``(kind, latency_seconds)`` or None."""
        with self._lock:
            for i, (kind, only) in enumerate(self._scripted):
                if only is None or only == route:
                    del self._scripted[i]
                    return kind, self._draw_latency(kind)
            if self.routes is not None and route not in self.routes:
                return None
            if not self.kinds or self.rate <= 0.0:
                return None
            if self._rng.random() >= self.rate:
                return None
            kind = self._rng.choice(self.kinds)
            return kind, self._draw_latency(kind)

    def _draw_latency(self, kind: str) -> float:
        if kind != "latency":
            return 0.0
        lo, hi = self.latency
        return self._rng.uniform(lo, hi)

    @classmethod
    def parse_kinds(cls, text: str | Iterable[str]) -> tuple[str, ...]:
        """Parse ``"429,500,reset"`` (or an iterable) into validated kinds."""
        items = text.split(",") if isinstance(text, str) else list(text)
        kinds = tuple(k.strip() for k in items if k.strip())
        for kind in kinds:
            if kind not in ALL_FAULT_KINDS:
                raise ValueError(f"unknown fault kind {kind!r}; known: {list(ALL_FAULT_KINDS)}")
        return kinds
