from __future__ import annotations

import math

import anyio
import httpx
import pytest
import respx

import as2gw_async as gw
from as2gw_async.auth import TokenManager, parse_expiry

from .conftest import BASE, FAR_EXPIRY_MS, FAST_RETRIES, PASSWORD, TOKEN, USER


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (1_700_000_000_000, 1_700_000_000.0),  # milliseconds
        (1_700_000_000, 1_700_000_000.0),  # seconds
        ("1700000000000", 1_700_000_000.0),
        (None, math.inf),
        ("soon", math.inf),
        (True, math.inf),
        (-5, math.inf),
    ],
)
def test_expiry_is_a_timestamp_in_ms_or_s(value: object, expected: float) -> None:
    assert parse_expiry(value) == expected


async def test_token_is_sent_bare_in_authorization(
    router: respx.MockRouter, authorize: respx.Route, session: gw.Session
) -> None:
    route = router.get("/message/received").respond(200, json={"totalRecords": 0, "records": []})
    await session.request("GET", "/message/received")
    assert route.calls.last.request.headers["authorization"] == TOKEN
    body = authorize.calls.last.request.content
    assert b'"username":"user@example.com"' in body.replace(b" ", b"")
    assert b'"password":"pa55-word-SECRET"' in body.replace(b" ", b"")


async def test_token_is_reused_until_near_expiry(
    router: respx.MockRouter, authorize: respx.Route, session: gw.Session
) -> None:
    router.get("/ping").respond(200)
    for _ in range(5):
        await session.request("GET", "/ping")
    assert authorize.call_count == 1
    assert session.token_expires_at == FAR_EXPIRY_MS / 1000


async def test_one_authorize_for_a_thousand_concurrent_tasks(
    router: respx.MockRouter, authorize: respx.Route, session: gw.Session
) -> None:
    router.get("/ping").respond(200)

    async def slow_authorize(request: httpx.Request) -> httpx.Response:
        # answered only once every other task waits: all arrive while it is in flight
        await anyio.wait_all_tasks_blocked()
        return httpx.Response(200, json={"token": TOKEN, "expiry": FAR_EXPIRY_MS})

    authorize.side_effect = slow_authorize
    async with anyio.create_task_group() as tg:
        for _ in range(1000):
            tg.start_soon(session.request, "GET", "/ping")
    assert authorize.call_count == 1
    assert session.stats.authorizations == 1


class FakeClock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


async def test_token_manager_refreshes_ahead_of_expiry() -> None:
    clock = FakeClock(1000.0)
    issued: list[str] = []

    async def fetch() -> tuple[str, float]:
        issued.append(f"t{len(issued)}")
        return issued[-1], clock.now + 3600

    tokens = TokenManager(fetch, refresh_margin=300, clock=clock)
    assert await tokens.get() == "t0"
    clock.now += 3600 - 301
    assert await tokens.get() == "t0"
    clock.now += 2  # inside the margin: refreshed before the gateway would refuse it
    assert await tokens.get() == "t1"


async def test_short_lived_token_is_still_used() -> None:
    clock = FakeClock(0.0)
    calls = 0

    async def fetch() -> tuple[str, float]:
        nonlocal calls
        calls += 1
        return "t", clock.now + 10  # shorter than the 300 s margin

    tokens = TokenManager(fetch, refresh_margin=300, clock=clock)
    await tokens.get()
    clock.now = 4
    await tokens.get()
    assert calls == 1
    clock.now = 6
    await tokens.get()
    assert calls == 2


async def test_invalidate_only_drops_the_token_that_failed() -> None:
    n = 0

    async def fetch() -> tuple[str, float]:
        nonlocal n
        n += 1
        return f"t{n}", math.inf

    tokens = TokenManager(fetch)
    old = await tokens.get()
    tokens.invalidate(old)
    new = await tokens.get()
    tokens.invalidate(old)  # a late 401 for the old token must not throw the new one away
    assert await tokens.get() == new == "t2"


async def test_401_reauthorizes_once_and_replays(
    router: respx.MockRouter, authorize: respx.Route, session: gw.Session
) -> None:
    authorize.side_effect = [
        httpx.Response(200, json={"token": "old", "expiry": FAR_EXPIRY_MS}),
        httpx.Response(200, json={"token": "new", "expiry": FAR_EXPIRY_MS}),
    ]

    def answer(request: httpx.Request) -> httpx.Response:
        if request.headers["authorization"] == "old":
            return httpx.Response(401, json={"message": "Token expired"})
        return httpx.Response(200, json={"ok": True})

    route = router.get("/ping").mock(side_effect=answer)
    response = await session.request("GET", "/ping")
    assert response.json() == {"ok": True}
    assert authorize.call_count == 2
    assert [c.request.headers["authorization"] for c in route.calls] == ["old", "new"]


async def test_second_401_is_an_authentication_error(
    router: respx.MockRouter, authorize: respx.Route, session: gw.Session
) -> None:
    route = router.get("/ping").respond(401, json={"message": "Unauthorized"})
    with pytest.raises(gw.AuthenticationError, match="Unauthorized"):
        await session.request("GET", "/ping")
    assert route.call_count == 2
    assert authorize.call_count == 2


async def test_bad_credentials(router: respx.MockRouter) -> None:
    router.post("/authorize").respond(401, json={"message": "Invalid credentials"})
    async with gw.Session(USER, PASSWORD, base_url=BASE, rate_limit=None) as s:
        with pytest.raises(gw.AuthenticationError, match="Invalid credentials") as info:
            await s.login()
    assert USER in str(info.value)


async def test_authorize_without_token_is_a_clear_error(router: respx.MockRouter) -> None:
    router.post("/authorize").respond(200, text="<html>maintenance</html>")
    async with gw.Session(USER, PASSWORD, base_url=BASE, rate_limit=None) as s:
        with pytest.raises(gw.AS2GatewayError, match="no token"):
            await s.login()


async def test_authorize_is_retried_on_5xx(router: respx.MockRouter) -> None:
    route = router.post("/authorize")
    route.side_effect = [
        httpx.Response(503),
        httpx.Response(200, json={"token": TOKEN, "expiry": FAR_EXPIRY_MS}),
    ]
    async with gw.Session(
        USER, PASSWORD, base_url=BASE, rate_limit=None, retry_policy=FAST_RETRIES
    ) as s:
        assert await s.login() == FAR_EXPIRY_MS / 1000
