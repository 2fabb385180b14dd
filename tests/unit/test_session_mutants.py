"""Tests that kill surviving mutants of `as2gw_async/_core/session.py` (the shared HTTP
core; see docs/mutation.md).

Each test names the mutants it kills, so nobody deletes it as redundant.
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import AsyncIterator, Iterator

import anyio
import httpx
import pytest
import respx

import as2gw_async as gw
from as2gw_async._core import APIKeyHeader, BaseSession
from as2gw_async._core.session import PACE_BYTES_PER_SECOND, default_error
from as2gw_async.auth import Grant

ORIGIN = "https://gw.test"
STORE = "https://store.test"
KEY = "key-123456"
FAST = gw.RetryPolicy(max_retries=2, initial_delay=0.0, max_delay=0.0)
LOGGER = "as2gw_async"


def envelope_error(response: httpx.Response, body: bytes) -> gw.APIStatusError | None:
    """A gateway's error function: an envelope with its own code and message, any status."""
    try:
        data = json.loads(body)
    except ValueError:
        data = None
    if isinstance(data, dict) and data.get("success") is False:
        return gw.BadRequestError(
            f"envelope: {data.get('message')}",
            response=response,
            error_code=str(data.get("errorCode")),
        )
    return None if response.is_success else gw.APIStatusError("failed", response=response)


class KeySession(BaseSession):
    """A gateway with a static key in a header and its own error envelope."""

    def __init__(self, **kwargs: object) -> None:
        async def authorize() -> Grant:
            return Grant(KEY, math.inf)

        kwargs.setdefault("retry_policy", FAST)
        kwargs.setdefault("error_for", envelope_error)
        super().__init__(
            base_url=ORIGIN,
            credentials=APIKeyHeader("X-API-Key"),
            authorize=authorize,
            secrets=(KEY,),
            **kwargs,  # type: ignore[arg-type]
        )


def plain(**kwargs: object) -> BaseSession:
    """A session without credentials and with fast retries."""
    kwargs.setdefault("retry_policy", FAST)
    return BaseSession(
        base_url=ORIGIN,
        credentials=None,
        authorize=None,
        **kwargs,  # type: ignore[arg-type]
    )


async def read(response: httpx.Response) -> bytes:
    return await response.aread()


@pytest.fixture
def mock() -> Iterator[respx.MockRouter]:
    with respx.mock(assert_all_called=False) as router:
        yield router


def retry_lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.getMessage().startswith("retrying")]


# -- default_error, __repr__ ---------------------------------------------------------------


def test_default_error_is_none_for_a_success_and_the_status_error_otherwise() -> None:
    """kills: `default_error`'s `response.is_success` -> `... or True`."""
    request = httpx.Request("GET", ORIGIN + "/x")
    assert default_error(httpx.Response(200, request=request), b"") is None
    error = default_error(httpx.Response(404, request=request, json={"message": "gone"}), b"")
    assert isinstance(error, gw.NotFoundError)
    assert str(error) == "404: gone"


def test_repr_names_the_class_and_the_base_url() -> None:
    """kills: `__repr__`'s `type(self)` -> `type(None)` (no test reached it)."""
    assert repr(plain()) == "<BaseSession base_url='https://gw.test'>"
    assert repr(KeySession()) == "<KeySession base_url='https://gw.test'>"


# -- stream_url's checks --------------------------------------------------------------------


async def test_stream_url_refuses_what_is_not_an_absolute_http_url(
    mock: respx.MockRouter,
) -> None:
    """kills: `stream_url`'s `ValueError(f"invalid URL: ...")` -> `ValueError(None)`; `or
    not parsed.host` -> `and` (a scheme without a host, a host with another scheme); the
    exact message."""
    async with plain() as s:
        with pytest.raises(ValueError, match=r"^invalid URL: "):
            await s.stream_url("https://[::1/x", read)
        for url in ("https:///bucket/f", "ftp://store.test/f", "/relative"):
            with pytest.raises(ValueError, match=r"^stream_url needs an absolute http\(s\) URL$"):
                await s.stream_url(url, read)
    assert not mock.calls


async def test_stream_url_takes_a_plain_http_link(mock: respx.MockRouter) -> None:
    """kills: `stream_url`'s `("http", "https")` -> `("XXhttpXX", ...)` / `("HTTP", ...)`."""
    mock.get("http://store.test/f").respond(200, content=b"body")
    async with plain() as s:
        assert await s.stream_url("http://store.test/f", read) == b"body"


