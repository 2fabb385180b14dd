"""The paced default deadline moves in steps, not once a chunk, and still does its job.

Moving a cancel scope's deadline reschedules the event loop's timer; done for every 64 KiB
chunk it cost ~7% of a large download's client CPU (the MFT presigned benchmark). The
deadline now moves once per step of bytes (at most 1 MiB, and at most a quarter of the
call's limit worth, so a body moving faster than the pace is never cut off), and the
bytes left over are credited when the body ends. Nothing here asserts how long anything
took; a deadline that never fires shows as the test's own `fail_after`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import anyio
import httpx
import pytest
import respx

import as2gw_async as gw
from as2gw_async import mft
from as2gw_async._core.session import PACE_BYTES_PER_SECOND

from .conftest import BASE, FAST_RETRIES, PASSWORD, USER

GUARD = 30.0  # the test's own bound: only reached if a deadline never fires
CHUNK = 64 * 1024
MFT_BASE = "https://api.mft.test"
STORE = "https://bucket.s3.test"
Q = "%3C1%40mftgateway.com%3E"


def _chunks(count: int, pause: float = 0.0) -> httpx.Response:
    async def body() -> AsyncIterator[bytes]:
        for _ in range(count):
            yield b"\0" * CHUNK
            if pause:
                await anyio.sleep(pause)

    return httpx.Response(200, content=body())


async def test_the_default_deadline_moves_in_steps_and_credits_every_byte(
    router: respx.MockRouter, authorize: respx.Route
) -> None:
    """70 chunks of 64 KiB: a handful of deadline moves, not 70, and every byte credited
    (the last 384 KiB, short of a step, when the body ends)."""
    seen: list[float] = []

    async def consume(response: httpx.Response) -> float:
        start = anyio.current_effective_deadline()
        async for _ in response.aiter_raw():
            seen.append(anyio.current_effective_deadline())
        return anyio.current_effective_deadline() - start

    router.get("/big").mock(side_effect=lambda request: _chunks(70))
    async with gw.Session(USER, PASSWORD, base_url=BASE, rate_limit=None) as s:
        grown = await s.stream("GET", "/big", consume)
    assert len(seen) == 70
    assert len(set(seen)) <= 5  # 1 MiB steps: 4 moves (it was one a chunk: 70)
    assert grown == pytest.approx(70 * CHUNK / PACE_BYTES_PER_SECOND)  # 140 s


async def test_a_body_faster_than_the_pace_outlives_a_short_default_deadline(
    router: respx.MockRouter, authorize: respx.Route
) -> None:
    """Ten 64 KiB chunks 0.15 s apart (~430 KiB/s, past the 32 KiB/s pace) under a 1 s
    default deadline: the step is a quarter of the limit's worth, so every chunk moves it
    in time (a fixed 1 MiB step would cut this body off at 1 s)."""
    route = router.get("/steady").mock(side_effect=lambda request: _chunks(10, pause=0.15))

    async def count(response: httpx.Response) -> int:
        return len(await response.aread())

    async with gw.Session(
        USER, PASSWORD, base_url=BASE, rate_limit=None, retry_policy=FAST_RETRIES, deadline=1.0
    ) as s:
        with anyio.fail_after(GUARD):
            assert await s.stream("GET", "/steady", count) == 10 * CHUNK
    assert route.call_count == 1  # no attempt was cut off and retried


async def test_a_trickling_store_link_ends_at_the_deadline_and_leaves_nothing(
    tmp_path: Path,
) -> None:
    """The presigned download under a short default deadline: it ends at its deadline,
    nothing is left behind, no credentials at the store. A passed deadline is spent time:
    `download_link` resumes after a broken body, never after `DeadlineExceededError`."""

    def trickle(request: httpx.Request) -> httpx.Response:
        async def body() -> AsyncIterator[bytes]:
            while True:
                yield b"x"
                await anyio.sleep(0.3)

        return httpx.Response(200, content=body())

    with respx.mock(assert_all_called=False) as router:
        router.post(f"{MFT_BASE}/authorize").respond(200, json={"apiToken": "tok"})
        router.get(f"{MFT_BASE}/message/inbox/{Q}/attachments").respond(
            200, json={"attachments": [{"name": "a.bin", "url": f"{STORE}/a?sig=1"}]}
        )
        store = router.get(f"{STORE}/a").mock(side_effect=trickle)
        async with mft.Session(
            "u", "p", base_url=MFT_BASE, rate_limit=None, retry_policy=FAST_RETRIES, deadline=0.5
        ) as s:
            with anyio.fail_after(GUARD):
                with pytest.raises(gw.DeadlineExceededError, match="deadline") as caught:
                    await s.inbox.download_attachments("<1@mftgateway.com>", tmp_path)
    assert isinstance(caught.value, gw.APITimeoutError)  # what existing handlers catch
    assert store.call_count == 1
    assert all("authorization" not in c.request.headers for c in store.calls)
    assert list(tmp_path.iterdir()) == []
