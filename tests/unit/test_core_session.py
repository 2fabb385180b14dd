"""The provider-neutral core (`as2gw_async._core`): what MFT and ECGrid sessions build on."""

from __future__ import annotations

import json
import math
from collections.abc import AsyncIterator

import anyio
import httpx
import pytest
import respx

import as2gw_async as gw
from as2gw_async._core import (
    APIKeyHeader,
    BareToken,
    BaseSession,
    BearerToken,
    check_token,
)
from as2gw_async.auth import Grant, Token, TokenManager

from .conftest import FAST_RETRIES

ORIGIN = "https://gw.test"
STORE = "https://store.test"


class KeySession(BaseSession):
    """A gateway that takes a static key in a header and wraps errors in an envelope."""

    def __init__(self, key: str, **kwargs: object) -> None:
        async def authorize() -> Grant:
            return Grant(key, math.inf)

        kwargs.setdefault("retry_policy", FAST_RETRIES)
        super().__init__(
            base_url=ORIGIN,
            credentials=APIKeyHeader("X-API-Key"),
            authorize=authorize,
            error_for=envelope_error,
            secrets=(key,),
            **kwargs,  # type: ignore[arg-type]
        )


def envelope_error(response: httpx.Response, body: bytes) -> gw.APIStatusError | None:
    try:
        data = json.loads(body)
    except ValueError:
        data = None
    if isinstance(data, dict) and data.get("success") is False:
        return gw.BadRequestError(
            str(data.get("message")), response=response, error_code=str(data.get("errorCode"))
        )
    return None if response.is_success else gw.APIStatusError("failed", response=response)


@pytest.fixture
def mock() -> AsyncIterator[respx.MockRouter]:
    with respx.mock(assert_all_called=False) as router:
        yield router


# -- credentials --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("credentials", "expected"),
    [
        (BareToken(), {"authorization": "tok"}),
        (BearerToken(), {"authorization": "Bearer tok"}),
        (APIKeyHeader("X-API-Key"), {"x-api-key": "tok"}),
    ],
)
async def test_credentials_travel_as_told(
    mock: respx.MockRouter, credentials: object, expected: dict[str, str]
) -> None:
    async def authorize() -> tuple[str, float]:
        return "tok", math.inf

    route = mock.get(ORIGIN + "/x").respond(200)
    async with BaseSession(
        base_url=ORIGIN,
        credentials=credentials,  # type: ignore[arg-type]
        authorize=authorize,
    ) as s:
        await s.request("GET", "/x")
    headers = route.calls.last.request.headers
    for name, value in expected.items():
        assert headers[name] == value
    if "authorization" not in expected:
        assert "authorization" not in headers


async def test_a_session_without_credentials_sends_none(mock: respx.MockRouter) -> None:
    route = mock.get(ORIGIN + "/x").respond(200)
    async with BaseSession(base_url=ORIGIN, credentials=None, authorize=None) as s:
        await s.request("GET", "/x")
    assert "authorization" not in route.calls.last.request.headers


@pytest.mark.parametrize("bad", ["", "a b", "tok\r\nX-Evil: 1", "tök", "\t", None, 5])
def test_check_token_refuses_what_cannot_travel(bad: object) -> None:
    with pytest.raises(gw.InvalidTokenError) as info:
        check_token(bad)
    assert "Evil" not in str(info.value)


# -- the error function --------------------------------------------------------------------


async def test_error_envelope_in_a_200_raises_with_its_code(mock: respx.MockRouter) -> None:
    mock.post(ORIGIN + "/v2/parcels/confirm").respond(
        200, json={"success": False, "errorCode": "E42", "message": "no such parcel"}
    )
    mock.get(ORIGIN + "/ok").respond(200, json={"success": True, "data": 1})
    async with KeySession("key-123456") as s:
        assert (await s.request("GET", "/ok")).json()["data"] == 1
        with pytest.raises(gw.BadRequestError, match="no such parcel") as info:
            await s.request("POST", "/v2/parcels/confirm")
    assert info.value.error_code == "E42"
    assert info.value.status_code == 200