async def test_stream_url_keeps_its_own_deadline(mock: respx.MockRouter) -> None:
    """An explicit deadline is not paced: bytes arriving do not move it. kills:
    `stream_url`'s `deadline=deadline` -> `None` or dropped."""
    grown: list[float] = []

    async def consume(response: httpx.Response) -> None:
        start = anyio.current_effective_deadline()
        await response.aread()
        grown.append(anyio.current_effective_deadline() - start)

    mock.get(STORE + "/f").respond(200, content=b"\0" * (1 << 20))
    async with plain(deadline=100.0) as s:
        await s.stream_url(STORE + "/f", consume)  # the session's: paced
        await s.stream_url(STORE + "/f", consume, deadline=100.0)
    assert grown[0] == pytest.approx((1 << 20) / PACE_BYTES_PER_SECOND)
    assert grown[1] == 0


async def test_stream_url_logs_its_retries_with_the_method_in_capitals(
    mock: respx.MockRouter, caplog: pytest.LogCaptureFixture
) -> None:
    """kills: `stream_url`'s `"GET"` -> `"get"` (the method in the log lines)."""
    caplog.set_level(logging.DEBUG, logger=LOGGER)
    mock.get(STORE + "/f").mock(side_effect=[httpx.Response(503), httpx.Response(200)])
    async with plain() as s:
        await s.stream_url(STORE + "/f?sig=SECRET", read)
    assert retry_lines(caplog) == [
        "retrying GET https://store.test/f in 0.00s (retry 1 of 2) after HTTP 503"
    ]
    assert "GET https://store.test/f -> 200 in " in caplog.text


# -- the pace of the default deadline -------------------------------------------------------


async def test_a_step_of_bytes_moves_the_deadline_at_once_and_nothing_more(
    mock: respx.MockRouter,
) -> None:
    """Under a 1 s default deadline a step is a quarter second's worth (8 KiB): a chunk of
    exactly one step moves the deadline as it arrives, and the end credits nothing more.
    kills: `_Call.pace`'s `>=` -> `>`; `_Call.credit`'s `unpaced = 0` -> `1`."""
    step = PACE_BYTES_PER_SECOND // 4

    async def chunks() -> AsyncIterator[bytes]:
        yield b"\0" * step
        yield b"\0" * step

    seen: list[float] = []

    async def consume(response: httpx.Response) -> None:
        start = anyio.current_effective_deadline()
        async for _ in response.aiter_raw():
            seen.append(anyio.current_effective_deadline() - start)
        seen.append(anyio.current_effective_deadline() - start)

    mock.get(ORIGIN + "/x").mock(side_effect=lambda request: httpx.Response(200, content=chunks()))
    async with plain(deadline=1.0) as s:
        await s.stream("GET", "/x", consume)
    assert seen == [
        pytest.approx(0.25, abs=1e-9),
        pytest.approx(0.5, abs=1e-9),
        pytest.approx(0.5, abs=1e-9),
    ]


# -- redirects ------------------------------------------------------------------------------


async def test_a_redirect_without_location_is_refused_naming_an_empty_target(
    mock: respx.MockRouter,
) -> None:
    """kills: `_send_handling_redirects`' `headers.get('location', '')` -> `None`, no
    default, `'XXXX'`."""
    for session in (plain(), KeySession()):
        mock.get(ORIGIN + "/x").respond(307)
        async with session as s:
            with pytest.raises(gw.RedirectError) as info:
                await s.request("GET", "/x")
        assert info.value.message == (
            "refusing to follow a 307 redirect from https://gw.test/x to '': only an "
            "upgrade from http to https on the same host is followed"
        )


async def test_another_redirect_status_is_the_gateways_status_error(
    mock: respx.MockRouter,
) -> None:
    """A 302 is not followed: the gateway's error function reads it; a storage host's 302
    is read by the status alone. kills: `_send_handling_redirects`'
    `_status_error(response, external=call.external)` -> `(None, ...)`, `(external=...)`,
    `external=None`, `external` dropped."""
    mock.get(ORIGIN + "/x").respond(
        302, json={"success": False, "errorCode": "E302", "message": "moved"}
    )
    mock.get(STORE + "/f").respond(
        302, json={"success": False, "errorCode": "E302", "message": "moved"}
    )
    async with KeySession() as s:
        with pytest.raises(gw.BadRequestError) as info:
            await s.request("GET", "/x")
        with pytest.raises(gw.RedirectError) as stored:
            await s.stream_url(STORE + "/f", read)
    assert (info.value.status_code, info.value.error_code) == (302, "E302")
    assert info.value.message == "envelope: moved"
    assert info.value.response.request.url == ORIGIN + "/x"
    assert (stored.value.status_code, stored.value.error_code) == (302, None)
    assert stored.value.message == "moved"


# -- status errors ----------------------------------------------------------------------------


