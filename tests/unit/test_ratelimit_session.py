"""The session's client-side rate limit against a gateway that enforces one.

The real gateway allows 50 requests per 10 s per account and answers 429 beyond. The fake
here enforces a sliding window the same way (over every request of the account, authorize
included) on a short period, so that 500 concurrent calls take seconds, not minutes.
"""

from __future__ import annotations

import collections
import inspect
import itertools
import math
import time
from collections.abc import Callable

import anyio
import httpx
import pytest
import respx

import as2gw_async as gw

from .conftest import BASE, FAR_EXPIRY_MS, PASSWORD, TOKEN, USER

MID = "<90766548.41.1573209810390@as2gateway.com>"
REQUESTS, PERIOD = 50, 0.25  # the gateway's 50 requests, in a 40x shorter window
CALLS = 500


class WindowedGateway:
    """Answers 429 + Retry-After (whole seconds, as servers do) beyond the window."""

    def __init__(self, requests: int, period: float) -> None:
        self.requests = requests
        self.period = period
        self.accepted: collections.deque[float] = collections.deque()
        self.refused = 0
        self.served = 0
        self.clock: Callable[[], float] = time.monotonic

    def admit(self) -> httpx.Response | None:
        now = self.clock()
        while self.accepted and self.accepted[0] <= now - self.period:
            self.accepted.popleft()
        if len(self.accepted) >= self.requests:
            self.refused += 1
            wait = self.accepted[0] + self.period - now
            return httpx.Response(
                429,
                json={"message": "Too many requests"},
                headers={"Retry-After": str(max(1, math.ceil(wait)))},
            )
        self.accepted.append(now)
        return None

    def authorize(self, request: httpx.Request) -> httpx.Response:
        return self.admit() or httpx.Response(200, json={"token": TOKEN, "expiry": FAR_EXPIRY_MS})

    def get(self, request: httpx.Request) -> httpx.Response:
        refused = self.admit()
        if refused is not None:
            return refused
        self.served += 1
        return httpx.Response(200, json={"as2MessageId": MID, "persistedTimestamp": 1})


@pytest.fixture
def gateway() -> WindowedGateway:
    return WindowedGateway(REQUESTS, PERIOD)


@pytest.fixture
def windowed(gateway: WindowedGateway) -> respx.MockRouter:
    with respx.mock(base_url=BASE) as mock:
        mock.post("/authorize").mock(side_effect=gateway.authorize)
        mock.get(url__regex=r".*/message/received/.*").mock(side_effect=gateway.get)
        yield mock


async def many_gets(session: gw.Session) -> list[BaseException]:
    errors: list[BaseException] = []

    async def one() -> None:
        try:
            message = await session.received.get(MID)
            assert message.as2_message_id == MID
        except gw.AS2GatewayError as exc:
            errors.append(exc)

    async with anyio.create_task_group() as tg:
        for _ in range(CALLS):
            tg.start_soon(one)
    return errors


def test_the_limiter_is_on_by_default_at_the_gateways_rate() -> None:
    default = inspect.signature(gw.Session).parameters["rate_limit"].default
    assert default == gw.RateLimit(50, 10.0)


@pytest.mark.slow
async def test_500_concurrent_gets_slow_down_instead_of_failing(
    windowed: respx.MockRouter, gateway: WindowedGateway
) -> None:
    # Everything as a user gets it (default retry policy) but the window, scaled down.
    async with gw.Session(USER, PASSWORD, base_url=BASE, rate_limit=gw.RateLimit(50, PERIOD)) as s:
        errors = await many_gets(s)
        stats = s.stats
    assert errors == []
    assert gateway.served == CALLS
    # paced on the client side: the gateway had (next to) nothing to refuse
    assert gateway.refused == stats.rate_limited
    assert stats.rate_limited <= CALLS // 50


@pytest.mark.slow
async def test_varying_latency_does_not_bunch_requests_up_at_the_gateway(
    gateway: WindowedGateway,
) -> None:
    """The gateway counts a request when it arrives, somewhere between our start and its
    answer. Requests that travel at different speeds arrive closer together than they
    left; the limiter keeps each in the window until ``period`` after its answer."""
    arrivals = itertools.count()

    async def slow_sometimes(request: httpx.Request) -> httpx.Response:
        await anyio.sleep(0.03 if next(arrivals) % 3 == 0 else 0.0)  # on the way there
        return gateway.get(request)

    with respx.mock(base_url=BASE) as mock:
        mock.post("/authorize").mock(side_effect=gateway.authorize)
        mock.get(url__regex=r".*/message/received/.*").mock(side_effect=slow_sometimes)
        async with gw.Session(
            USER, PASSWORD, base_url=BASE, rate_limit=gw.RateLimit(REQUESTS, PERIOD)
        ) as s:
            errors = await many_gets(s)
    assert errors == []
    assert gateway.served == CALLS
    assert gateway.refused == 0


async def test_a_429_that_still_arrives_is_retried_after_retry_after(
    gateway: WindowedGateway,
) -> None:
    # Another client of the same account used up the window: the first tries are refused.
    gateway.accepted.extend([time.monotonic()] * REQUESTS)
    with respx.mock(base_url=BASE) as mock:
        mock.post("/authorize").mock(side_effect=gateway.authorize)
        route = mock.get(url__regex=r".*/message/received/.*").mock(side_effect=gateway.get)
        async with gw.Session(
            USER, PASSWORD, base_url=BASE, rate_limit=gw.RateLimit(50, PERIOD)
        ) as s:
            message = await s.received.get(MID)
            assert s.stats.rate_limited >= 1
            assert s.stats.retries >= 1
    assert message.as2_message_id == MID
    assert route.call_count == 1  # the authorize took the 429 and its retry got through


@pytest.mark.slow
async def test_without_the_limiter_the_same_load_fails(
    windowed: respx.MockRouter, gateway: WindowedGateway
) -> None:
    """The control: it is the limiter, not the retries, that makes the test above pass.

    The gateway's clock stands still, so the window never frees up however slowly this
    machine sends: without the limiter, everything past the window's 50 is refused and
    the retries give up (the test's outcome does not depend on the client's speed)."""
    gateway.clock = lambda: 0.0
    async with gw.Session(USER, PASSWORD, base_url=BASE, rate_limit=None) as s:
        errors = await many_gets(s)
    assert gateway.served == REQUESTS - 1  # the authorize took one place of the window
    assert len(errors) == CALLS - gateway.served
    assert all(isinstance(e, gw.RateLimitError) for e in errors)