async def test_the_error_function_builds_status_errors_and_secrets_are_scrubbed(
    mock: respx.MockRouter,
) -> None:
    mock.get(ORIGIN + "/x").respond(
        400, json={"success": False, "errorCode": "E1", "message": "bad key key-123456"}
    )
    async with KeySession("key-123456") as s:
        with pytest.raises(gw.BadRequestError) as info:
            await s.request("GET", "/x")
    assert "key-123456" not in str(info.value)
    assert "***" in str(info.value)


async def test_v1_has_no_error_code(mock: respx.MockRouter) -> None:
    from .conftest import BASE, FAR_EXPIRY_MS, PASSWORD, TOKEN, USER

    mock.post(BASE + "/authorize").respond(200, json={"token": TOKEN, "expiry": FAR_EXPIRY_MS})
    mock.get(BASE + "/x").respond(404, json={"message": "nope"})
    async with gw.Session(USER, PASSWORD, base_url=BASE, rate_limit=None) as s:
        with pytest.raises(gw.NotFoundError) as info:
            await s.request("GET", "/x")
    assert info.value.error_code is None


# -- retry statuses, redirects -------------------------------------------------------------


async def test_a_gateway_may_narrow_the_retried_statuses(mock: respx.MockRouter) -> None:
    policy = gw.RetryPolicy(
        max_retries=3, initial_delay=0, max_delay=0, retry_statuses={429, 500, 503}
    )
    route = mock.get(ORIGIN + "/x").respond(502)
    async with KeySession("key-123456", retry_policy=policy) as s:
        with pytest.raises(gw.APIStatusError):
            await s.request("GET", "/x")
    assert route.call_count == 1


async def test_the_https_upgrade_can_be_turned_off(mock: respx.MockRouter) -> None:
    mock.get("http://127.0.0.1/x").respond(307, headers={"Location": "https://127.0.0.1/x"})
    upgraded = mock.get("https://127.0.0.1/x").respond(200)
    async with BaseSession(
        base_url="http://127.0.0.1",
        credentials=None,
        authorize=None,
        follow_https_upgrade=False,
    ) as s:
        with pytest.raises(gw.RedirectError):
            await s.request("GET", "/x")
    assert upgraded.call_count == 0


# -- stream_url: another host, no credentials ---------------------------------------------


async def test_stream_url_sends_no_credentials_cookies_or_client_auth(
    mock: respx.MockRouter,
) -> None:
    mock.get(ORIGIN + "/x").respond(200, headers={"Set-Cookie": "sid=gateway-session; Path=/"})
    link = STORE + "/bucket/file.bin?X-Amz-Signature=sig-SECRET"
    store = mock.get(STORE + "/bucket/file.bin").mock(
        side_effect=[httpx.Response(503), httpx.Response(200, content=b"body")]
    )
    client = httpx.AsyncClient(auth=("user", "pw"), cookies={"c": "1"})

    async def read(response: httpx.Response) -> bytes:
        return await response.aread()

    async with KeySession(
        "key-123456", http_client=client, rate_limit=gw.RateLimit(1, 3600.0)
    ) as s:
        await s.request("GET", "/x")  # takes the one rate-limit slot of the hour
        body = await s.stream_url(link, read, headers={"Range": "bytes=0-"})
    await client.aclose()
    assert body == b"body"
    assert store.call_count == 2  # retried like any call
    sent = store.calls.last.request
    for name in ("authorization", "x-api-key", "cookie"):
        assert name not in sent.headers
    assert sent.headers["range"] == "bytes=0-"
    assert sent.headers["accept-encoding"] == "identity"
    assert sent.url.params["X-Amz-Signature"] == "sig-SECRET"


