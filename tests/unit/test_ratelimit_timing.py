"""The rate limiter is never too fast *and* never too slow, measured on a virtual clock.

``test_ratelimit_session.py`` checks "never too fast" over real sockets. Here the event
loop's clock jumps (see ``tests/virtual_time.py``), so the exact moment a waiter is let in
can be asserted: waiting for the newest request of the window instead of the oldest (too
slow, yet never too fast) fails. Each test names the mutant of ``ratelimit.py`` it kills.
"""

from __future__ import annotations

import anyio
import pytest

from as2gw_async import RateLimit
from as2gw_async.ratelimit import RateLimiter

from ..virtual_time import run_in_virtual_time


def test_a_waiter_is_let_in_when_the_oldest_request_leaves_the_window() -> None:
    # kills: `min(slot[0] ...)` -> `max(...)` (waits for the newest slot: 13 s instead of 10)
    # and `slot[0] > horizon` -> `>=` (the oldest slot would never leave: the loop spins)
    async def main() -> list[float]:
        limiter = RateLimiter(RateLimit(2, 10.0))
        let_in = []
        (await limiter.acquire())()  # t=0, answered at once
        let_in.append(anyio.current_time())
        await anyio.sleep(3.0)
        (await limiter.acquire())()  # t=3
        let_in.append(anyio.current_time())
        await anyio.sleep(2.0)
        with anyio.fail_after(60):  # virtual seconds: a spinning limiter fails, not hangs
            (await limiter.acquire())()  # t=5: full; the t=0 request leaves at t=10
        let_in.append(anyio.current_time())
        return let_in

    assert run_in_virtual_time(main) == pytest.approx([0.0, 3.0, 10.0])


def test_a_slow_answer_holds_its_place_until_period_after_it_arrived() -> None:
    # kills: `max(slot[0], now)` -> `min(...)` in `answered` (the slow request would leave
    # the window at 10 s, counted from its start) and `answered` doing nothing
    async def main() -> float:
        limiter = RateLimiter(RateLimit(2, 10.0))
        first = await limiter.acquire()  # t=0, its answer arrives at t=4
        await anyio.sleep(3.0)
        (await limiter.acquire())()  # t=3, answered at once
        await anyio.sleep(1.0)
        first()  # t=4
        await anyio.sleep(1.0)
        (await limiter.acquire())()  # t=5: the t=3 one leaves first, at t=13
        return anyio.current_time()

    assert run_in_virtual_time(main) == pytest.approx(13.0)


def test_waiters_are_served_in_order_at_the_rate() -> None:
    # 5 requests a second, 12 waiting at once: let in at 0 (x5), 1 (x5), 2 (x2), in order.
    # kills: `len(self._slots) < requests` -> `<=` (one too many per window), and a wait
    # that overshoots (any later time fails the exact comparison)
    async def main() -> list[tuple[int, float]]:
        limiter = RateLimiter(RateLimit(5, 1.0))
        order: list[tuple[int, float]] = []

        async def one(n: int) -> None:
            await limiter.acquire()
            order.append((n, anyio.current_time()))

        async with anyio.create_task_group() as tg:
            for n in range(12):
                tg.start_soon(one, n)
                await anyio.sleep(0)  # queue them in order
        return order

    order = run_in_virtual_time(main)
    assert [n for n, _ in order] == list(range(12))
    assert [t for _, t in order] == pytest.approx([0.0] * 5 + [1.0] * 5 + [2.0] * 2)