async def test_an_error_status_is_read_by_the_gateways_error_function(
    mock: respx.MockRouter,
) -> None:
    """kills: `_status_error`'s `default_error if external else self._error_for` -> `...
    or True`; `error = reader(...)` -> `None`; `if error is None` -> `is not None`."""
    mock.get(ORIGIN + "/x").respond(
        404, json={"success": False, "errorCode": "E404", "message": "no parcel"}
    )
    async with KeySession() as s:
        with pytest.raises(gw.BadRequestError) as info:
            await s.request("GET", "/x")
    assert (info.value.status_code, info.value.error_code) == (404, "E404")
    assert info.value.message == "envelope: no parcel"


async def test_a_status_the_error_function_does_not_know_gets_the_default_class(
    mock: respx.MockRouter,
) -> None:
    """kills: `_status_error`'s `error = make_status_error(response)` -> `None` /
    `make_status_error(None)`; `_status_error`'s default `external=False` -> `True`."""
    mock.get(ORIGIN + "/x").respond(404, json={"message": "not here"})
    async with KeySession(error_for=lambda response, body: None) as s:
        with pytest.raises(gw.NotFoundError) as info:
            await s.request("GET", "/x")
    assert str(info.value) == "404: not here"
    assert info.value.response.request.url == ORIGIN + "/x"


# -- connection errors and the retry log ------------------------------------------------------


async def test_a_connection_error_carries_the_request_sent(mock: respx.MockRouter) -> None:
    """kills: `_connection_error`'s `call.request or httpx.Request(...)` -> `and`;
    `request=request` -> `None`; `str(exc) or type(exc).__name__` -> `type(None)`."""
    mock.get(ORIGIN + "/x").mock(side_effect=httpx.ConnectError(""))
    async with KeySession() as s:
        with pytest.raises(gw.APIConnectionError) as info:
            await s.request("GET", "/x", headers={"X-Trace": "t-1"})
    assert type(info.value) is gw.APIConnectionError
    assert info.value.message == "connection error on GET https://gw.test/x: ConnectError"
    assert info.value.request.headers["x-trace"] == "t-1"
    assert info.value.request.headers["x-api-key"] == KEY


async def test_a_timeout_is_an_api_timeout_error_with_its_request(
    mock: respx.MockRouter,
) -> None:
    """kills: `_connection_error`'s `APITimeoutError(request, f"request timed out: ...")`
    -> `(None, ...)`, `(request, None)`, `(message)`, `(request, )`, `type(None)`."""
    mock.get(ORIGIN + "/x").mock(side_effect=httpx.ReadTimeout("slow"))
    async with KeySession() as s:
        with pytest.raises(gw.APITimeoutError) as info:
            await s.request("GET", "/x", headers={"X-Trace": "t-2"})
    assert type(info.value) is gw.APITimeoutError
    assert info.value.message == "request timed out: ReadTimeout"
    assert info.value.request.url == ORIGIN + "/x"
    assert info.value.request.headers["x-trace"] == "t-2"


async def test_a_body_that_cannot_be_reopened_names_the_call(
    mock: respx.MockRouter, caplog: pytest.LogCaptureFixture
) -> None:
    """The body factory fails with a transport error before any request is built: the
    retries are logged with the path, and the error names the call's method and URL.
    kills: `_connection_error`'s fallback `httpx.Request(call.method, self._url(call))`
    (`None` method or URL, either dropped, `_url(None)`); `_pause`'s `call.request is not
    None` -> `... or True`, `is None`."""
    caplog.set_level(logging.INFO, logger=LOGGER)
    route = mock.post(ORIGIN + "/up").respond(200)

    def reopen() -> AsyncIterator[bytes]:
        raise httpx.ConnectError(f"cannot reopen the source {KEY}")

    async with KeySession() as s:
        with pytest.raises(gw.APIConnectionError) as info:
            await s.request("POST", "/up", content=reopen)
    assert route.call_count == 0
    assert info.value.message == (
        "connection error on POST https://gw.test/up: cannot reopen the source ***"
    )
    assert info.value.request.method == "POST"
    assert info.value.request.url == ORIGIN + "/up"
    assert retry_lines(caplog) == [
        f"retrying POST /up in 0.00s (retry {n} of 2) after ConnectError: cannot reopen "
        "the source ***"
        for n in (1, 2)
    ]


async def test_the_retry_log_line_names_the_url_and_the_reason(
    mock: respx.MockRouter, caplog: pytest.LogCaptureFixture
) -> None:
    """kills: `_pause`'s log format, URL (`None`, `call.target` always: `... and False`),
    and scrubbed reason (`None`)."""
    caplog.set_level(logging.INFO, logger=LOGGER)
    mock.get(ORIGIN + "/x").mock(side_effect=[httpx.Response(503), httpx.Response(200)])
    async with KeySession() as s:
        await s.request("GET", "/x", params={"q": "1"})
    assert retry_lines(caplog) == [
        "retrying GET https://gw.test/x in 0.00s (retry 1 of 2) after HTTP 503"
    ]


