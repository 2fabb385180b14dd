from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest
import respx

import as2gw_async as gw

BASE = "https://api.test/v1"
USER = "user@example.com"
PASSWORD = "pa55-word-SECRET"
TOKEN = "tok-ABCDEF-123456"
FAR_EXPIRY_MS = 4_102_444_800_000  # 2100-01-01


@pytest.fixture
def router() -> Iterator[respx.MockRouter]:
    with respx.mock(base_url=BASE, assert_all_called=False) as mock:
        yield mock


@pytest.fixture
def authorize(router: respx.MockRouter) -> respx.Route:
    return router.post("/authorize").respond(200, json={"token": TOKEN, "expiry": FAR_EXPIRY_MS})


FAST_RETRIES = gw.RetryPolicy(max_retries=3, initial_delay=0.0, max_delay=0.0)


@pytest.fixture
async def session(authorize: respx.Route) -> AsyncIterator[gw.Session]:
    async with gw.Session(
        USER, PASSWORD, base_url=BASE, rate_limit=None, retry_policy=FAST_RETRIES
    ) as s:
        yield s
