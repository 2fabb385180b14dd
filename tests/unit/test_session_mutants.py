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


async def test_a_step_of_bytes_moves_the_deadline_at_once_and_the_rest_at_the_end(
    mock: respx.MockRouter,
) -> None:
    """Under a 1 s default deadline a step is a quarter second's worth (8 KiB): a chunk of
    exactly one step moves the deadline as it arrives; a chunk short of a step (7,000
    bytes) only when the body ends. kills: `_Call.pace`'s `>=` -> `>`; `_Call.credit`'s
    `unpaced = 0` -> `1`; `_call`'s pace step `limit * PACE_BYTES_PER_SECOND / 4` -> `/
    PACE_BYTES_PER_SECOND`, `/ 5`."""
    step = PACE_BYTES_PER_SECOND // 4

    async def chunks() -> AsyncIterator[bytes]:
        yield b"\0" * step
        yield b"\0" * 7_000

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
        pytest.approx(0.25, abs=1e-9),
        pytest.approx((step + 7_000) / PACE_BYTES_PER_SECOND, abs=1e-9),
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
    -> `None`, `error=None` or dropped; `reason` -> `None`, `type(None)`; `_pause(failures,
    call, reason, response)` with any of them `None` or dropped (the Retry-After read);
    `continue` -> `break`."""
    caplog.set_level(logging.INFO, logger=LOGGER)
    busy = httpx.Response(200, content=b"busy", headers={"Retry-After": "0.01"})
    route = mock.get(ORIGIN + "/x").mock(side_effect=[busy] * 2 + [httpx.Response(200)])
    async with KeySession(error_for=busy_error) as s:
        await s.request("GET", "/x")
        assert (s.stats.rate_limited, s.stats.retries, s.stats.requests) == (2, 2, 3)
        route.side_effect = [busy] * 3
        with pytest.raises(gw.RateLimitError) as info:
            await s.request("GET", "/x")
        assert (s.stats.rate_limited, s.stats.retries, s.stats.requests) == (5, 4, 6)
    assert info.value.message == "busy, key ***"
    assert retry_lines(caplog) == [
        f"retrying GET https://gw.test/x in 0.01s (retry {n} of 2) after RateLimitError in "
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


# -- the constructor ---------------------------------------------------------------------------


async def never() -> Grant:
    raise AssertionError("not called")


def test_the_constructor_checks_its_arguments() -> None:
    """kills: `__init__`'s credentials/authorize check (`is not None` on either side, `==`)
    and its message; the deadline check (`or`, `deadline is None`, `< 0`, `<= 1`) and its
    message; `allow_insecure_http` default `True`, passed as `None` or dropped;
    `check_transport(transport, http_client)` with either argument `None` or dropped."""
    for credentials, authorize in ((APIKeyHeader("K"), None), (None, never)):
        with pytest.raises(ValueError, match=r"^credentials and authorize go together$"):
            BaseSession(base_url=ORIGIN, credentials=credentials, authorize=authorize)
    for bad in (0, -1.5):
        with pytest.raises(
            ValueError, match=rf"^deadline must be positive seconds or None, not {bad}$"
        ):
            plain(deadline=bad)
    for good in (0.5, None):
        assert plain(deadline=good).base_url == ORIGIN
    with pytest.raises(gw.InsecureTransportError):
        BaseSession(base_url="http://gw.example", credentials=None, authorize=None)
    insecure = BaseSession(
        base_url="http://gw.example/", credentials=None, authorize=None, allow_insecure_http=True
    )
    assert insecure.base_url == "http://gw.example"
    with pytest.raises(ValueError, match=r"^transport must be "):
        plain(transport="requests")
    with pytest.raises(ValueError, match=r"not both$"):
        plain(transport="aiohttp", http_client=httpx.AsyncClient())


def test_the_retry_policy_is_the_one_given_or_built_from_max_retries() -> None:
    """kills: `__init__`'s `max_retries=3` -> `4`; `retry_policy if retry_policy is not None
    else ...` (`None`, `and False`, `or True`, `is None`); `RetryPolicy(max_retries=None)`."""
    assert BaseSession(base_url=ORIGIN, credentials=None, authorize=None).retry_policy == (
        gw.RetryPolicy(max_retries=3)
    )
    assert plain(retry_policy=None, max_retries=5).retry_policy.max_retries == 5
    assert plain(retry_policy=FAST).retry_policy is FAST


def test_the_owned_client_is_built_with_the_options_given() -> None:
    """kills: `__init__`'s `build_client(transport=..., timeout=..., limits=..., verify=...)`
    with any of them `None` or dropped; `verify=True` default -> `False`. (The aiohttp
    transport keeps all four where a test can read them.)"""
    pytest.importorskip("httpx_aiohttp")
    import ssl

    limits = httpx.Limits(max_connections=7, keepalive_expiry=3.0)
    timeout = httpx.Timeout(5.0, connect=1.0)
    s = plain(transport="aiohttp", limits=limits, timeout=timeout, verify=False)
    transport = s._client._transport  # type: ignore[attr-defined]
    assert type(transport).__name__ == "SafeAiohttpTransport"
    assert transport.limits == limits
    assert transport.ssl_context.verify_mode == ssl.CERT_NONE
    assert s._client.timeout == timeout
    default = plain(transport="aiohttp")._client._transport  # type: ignore[attr-defined]
    assert default.ssl_context.verify_mode == ssl.CERT_REQUIRED


async def test_the_owned_client_is_closed_and_a_callers_client_is_not(
    mock: respx.MockRouter,
) -> None:
    """kills: `__init__`'s `_owns_client = http_client is None` -> `None` / `is not None`."""
    mock.get(ORIGIN + "/x").respond(200)
    s = plain()
    async with s:
        await s.request("GET", "/x")
    with pytest.raises(RuntimeError, match="closed"):
        await s.request("GET", "/x")
    async with httpx.AsyncClient() as client:
        async with plain(http_client=client) as s:
            await s.request("GET", "/x")
        assert not client.is_closed


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


async def test_the_token_manager_gets_the_margin_the_refresh_and_counts(
    mock: respx.MockRouter, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The token manager on a fake clock: refreshed once inside the margin (300 s by
    default), authorized again after a 401; every authorize counted. kills: `__init__`'s
    `token_refresh_margin=300.0` -> `301.0`; `refresh_margin=token_refresh_margin`
    dropped; `refresh=refresh` -> `None` or dropped; `_counted`'s `stats.authorizations
    += 1` -> `= 1`."""
    import functools

    from as2gw_async._core import BareToken
    from as2gw_async._core import session as session_module
    from as2gw_async.auth import Token, TokenManager

    clock = Clock()
    monkeypatch.setattr(
        session_module, "TokenManager", functools.partial(TokenManager, clock=clock)
    )
    issued: list[str] = []

    async def authorize() -> Grant:
        issued.append(f"a{len(issued) + 1}")
        return Grant(issued[-1], 10_000.0, refresh_token="r")

    async def refresh(token: Token) -> Grant:
        issued.append(f"r{len(issued) + 1}")
        return Grant(issued[-1], 20_000.0, refresh_token="r")

    route = mock.get(ORIGIN + "/x").respond(200)
    async with BaseSession(
        base_url=ORIGIN, credentials=BareToken(), authorize=authorize, refresh=refresh
    ) as s:
        await s.request("GET", "/x")
        clock.now = 9_699.5  # 300.5 s before expiry: not due yet
        await s.request("GET", "/x")
        clock.now = 9_700.0  # 300 s before: due, refreshed
        await s.request("GET", "/x")
        assert issued == ["a1", "r2"]
        assert s.stats.authorizations == 1
        mock.get(ORIGIN + "/y").mock(side_effect=[httpx.Response(401), httpx.Response(200)])
        await s.request("GET", "/y")  # the refreshed token refused: authorize again
        assert issued == ["a1", "r2", "a3"]
        assert s.stats.authorizations == 2
    sent = [c.request.headers["authorization"] for c in route.calls]
    assert sent[:3] == ["a1", "a1", "r2"]
    issued.clear()
    clock.now = 0.0
    async with BaseSession(
        base_url=ORIGIN,
        credentials=BareToken(),
        authorize=authorize,
        refresh=refresh,
        token_refresh_margin=60.0,
    ) as s:
        await s.request("GET", "/x")
        clock.now = 9_900.0  # 100 s before expiry: outside a 60 s margin
        await s.request("GET", "/x")
        assert issued == ["a1"]
        clock.now = 9_940.0
        await s.request("GET", "/x")
    assert issued == ["a1", "r2"]


async def test_login_without_credentials_is_refused(mock: respx.MockRouter) -> None:
    """kills: `_counted`'s `AssertionError("this session sends no credentials")` message
    (`None`, `XX...XX`, upper case)."""
    async with plain() as s:
        with pytest.raises(AssertionError, match=r"^this session sends no credentials$"):
            await s.login()


async def test_an_unauthenticated_call_sends_no_key(mock: respx.MockRouter) -> None:
    """kills: `stream`'s `authenticate and self._credentials is not None` -> `or`;
    `_build_request`'s `token is not None and ...` -> `or`."""
    route = mock.get(ORIGIN + "/x").respond(200)
    async with KeySession() as s:
        await s.request("GET", "/x", authenticate=False)
        await s.request("GET", "/x")
    assert "x-api-key" not in route.calls[0].request.headers
    assert route.calls[1].request.headers["x-api-key"] == KEY


async def test_a_401_is_logged_and_replayed_with_the_new_token(
    mock: respx.MockRouter, caplog: pytest.LogCaptureFixture
) -> None:
    """kills: `_send_handling_auth`'s `invalidate(token)` -> `None`; the replay's token
    `None` or dropped; its debug line (format, method, URL: `None`, dropped, upper case)."""
    from as2gw_async._core import BareToken

    caplog.set_level(logging.DEBUG, logger=LOGGER)
    tokens = iter(["tok-1111", "tok-2222"])

    async def authorize() -> Grant:
        return Grant(next(tokens), math.inf)

    route = mock.get(ORIGIN + "/x").mock(side_effect=[httpx.Response(401), httpx.Response(200)])
    async with BaseSession(base_url=ORIGIN, credentials=BareToken(), authorize=authorize) as s:
        await s.request("GET", "/x", params={"sig": "SECRET"})
    assert [c.request.headers["authorization"] for c in route.calls] == ["tok-1111", "tok-2222"]
    assert "401 on GET https://gw.test/x; authorizing again" in [
        r.getMessage() for r in caplog.records
    ]


# -- the headers and body sent ------------------------------------------------------------------


async def test_accept_encoding_is_added_unless_the_caller_named_one(
    mock: respx.MockRouter,
) -> None:
    """kills: `_with_encoding` (`headers or {}` -> `and`/`None`; `not any` -> `any`;
    `.lower()` -> `.upper()`; `==` -> `!=`; the name compared or set changed; the value
    `None`); `request`'s `_with_encoding(headers, "gzip, deflate")` and `stream`'s
    `_with_encoding(headers, "identity")` (`None`, dropped, the value changed)."""
    route = mock.get(ORIGIN + "/x").respond(200)
    async with plain() as s:
        await s.request("GET", "/x", headers={"X-Trace": "t"})
        await s.stream("GET", "/x", read, headers={"X-Trace": "t"})
        await s.request("GET", "/x", headers={"accept-encoding": "br"})
        await s.stream("GET", "/x", read, headers={"ACCEPT-ENCODING": "br"})
    sent = [c.request.headers for c in route.calls]
    assert [h.get_list("accept-encoding") for h in sent] == [
        ["gzip, deflate"],
        ["identity"],
        ["br"],
        ["br"],
    ]
    assert [h.get("x-trace") for h in sent] == ["t", "t", None, None]


async def test_json_bytes_and_streamed_bodies_are_sent(mock: respx.MockRouter) -> None:
    """kills: `request`'s and `stream`'s `json=` / `content=` dropped or `None`;
    `_build_request`'s `json=`, `content=` dropped or `None`, `body = None`, the factory
    not called, `_paced_body(...)` replaced by `None`."""
    route = mock.post(ORIGIN + "/x").respond(200)

    async def parts() -> AsyncIterator[bytes]:
        yield b"one,"
        yield b"two"

    async with plain() as s:
        await s.request("POST", "/x", json={"a": 1})
        await s.request("POST", "/x", content=b"raw")
        await s.request("POST", "/x", content=parts)
        await s.stream("POST", "/x", read, json=[1])
        await s.stream("POST", "/x", read, content=b"streamed")
    assert [c.request.content for c in route.calls] == [
        b'{"a":1}',
        b"raw",
        b"one,two",
        b"[1]",
        b"streamed",
    ]


async def test_a_post_is_not_retried_unless_told(mock: respx.MockRouter) -> None:
    """kills: `stream`'s `idempotent = method.upper() == "GET"` -> `!=`; `request`'s
    `idempotent=idempotent` -> `None` or dropped (a POST said idempotent)."""
    route = mock.post(ORIGIN + "/x").respond(503)
    async with plain() as s:
        with pytest.raises(gw.InternalServerError):
            await s.request("POST", "/x")
        assert route.call_count == 1
        with pytest.raises(gw.InternalServerError):
            await s.request("POST", "/x", idempotent=True)
        assert route.call_count == 4


async def test_the_bytes_of_a_request_body_move_the_paced_deadline(
    mock: respx.MockRouter,
) -> None:
    """An 800 KiB body under a 100 s default deadline (a step is a quarter of it, 25 s
    worth): 25 s more. Measured from a clock read before the call (its own start is
    later). kills: `_build_request`'s `call.pace(len(body))` -> `pace(None)`; `_call`'s
    pace step `/ 4` -> `* 4`."""
    seen: list[float] = []

    async def consume(response: httpx.Response) -> None:
        seen.append(anyio.current_effective_deadline())

    mock.post(ORIGIN + "/x").respond(200)
    async with plain(deadline=100.0) as s:
        before = anyio.current_time()
        await s.stream("POST", "/x", consume, content=b"\0" * 819_200)
    assert seen[0] - before >= 125.0


# -- the deadline -----------------------------------------------------------------------------


async def test_a_per_call_deadline_names_the_call_and_its_limit(
    mock: respx.MockRouter,
) -> None:
    """kills: `_call`'s `DeadlineExceededError(request, message)` (`None`, dropped) and its
    request (`call.request and ...`, `None`): the request sent, query left out;
    `limit <= 0` -> `<= 1`; `CancelScope(deadline=... - limit)`."""

    def trickle(request: httpx.Request) -> httpx.Response:
        async def body() -> AsyncIterator[bytes]:
            while True:
                yield b"x"
                await anyio.sleep(0.05)

        return httpx.Response(200, content=body())

    mock.get(ORIGIN + "/slow").mock(side_effect=trickle)
    async with plain() as s:
        with pytest.raises(gw.DeadlineExceededError) as info:
            await s.request(
                "GET", "/slow", params={"sig": "SECRET"}, headers={"X-Trace": "t"}, deadline=0.3
            )
    assert info.value.message == (
        "GET https://gw.test/slow did not finish within its deadline (0.3 s)"
    )
    assert info.value.request.headers["x-trace"] == "t"


async def test_a_deadline_passed_before_any_request_names_the_call(
    mock: respx.MockRouter,
) -> None:
    """The authorize never answers: no request was built, the error builds one. kills:
    `_call`'s fallback `httpx.Request(call.method, self._url(call))` (either `None` or
    dropped, `_url(None)`)."""

    async def stuck() -> Grant:
        await anyio.sleep_forever()
        raise AssertionError

    from as2gw_async._core import BareToken

    async with BaseSession(base_url=ORIGIN, credentials=BareToken(), authorize=stuck) as s:
        with pytest.raises(gw.DeadlineExceededError) as info:
            await s.request("PUT", "/x", deadline=0.1)
    assert info.value.message == "PUT https://gw.test/x did not finish within its deadline (0.1 s)"
    assert info.value.request.method == "PUT"
    assert info.value.request.url == ORIGIN + "/x"
    assert not mock.calls


async def test_a_per_call_deadline_must_be_positive(mock: respx.MockRouter) -> None:
    """kills: `_call`'s `limit <= 0` -> `< 0`; its message -> `None`."""
    async with plain() as s:
        for bad in (0, -1):
            with pytest.raises(
                ValueError, match=rf"^deadline must be positive seconds, not {bad}$"
            ):
                await s.request("GET", "/x", deadline=bad)
    assert not mock.calls


# -- status retries, counted and logged ------------------------------------------------------------


async def test_429s_are_counted_and_retries_logged_with_their_delay(
    mock: respx.MockRouter, caplog: pytest.LogCaptureFixture
) -> None:
    """kills: `_send_handling_retries`' `status_code == 429` -> `!=`, `== 430`;
    `rate_limited += 1` -> `= 1`, `-= 1`, `+= 2`; `failures += 1` -> `= 1`, `-= 1`, `+= 2`;
    `_pause(..., response)` -> `None` or dropped (the Retry-After)."""
    caplog.set_level(logging.INFO, logger=LOGGER)
    wait = {"Retry-After": "0.01"}
    route = mock.get(ORIGIN + "/x").mock(
        side_effect=[httpx.Response(429, headers=wait)] * 2 + [httpx.Response(200)]
    )
    async with plain() as s:
        await s.request("GET", "/x")
        assert (s.stats.rate_limited, s.stats.retries) == (2, 2)
        route.side_effect = [httpx.Response(503)] * 3
        with pytest.raises(gw.InternalServerError):
            await s.request("GET", "/x")
        assert (s.stats.rate_limited, s.stats.retries, route.call_count) == (2, 4, 6)
    assert retry_lines(caplog) == [
        "retrying GET https://gw.test/x in 0.01s (retry 1 of 2) after HTTP 429",
        "retrying GET https://gw.test/x in 0.01s (retry 2 of 2) after HTTP 429",
        "retrying GET https://gw.test/x in 0.00s (retry 1 of 2) after HTTP 503",
        "retrying GET https://gw.test/x in 0.00s (retry 2 of 2) after HTTP 503",
    ]


async def test_a_call_retried_after_a_connection_error_returns_its_answer(
    mock: respx.MockRouter,
) -> None:
    """kills: `_send_handling_retries`' `continue` -> `break` after a transport error."""
    mock.get(ORIGIN + "/x").mock(
        side_effect=[httpx.ConnectError("refused"), httpx.Response(200, content=b"ok")]
    )
    async with plain() as s:
        response = await s.request("GET", "/x")
    assert response.content == b"ok"


# -- the debug line ------------------------------------------------------------------------------


async def test_the_debug_line_times_the_exchange(
    mock: respx.MockRouter, caplog: pytest.LogCaptureFixture
) -> None:
    """The time logged is within the time the test measured around the call. kills:
    `_send_single_request`'s `started = ... if debug and False else 0.0` and
    `current_time() - started` -> `+`."""
    caplog.set_level(logging.DEBUG, logger=LOGGER)
    mock.get(ORIGIN + "/x").respond(200)
    async with plain() as s:
        before = anyio.current_time()
        await s.request("GET", "/x")
        spent = anyio.current_time() - before
    (line,) = [r.getMessage() for r in caplog.records if " -> 200 in " in r.getMessage()]
    assert line.startswith("GET https://gw.test/x -> 200 in ")
    assert 0 <= float(line.rsplit(" ", 1)[1].rstrip("s")) <= spent + 0.001


async def test_no_clock_is_read_for_a_debug_line_that_is_off(
    mock: respx.MockRouter, monkeypatch: pytest.MonkeyPatch
) -> None:
    """kills: `_send_single_request`'s `anyio.current_time() if debug` -> `... or True`."""
    logging.getLogger(LOGGER).setLevel(logging.INFO)
    mock.get(ORIGIN + "/x").respond(200)
    reads: list[float] = []
    real = anyio.current_time

    def counted() -> float:
        reads.append(real())
        return reads[-1]

    async with plain(deadline=None) as s:
        monkeypatch.setattr(anyio, "current_time", counted)
        await s.request("GET", "/x")
    logging.getLogger(LOGGER).setLevel(logging.NOTSET)
    assert reads == []


async def test_an_error_answer_whose_body_cannot_be_decoded_is_a_content_encoding_error(
    mock: respx.MockRouter,
) -> None:
    """An error answer is read by httpx's own decoder: its `DecodingError` becomes a
    retried `ContentEncodingError`. kills: `_send_handling_retries`' `error =
    ContentEncodingError(f"undecodable body: {exc}")` -> `None`, `ContentEncodingError(None)`;
    `error: Exception = exc` -> `None`."""

    def garbled(request: httpx.Request) -> httpx.Response:
        async def body() -> AsyncIterator[bytes]:
            yield b"not gzip at all"

        return httpx.Response(503, content=body(), headers={"Content-Encoding": "gzip"})

    route = mock.get(ORIGIN + "/x").mock(side_effect=garbled)
    async with KeySession() as s:
        with pytest.raises(gw.ContentEncodingError, match=r"^undecodable body: ") as info:
            await s.request("GET", "/x")
    assert type(info.value) is gw.ContentEncodingError
    assert route.call_count == 3


async def test_query_parameters_and_the_key_reach_the_gateway(mock: respx.MockRouter) -> None:
    """kills: `request`'s `params=params` -> `None` or dropped; `_build_request`'s
    `params=call.params or None` -> `None`, `and None`, dropped; `stream`'s
    `authenticate=True` default -> `False`."""
    route = mock.get(ORIGIN + "/x").respond(200)
    async with KeySession() as s:
        await s.request("GET", "/x", params={"q": "one", "n": 2})
        await s.stream("GET", "/x", read, params={"q": "two"})
    assert [dict(c.request.url.params) for c in route.calls] == [
        {"q": "one", "n": "2"},
        {"q": "two"},
    ]
    assert [c.request.headers.get("x-api-key") for c in route.calls] == [KEY, KEY]