async def test_the_https_upgrade_is_logged_with_the_new_base_url(
    mock: respx.MockRouter, caplog: pytest.LogCaptureFixture
) -> None:
    """kills: `_send_handling_redirects`' `logger.info(...)` (format, argument, either
    dropped or `None`)."""
    caplog.set_level(logging.INFO, logger=LOGGER)
    mock.get("http://127.0.0.1/x").respond(307, headers={"Location": "https://127.0.0.1/x"})
    mock.get("https://127.0.0.1/x").respond(200)
    async with BaseSession(
        base_url="http://127.0.0.1", credentials=None, authorize=None, allow_insecure_http=True
    ) as s:
        await s.request("GET", "/x")
    assert [r.getMessage() for r in caplog.records if r.name == LOGGER] == [
        "gateway redirected to https; using https://127.0.0.1 from now on"
    ]


async def test_only_3xx_answers_are_redirects_even_for_a_policy_that_retries_them(
    mock: respx.MockRouter,
) -> None:
    """A 3xx is never retried (the redirect layer decides); a 400 the policy names is.
    kills: `_send_handling_retries`' `300 <= status < 400` -> `301 <=`, `300 <`, `<= 400`,
    `< 401`."""
    policy = gw.RetryPolicy(
        max_retries=2, initial_delay=0.0, max_delay=0.0, retry_statuses={300, 400}
    )
    three = mock.get(ORIGIN + "/300").respond(300)
    four = mock.get(ORIGIN + "/400").respond(400)
    async with plain(retry_policy=policy) as s:
        with pytest.raises(gw.RedirectError):
            await s.request("GET", "/300")
        with pytest.raises(gw.BadRequestError):
            await s.request("GET", "/400")
    assert (three.call_count, four.call_count) == (1, 3)


def busy_error(response: httpx.Response, body: bytes) -> gw.APIStatusError | None:
    """An error function that finds a rate-limit or server error inside a 200."""
    if body == b"busy":
        return gw.RateLimitError(f"busy, key {KEY}", response=response)
    if body == b"broken":
        return gw.InternalServerError("broken", response=response)
    return default_error(response, body)


async def test_an_error_envelope_in_a_200_is_retried_counted_and_logged(
    mock: respx.MockRouter, caplog: pytest.LogCaptureFixture
) -> None:
    """kills: `_send_handling_retries`' envelope branch: `failures += 1` -> `= 1`, `-= 1`,
    `+= 2`; `stats.rate_limited += 1` -> `= 1`, `-= 1`, `+= 2`; `retry = should_retry(...)`
    -> `None`, `error=None` or dropped; `reason` -> `None`, `type(None)`;
    `_pause(failures, ...)` -> `_pause(None, ...)`."""
    caplog.set_level(logging.INFO, logger=LOGGER)
    route = mock.get(ORIGIN + "/x").mock(
        side_effect=[httpx.Response(200, content=b"busy")] * 2 + [httpx.Response(200)]
    )
    async with KeySession(error_for=busy_error) as s:
        await s.request("GET", "/x")
        assert (s.stats.rate_limited, s.stats.retries, s.stats.requests) == (2, 2, 3)
        route.side_effect = [httpx.Response(200, content=b"busy")] * 3
        with pytest.raises(gw.RateLimitError) as info:
            await s.request("GET", "/x")
        assert (s.stats.rate_limited, s.stats.retries, s.stats.requests) == (5, 4, 6)
    assert info.value.message == "busy, key ***"
    assert retry_lines(caplog) == [
        f"retrying GET https://gw.test/x in 0.00s (retry {n} of 2) after RateLimitError in "
        "a 200 answer"
        for n in (1, 2, 1, 2)
    ]


async def test_an_error_envelope_in_a_200_is_retried_only_for_an_idempotent_call(
    mock: respx.MockRouter,
) -> None:
    """kills: `_send_handling_retries`' envelope branch `idempotent=call.idempotent` ->
    `None`."""
    route = mock.route(url=ORIGIN + "/x").mock(
        side_effect=lambda request: httpx.Response(200, content=b"broken")
    )
    async with KeySession(error_for=busy_error) as s:
        with pytest.raises(gw.InternalServerError):
            await s.request("GET", "/x")
        assert route.call_count == 3
        with pytest.raises(gw.InternalServerError):
            await s.request("POST", "/x")
        assert route.call_count == 4
        with pytest.raises(gw.InternalServerError):
            await s.request("POST", "/x", idempotent=True)
        assert route.call_count == 7
