"""Issue 13 item 10: an overall deadline per call, even against a server that trickles.

The trickling server sends one byte every 0.3 s forever: each read is well within the
read timeout, so only an overall deadline ends the call. Nothing here asserts how long
anything took; a missing deadline shows as the test's own timeout (`fail_after`).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import anyio
import httpx
import pytest
import respx

import as2gw_async as gw

from .conftest import BASE, FAST_RETRIES, PASSWORD, USER

GUARD = 30.0  # the test's own bound: only reached if the deadline never fires


def _trickle(request: httpx.Request) -> httpx.Response:
    async def body() -> AsyncIterator[bytes]:
        while True:
            yield b"x"
            await anyio.sleep(0.3)

    return httpx.Response(200, content=body())


async def test_a_per_call_deadline_ends_a_trickling_body(
    router: respx.MockRouter, session: gw.Session
) -> None:
    route = router.get("/slow").mock(side_effect=_trickle)
    with anyio.fail_after(GUARD):
        with pytest.raises(gw.APITimeoutError, match="deadline") as info:
            await session.request("GET", "/slow", deadline=1.0)
    assert route.call_count == 1  # the deadline covers retries too: none after it
    assert info.value.request.url.path == "/v1/slow"


async def test_the_session_default_deadline_ends_a_trickling_download(
    router: respx.MockRouter, authorize: respx.Route, tmp_path: Path
) -> None:
    router.get("/message/received/m1/attachments").mock(side_effect=_trickle)
    async with gw.Session(
        USER, PASSWORD, base_url=BASE, rate_limit=None, retry_policy=FAST_RETRIES, deadline=1.0
    ) as s:
        with anyio.fail_after(GUARD):
            with pytest.raises(gw.APITimeoutError):
                await s.received.download_attachment("m1", tmp_path)
    assert list(tmp_path.iterdir()) == []


async def test_the_deadline_covers_retry_pauses(
    router: respx.MockRouter, authorize: respx.Route
) -> None:
    route = router.get("/busy").respond(503, headers={"Retry-After": "20"})
    async with gw.Session(
        USER, PASSWORD, base_url=BASE, rate_limit=None, max_retries=5, deadline=0.5
    ) as s:
        with anyio.fail_after(GUARD):
            with pytest.raises(gw.APITimeoutError):
                await s.request("GET", "/busy")
    assert route.call_count == 1


def test_deadline_must_be_positive() -> None:
    with pytest.raises(ValueError, match="deadline"):
        gw.Session(USER, PASSWORD, deadline=0)
    assert gw.Session(USER, PASSWORD, deadline=None).base_url  # None: no overall deadline


async def test_the_default_deadline_grows_with_the_bytes_that_arrive(
    router: respx.MockRouter, authorize: respx.Route
) -> None:
    """A body that keeps moving gets more time; the same body under an explicit deadline
    does not. Checked on the deadline itself, not on a clock."""
    seen: dict[str, float] = {}

    async def consume(response: httpx.Response) -> None:
        scope_deadline = anyio.current_effective_deadline()
        await response.aread()
        seen["grown"] = anyio.current_effective_deadline() - scope_deadline

    router.get("/big").respond(200, content=b"\0" * (1 << 20))
    async with gw.Session(USER, PASSWORD, base_url=BASE, rate_limit=None, deadline=100.0) as s:
        await s.stream("GET", "/big", consume)
        assert seen["grown"] == pytest.approx((1 << 20) / (32 * 1024))  # 32 s for 1 MiB
        await s.stream("GET", "/big", consume, deadline=100.0)
        assert seen["grown"] == 0


async def test_waiting_for_our_own_rate_limiter_does_not_spend_the_default_deadline(
    router: respx.MockRouter, authorize: respx.Route
) -> None:
    """The authorize takes the limiter's one slot; the call then queues ~2 s for it, past
    its 1 s default deadline, and still succeeds: the deadline bounds the server."""
    route = router.get("/x").respond(200)
    async with gw.Session(
        USER, PASSWORD, base_url=BASE, rate_limit=gw.RateLimit(1, 2.0), deadline=1.0
    ) as s:
        with anyio.fail_after(GUARD):
            await s.request("GET", "/x")
    assert route.call_count == 1