async def test_stream_url_errors_are_typed(mock: respx.MockRouter) -> None:
    mock.get(STORE + "/f").respond(
        403, text="<Error><Code>AccessDenied</Code></Error>", headers={"Content-Type": "text/xml"}
    )

    async def read(response: httpx.Response) -> bytes:
        return await response.aread()

    async with KeySession("key-123456") as s:
        with pytest.raises(gw.PermissionDeniedError):
            await s.stream_url(STORE + "/f", read)
        with pytest.raises(ValueError, match="absolute"):
            await s.stream_url("/relative", read)


# -- the token manager: refresh, fallback, one swap -----------------------------------------


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def test_refresh_ahead_of_expiry_then_fallback_to_authorize() -> None:
    clock = Clock()
    calls: list[str] = []

    async def authorize() -> Grant:
        calls.append("authorize")
        return Grant(f"a{len(calls)}", clock.now + 3600, refresh_token="r1")

    async def refresh(token: Token) -> Grant:
        calls.append(f"refresh:{token.refresh_token}")
        if len(calls) > 2:
            request = httpx.Request("POST", ORIGIN + "/refresh")
            raise gw.InternalServerError("boom", response=httpx.Response(500, request=request))
        return Grant("refreshed", clock.now + 3600, refresh_token="r2")

    tokens = TokenManager(authorize, refresh=refresh, refresh_margin=300, clock=clock)
    assert await tokens.get() == "a1"
    clock.now += 3400
    assert await tokens.get() == "refreshed"
    clock.now += 3400
    assert await tokens.get() == "a4"  # refresh failed (500): a full authorize
    assert calls == ["authorize", "refresh:r1", "refresh:r2", "authorize"]
    assert (tokens.authorizations, tokens.refreshes) == (2, 1)


async def test_many_waiters_share_one_refresh() -> None:
    clock = Clock()
    refreshed = 0
    release = anyio.Event()

    async def authorize() -> Grant:
        return Grant("first", clock.now + 600, refresh_token="r")

    async def refresh(token: Token) -> Grant:
        nonlocal refreshed
        refreshed += 1
        await release.wait()
        return Grant("second", clock.now + 600, refresh_token="r")

    tokens = TokenManager(authorize, refresh=refresh, refresh_margin=300, clock=clock)
    await tokens.get()
    clock.now += 400
    seen: list[str] = []

    async def waiter() -> None:
        seen.append(await tokens.get())

    async with anyio.create_task_group() as tg:
        for _ in range(50):
            tg.start_soon(waiter)
        await anyio.wait_all_tasks_blocked()
        release.set()
    assert refreshed == 1
    assert seen == ["second"] * 50


async def test_an_invalid_token_is_not_retried(mock: respx.MockRouter) -> None:
    authorized = 0

    async def authorize() -> Grant:
        nonlocal authorized
        authorized += 1
        return Grant("bad\r\ntoken", math.inf)

    route = mock.get(ORIGIN + "/x").respond(200)
    async with BaseSession(
        base_url=ORIGIN, credentials=BareToken(), authorize=authorize, retry_policy=FAST_RETRIES
    ) as s:
        with pytest.raises(gw.InvalidTokenError) as info:
            await s.request("GET", "/x")
    assert authorized == 1
    assert route.call_count == 0
    assert "bad" not in str(info.value)


async def test_authorizations_are_counted_by_the_core(mock: respx.MockRouter) -> None:
    mock.get(ORIGIN + "/x").respond(200)
    async with KeySession("key-123456") as s:
        for _ in range(3):
            await s.request("GET", "/x")
        assert s.stats.authorizations == 1
        assert s.stats.requests == 3


async def test_refresh_tokens_are_scrubbed_too(mock: respx.MockRouter) -> None:
    async def authorize() -> Grant:
        return Grant("access-tok", math.inf, refresh_token="refresh-SECRET")

    mock.get(ORIGIN + "/x").respond(
        400, json={"message": "refresh-SECRET and access-tok were echoed"}
    )
    async with BaseSession(base_url=ORIGIN, credentials=BareToken(), authorize=authorize) as s:
        with pytest.raises(gw.BadRequestError) as info:
            await s.request("GET", "/x")
    assert str(info.value) == "400: *** and *** were echoed"
