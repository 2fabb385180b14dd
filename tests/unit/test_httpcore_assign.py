"""The pool's request-to-connection assignment without quadratic scans (issue 18).

`_httpcore.assign_requests_to_connections` must decide exactly as httpcore 1.0's own
``AsyncConnectionPool._assign_requests_to_connections`` does: the same connections closed,
kept and created, the same request on the same connection. Both are run on the same random
pool states (fake connections and requests) and compared.
"""

from __future__ import annotations

import random
from typing import Any

import httpcore
import httpx
import pytest

from as2gw_async import Session
from as2gw_async._httpcore import assign_requests_to_connections

ORIGINS = ["http://a:80", "http://b:80", "https://a:443"]


class FakeConnection:
    def __init__(self, name: str, origin: str, rng: random.Random | None = None) -> None:
        self.name = name
        self.origin = origin
        r = rng or random.Random(0)
        self.closed = bool(rng) and r.random() < 0.1
        self.expired = bool(rng) and r.random() < 0.15
        self.idle = bool(rng) and r.random() < 0.5
        self.available = bool(rng) and r.random() < 0.5
        self.scans = 0

    def can_handle_request(self, origin: str) -> bool:
        self.scans += 1
        return origin == self.origin

    def is_available(self) -> bool:
        return self.available

    def is_idle(self) -> bool:
        self.scans += 1
        return self.idle

    def is_closed(self) -> bool:
        return self.closed

    def has_expired(self) -> bool:
        return self.expired


class _URL:
    def __init__(self, origin: str) -> None:
        self.origin = origin


class _Request:
    def __init__(self, origin: str) -> None:
        self.url = _URL(origin)


class FakePoolRequest:
    def __init__(self, name: str, origin: str, queued: bool) -> None:
        self.name = name
        self.request = _Request(origin)
        self.queued = queued
        self.connection: FakeConnection | None = None

    def is_queued(self) -> bool:
        return self.queued

    def assign_to_connection(self, connection: FakeConnection) -> None:
        self.connection = connection
        self.queued = False


def _pool(seed: int) -> httpcore.AsyncConnectionPool:
    rng = random.Random(seed)
    pool = httpcore.AsyncConnectionPool(
        max_connections=rng.randint(1, 10), max_keepalive_connections=rng.randint(0, 10)
    )
    pool._connections = [  # type: ignore[assignment]
        FakeConnection(f"c{i}", rng.choice(ORIGINS), rng) for i in range(rng.randint(0, 12))
    ]
    pool._requests = [  # type: ignore[assignment]
        FakePoolRequest(f"r{i}", rng.choice(ORIGINS), rng.random() < 0.7)
        for i in range(rng.randint(0, 10))
    ]
    created = iter(range(1000))
    pool.create_connection = lambda origin: FakeConnection(f"n{next(created)}", origin)  # type: ignore[assignment,method-assign,return-value]
    return pool


def _outcome(pool: httpcore.AsyncConnectionPool, closing: list[Any]) -> tuple[Any, ...]:
    return (
        [c.name for c in closing],
        [(c.name, c.origin) for c in pool._connections],
        [(r.name, r.connection and r.connection.name) for r in pool._requests],  # type: ignore[attr-defined]
    )


@pytest.mark.parametrize("seed", range(400))
def test_the_same_decisions_as_httpcore(seed: int) -> None:
    theirs = _pool(seed)
    ours = _pool(seed)
    expected = _outcome(
        theirs, httpcore.AsyncConnectionPool._assign_requests_to_connections(theirs)
    )
    assert _outcome(ours, assign_requests_to_connections(ours)) == expected


def _full_pool() -> tuple[httpcore.AsyncConnectionPool, list[FakeConnection]]:
    pool = httpcore.AsyncConnectionPool(max_connections=32, max_keepalive_connections=32)
    connections = [FakeConnection(f"c{i}", ORIGINS[0]) for i in range(32)]
    for c in connections:
        c.idle = c.available = True
    pool._connections = list(connections)  # type: ignore[assignment]
    pool._requests = [FakePoolRequest(f"r{i}", ORIGINS[0], True) for i in range(32)]  # type: ignore[assignment]
    return pool, connections


def test_a_full_pool_is_not_scanned_once_per_idle_connection() -> None:
    """32 idle connections, 32 queued requests: httpcore asks every connection ``is_idle``
    once per idle connection, and scans them all for every request; ours far less."""
    theirs, their_connections = _full_pool()
    httpcore.AsyncConnectionPool._assign_requests_to_connections(theirs)
    ours, our_connections = _full_pool()
    assign_requests_to_connections(ours)
    their_scans = sum(c.scans for c in their_connections)
    our_scans = sum(c.scans for c in our_connections)
    assert our_scans * 10 < their_scans, (our_scans, their_scans)


async def test_the_session_s_own_pool_uses_it() -> None:
    async with Session("u", "p", base_url="http://127.0.0.1:9/v1") as s:
        pool = s._client._transport._pool  # type: ignore[attr-defined]
        assert pool._assign_requests_to_connections.__func__ is assign_requests_to_connections
    mine = httpx.AsyncClient()
    async with mine, Session("u", "p", base_url="http://127.0.0.1:9/v1", http_client=mine):
        pool = mine._transport._pool  # type: ignore[attr-defined]
        assert "_assign_requests_to_connections" not in vars(pool)
