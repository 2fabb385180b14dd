"""Tests that kill the surviving mutants of the small `_core` modules (see docs/mutation.md):
``bodies``, ``client``, ``credentials``, ``polling``, ``redaction`` and ``urls``.

Each test names the mutants it kills, so nobody deletes it as redundant. The functions are
small and pure, so they are called directly; `PollSchedule` runs on the virtual clock of
``tests/virtual_time.py`` (exact waits, no waiting).
"""

from __future__ import annotations

import ssl

import anyio
import httpx
import pytest

from as2gw_async._core import bodies, client, credentials, polling, redaction, urls
from as2gw_async._core.bodies import endpoint_of, json_body
from as2gw_async._core.client import (
    _Cookies,
    _skip_cookie_jar_without_cookies,
    build_client,
    check_transport,
)
from as2gw_async._core.credentials import APIKeyHeader, BareToken, BearerToken, check_token
from as2gw_async._core.polling import PollSchedule
from as2gw_async._core.redaction import Redactor
from as2gw_async._core.urls import check_base_url, https_upgrade, is_loopback, quote_id
from as2gw_async._httpcore import _Backend
from as2gw_async.errors import (
    AS2GatewayError,
    InsecureTransportError,
    InvalidTokenError,
    MalformedResponseError,
    NotFoundError,
)

from ..virtual_time import run_in_virtual_time

# --------------------------------------------------------------------------------------------
# bodies
# --------------------------------------------------------------------------------------------


def _answer(content: bytes, headers: dict[str, str] | None = None) -> httpx.Response:
    request = httpx.Request("GET", "https://gw.example/v1/message/received?limit=5")
    return httpx.Response(200, content=content, headers=headers or {}, request=request)


def test_endpoint_of_is_the_method_and_the_path_only() -> None:
    # kills: endpoint_of's f-string (separator, method, path)
    request = httpx.Request("POST", "https://gw.example:8443/v1/a%20b/x?q=1#f")
    assert endpoint_of(request) == "POST /v1/a b/x"


def test_json_body_parses_the_content() -> None:
    assert json_body(_answer(b'{"a": [1, null]}')) == {"a": [1, None]}


def test_json_body_names_the_endpoint_type_and_size_of_a_body_that_is_not_json() -> None:
    # kills: json_body's message (every part), the content-type split at ";" and strip,
    # "content-type" key, endpoint= and response= passed on
    response = _answer(b"<html>", {"Content-Type": " text/html ; charset=utf-8"})
    with pytest.raises(MalformedResponseError) as caught:
        json_body(response)
    assert caught.value.message == (
        "malformed JSON from GET /v1/message/received (text/html body of 6 bytes): JSONDecodeError"
    )
    assert caught.value.endpoint == "GET /v1/message/received"
    assert caught.value.response is response
    assert caught.value.__cause__ is None
    assert caught.value.__suppress_context__


@pytest.mark.parametrize("headers", [{}, {"Content-Type": ""}, {"Content-Type": " ;x=y"}])
def test_json_body_without_a_content_type_says_unknown(headers: dict[str, str]) -> None:
    # kills: json_body's default `""` -> "XXXX" / None, `or "unknown"` -> `and` / "XXunknownXX"
    with pytest.raises(MalformedResponseError) as caught:
        json_body(_answer(b"", headers))
    assert caught.value.message == (
        "malformed JSON from GET /v1/message/received (unknown body of 0 bytes): JSONDecodeError"
    )


def test_json_body_of_bytes_that_are_not_utf8_is_a_typed_error() -> None:
    # kills: the `except (ValueError, UnicodeDecodeError)` tuple narrowed
    with pytest.raises(MalformedResponseError) as caught:
        json_body(_answer(b'"\xff\xfe\xfd"', {"Content-Type": "application/json"}))
    assert caught.value.message.endswith("(application/json body of 5 bytes): UnicodeDecodeError")


def test_the_bodies_module_exports() -> None:
    assert bodies.__all__ == ["endpoint_of", "json_body"]


# --------------------------------------------------------------------------------------------
# client
# --------------------------------------------------------------------------------------------


def test_check_transport_refuses_an_unknown_transport_with_its_hint() -> None:
    # kills: check_transport's tuple of names and its first message
    with pytest.raises(ValueError, match="transport must be") as caught:
        check_transport("requests", None)
    assert str(caught.value) == (
        'transport must be "httpx" or "aiohttp", not \'requests\'; to use another '
        "httpx transport pass http_client=httpx.AsyncClient(transport=...)"
    )


async def test_check_transport_accepts_both_names_and_refuses_aiohttp_with_a_client() -> None:
    # kills: `transport == "aiohttp" and http_client is not None` -> `or` / `is None` /
    # "XXaiohttpXX", and the names in the tuple
    async with httpx.AsyncClient() as own:
        check_transport("httpx", None)
        check_transport("httpx", own)
        check_transport("aiohttp", None)
        with pytest.raises(ValueError, match="pass either") as caught:
            check_transport("aiohttp", own)
    assert str(caught.value) == 'pass either http_client or transport="aiohttp", not both'


async def test_build_client_passes_its_settings_and_never_follows_redirects() -> None:
    # kills: build_client's timeout= / limits= / verify= / follow_redirects=False, the
    # `transport == "aiohttp"` test, speed_up_pool(client) dropped
    context = ssl.create_default_context()
    timeout = httpx.Timeout(7.0, connect=3.0)
    limits = httpx.Limits(max_connections=5, max_keepalive_connections=2)
    made = build_client(transport="httpx", timeout=timeout, limits=limits, verify=context)
    async with made:
        assert made.timeout == timeout
        assert made.follow_redirects is False
        pool = made._transport._pool  # type: ignore[attr-defined]
        assert pool._max_connections == 5
        assert pool._max_keepalive_connections == 2
        assert pool._ssl_context is context
        assert isinstance(pool._network_backend, _Backend)
        assert type(made._cookies) is _Cookies


async def test_build_client_with_aiohttp_is_the_aiohttp_transport() -> None:
    # kills: `if transport == "aiohttp"` -> `!=` / "XXaiohttpXX" / "AIOHTTP", and
    # aiohttp_client's timeout= / limits= / verify= -> None
    pytest.importorskip("httpx_aiohttp")
    context = ssl.create_default_context()
    timeout = httpx.Timeout(7.0, connect=3.0)
    limits = httpx.Limits(max_connections=5, max_keepalive_connections=2)
    made = build_client(transport="aiohttp", timeout=timeout, limits=limits, verify=context)
    async with made:
        transport = made._transport
        assert type(transport).__name__ == "SafeAiohttpTransport"
        assert made.timeout == timeout
        assert transport.limits == limits  # type: ignore[attr-defined]
        assert transport.ssl_context is context  # type: ignore[attr-defined]
        assert made.follow_redirects is False
        assert type(made._cookies) is _Cookies


def test_the_default_timeout_and_limits() -> None:
    # kills: DEFAULT_TIMEOUT / DEFAULT_LIMITS constants
    assert httpx.Timeout(60.0, connect=10.0) == client.DEFAULT_TIMEOUT
    assert client.DEFAULT_LIMITS.max_connections == 64
    assert client.DEFAULT_LIMITS.max_keepalive_connections == 32


def _set(cookie_header: str, value: str) -> httpx.Response:
    request = httpx.Request("GET", "https://gw.example/v1/x")
    return httpx.Response(200, headers={cookie_header: value}, request=request)


def test_the_cookie_store_keeps_a_set_cookie() -> None:
    # kills: `"set-cookie" in headers or ...` -> `and` / "XXset-cookieXX" / `not in`
    jar = _Cookies()
    jar.extract_cookies(_set("Set-Cookie", "sid=abc; Path=/"))
    assert jar.get("sid") == "abc"


def test_the_cookie_store_reads_nothing_from_an_answer_without_cookies() -> None:
    # an answer without Set-Cookie leaves the store as it was
    jar = _Cookies({"kept": "1"})
    jar.extract_cookies(_set("X-Other", "sid=abc"))
    assert dict(jar) == {"kept": "1"}


async def test_the_cookie_store_keeps_the_clients_cookies() -> None:
    # kills: `_Cookies(cookies)` -> `_Cookies(None)`, `getattr(client, "_cookies", None)`
    # -> "XX_cookiesXX" / "_COOKIES", `type(...) is httpx.Cookies` -> `is not`
    async with httpx.AsyncClient(cookies={"session": "s1"}) as own:
        _skip_cookie_jar_without_cookies(own)
        assert type(own._cookies) is _Cookies
        assert dict(own.cookies) == {"session": "s1"}
        # a store of another type (already ours) is left alone
        ours = own._cookies
        _skip_cookie_jar_without_cookies(own)
        assert own._cookies is ours


# --------------------------------------------------------------------------------------------
# credentials
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("value", ["!", "~", "a.b-c_d~!", "eyJ0eXAi.eyJzdWIi.c2ln"])
def test_check_token_accepts_printable_ascii_without_spaces(value: str) -> None:
    # kills: the regex's range \x21-\x7e narrowed at either end
    assert check_token(value) == value


@pytest.mark.parametrize("value", ["", None, 123, b"abcd"])
def test_check_token_refuses_an_empty_or_non_text_token(value: object) -> None:
    # kills: `not isinstance(value, str) or not value` -> `and`, its message
    with pytest.raises(InvalidTokenError) as caught:
        check_token(value)
    assert caught.value.message == "the gateway issued an empty or non-text token"


@pytest.mark.parametrize("value", ["a b", "ab\r\nX: y", "\x7f", " ", "tok\u00e9n", "a\tb"])
def test_check_token_refuses_what_cannot_travel_in_a_header(value: str) -> None:
    # kills: `fullmatch(...) is None` -> `is not None`, fullmatch -> match/search, its message
    with pytest.raises(InvalidTokenError) as caught:
        check_token(value)
    assert caught.value.message == (
        f"the gateway issued a token of {len(value)} characters that cannot be sent in "
        "a header (only printable ASCII without spaces is allowed)"
    )


def test_the_credentials_headers() -> None:
    # kills: each headers()'s name and value
    assert BareToken().headers("t0k") == {"Authorization": "t0k"}
    assert BearerToken().headers("t0k") == {"Authorization": "Bearer t0k"}
    assert APIKeyHeader("X-API-Key").headers("k3y") == {"X-API-Key": "k3y"}
    assert credentials.__all__ == [
        "APIKeyHeader",
        "BareToken",
        "BearerToken",
        "Credentials",
        "check_token",
    ]


# --------------------------------------------------------------------------------------------
# polling
# --------------------------------------------------------------------------------------------


def _waits(schedule: PollSchedule, looks: int) -> list[float]:
    """The moments of the first look and of up to ``looks`` more, on the virtual clock."""

    async def main() -> list[float]:
        seen = []
        start = anyio.current_time()
        await schedule.first()
        seen.append(anyio.current_time() - start)
        for _ in range(looks):
            if not await schedule.next():
                seen.append(-(anyio.current_time() - start))  # negative: the False answer
                break
            seen.append(anyio.current_time() - start)
        return seen

    return run_in_virtual_time(main)


def test_the_polls_grow_by_half_up_to_fifteen_seconds() -> None:
    # kills: POLL_BACKOFF, MAX_POLL_INTERVAL, `self._interval * POLL_BACKOFF`, the min/max
    # of the growth, the default initial delay min(5.0, 2.5 * poll_interval)
    schedule = PollSchedule(timeout=1000.0, poll_interval=4.0, initial_delay=None)
    assert schedule.timeout == 1000.0
    times = _waits(schedule, 5)
    assert times == pytest.approx([5.0, 9.0, 15.0, 24.0, 37.5, 52.5])
    assert polling.POLL_BACKOFF == 1.5
    assert polling.MAX_POLL_INTERVAL == 15.0


def test_a_short_poll_interval_starts_after_two_and_a_half_intervals() -> None:
    # kills: the default initial delay's `2.5 *` and the min with 5.0
    times = _waits(PollSchedule(timeout=100.0, poll_interval=1.0, initial_delay=None), 2)
    assert times == pytest.approx([2.5, 3.5, 5.0])


def test_a_poll_interval_above_the_maximum_is_kept() -> None:
    # kills: `max(poll_interval, MAX_POLL_INTERVAL)` -> `min`
    times = _waits(PollSchedule(timeout=1000.0, poll_interval=20.0, initial_delay=1.0), 3)
    assert times == pytest.approx([1.0, 21.0, 41.0, 61.0])


def test_the_last_wait_stops_at_the_timeout_and_then_next_says_no() -> None:
    # kills: `min(self._interval, remaining)` -> `max`, `remaining <= 0` -> `< 0`, the
    # deadline `current_time() + timeout` -> `-`, `min(initial, timeout)` -> `max`
    times = _waits(PollSchedule(timeout=7.0, poll_interval=4.0, initial_delay=2.0), 5)
    assert times == pytest.approx([2.0, 6.0, 7.0, -7.0])
    times = _waits(PollSchedule(timeout=3.0, poll_interval=1.0, initial_delay=10.0), 2)
    assert times == pytest.approx([3.0, -3.0])


def test_next_before_first_says_no_at_once() -> None:
    # kills: the initial `self._deadline = 0.0` -> 1.0 / None (the clock starts at 0 here:
    # a deadline of 1.0 would wait a second and say yes; None would fail)
    async def main() -> tuple[bool, float]:
        schedule = PollSchedule(timeout=10.0, poll_interval=1.0, initial_delay=None)
        answer = await schedule.next()
        return answer, anyio.current_time()

    assert run_in_virtual_time(main) == (False, 0.0)


def test_a_zero_timeout_looks_once_at_once() -> None:
    # kills: `timeout < 0` -> `<= 0`; `initial_delay < 0` -> `<= 0`
    times = _waits(PollSchedule(timeout=0.0, poll_interval=1.0, initial_delay=0.0), 2)
    assert times == [0.0, -0.0]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"timeout": -1.0}, "timeout must be 0 or more seconds, not -1.0"),
        ({"poll_interval": 0.0}, "poll_interval must be more than 0 seconds, not 0.0"),
        ({"poll_interval": -2.0}, "poll_interval must be more than 0 seconds, not -2.0"),
        ({"initial_delay": -0.5}, "initial_delay must be 0 or more seconds, not -0.5"),
    ],
)
def test_poll_schedule_refuses_bad_settings(kwargs: dict[str, float], message: str) -> None:
    # kills: each check's comparison and message
    settings: dict[str, float | None] = {
        "timeout": 10.0,
        "poll_interval": 1.0,
        "initial_delay": None,
    }
    settings.update(kwargs)
    with pytest.raises(ValueError, match="must be") as caught:
        PollSchedule(**settings)  # type: ignore[arg-type]
    assert str(caught.value) == message


def test_a_small_positive_poll_interval_is_allowed() -> None:
    # kills: `poll_interval <= 0` -> `<= 1`
    times = _waits(PollSchedule(timeout=1.0, poll_interval=0.5, initial_delay=0.0), 3)
    assert times == pytest.approx([0.0, 0.5, 1.0, -1.0])


# --------------------------------------------------------------------------------------------
# redaction
# --------------------------------------------------------------------------------------------


def test_secrets_shorter_than_four_characters_are_not_scrubbed() -> None:
    # kills: _MIN_SECRET, `len(s) >= _MIN_SECRET` -> `>` (in __init__, add_secret, add_token)
    redactor = Redactor("abc", "wxyz", None, "")
    redactor.add_secret("pqr")
    redactor.add_secret("lmno")
    redactor.add_secret(None)
    redactor.add_token("ijk")
    redactor.add_token("efgh")
    assert redactor.scrub("abc wxyz pqr lmno ijk efgh") == "abc *** pqr *** ijk ***"
    assert repr(redactor) == "<Redactor secrets=3>"
    assert redaction.REDACTED == "***"


def test_the_longest_secret_is_scrubbed_first() -> None:
    # kills: `sorted(..., reverse=True)` -> False / dropped, `key=len` -> None / dropped
    redactor = Redactor("abcd")
    redactor.add_token("abcdefgh")
    assert redactor.scrub("[abcdefgh] [abcd]") == "[***] [***]"
    redactor = Redactor("abcdefgh", "zzzz")
    redactor.add_token("abcd")
    assert redactor.scrub("[abcdefgh]") == "[***]"
    # by length, not by text (`key=len` -> None / dropped: "zzzz" sorts after "azzzzb")
    redactor = Redactor("zzzz", "azzzzb")
    assert redactor.scrub("[azzzzb]") == "[***]"


def test_only_the_last_eight_tokens_are_scrubbed() -> None:
    # kills: _RECENT_TOKENS (maxlen), `value not in self._tokens` -> `in` / dropped
    redactor = Redactor()
    for i in range(9):
        redactor.add_token(f"token-{i}")
    assert repr(redactor) == "<Redactor secrets=8>"
    assert redactor.scrub("token-0 token-1 token-8") == "token-0 *** ***"
    # a token issued again is not stored twice (so it does not push older ones out)
    redactor = Redactor()
    redactor.add_token("first")
    for _ in range(10):
        redactor.add_token("again")
    assert repr(redactor) == "<Redactor secrets=2>"
    assert redactor.scrub("first again") == "*** ***"


def test_repr_counts_the_fixed_secrets_and_the_tokens() -> None:
    # kills: __repr__'s `+` -> `-`, and its text
    redactor = Redactor("password1", "password1", "apikey99")
    redactor.add_token("tokenAAA")
    assert repr(redactor) == "<Redactor secrets=3>"


def test_scrub_error_scrubs_the_message_and_the_first_argument_only() -> None:
    # kills: scrub_error's `clean != error.message` -> `==`, `error.args = (clean,
    # *error.args[1:])` -> `[2:]` / dropped, `error.message = clean` dropped
    redactor = Redactor("s3cret")
    response = httpx.Response(404, request=httpx.Request("GET", "https://gw.example/x"))
    error = NotFoundError("no such s3cret here", response=response)
    assert redactor.scrub_error(error) is error
    assert error.message == "no such *** here"
    assert error.args[0] == "no such *** here"
    assert "s3cret" not in str(error)
    plain = AS2GatewayError("about s3cret")
    plain.args = ("about s3cret", "second", "third")
    redactor.scrub_error(plain)
    assert plain.args == ("about ***", "second", "third")


def test_scrub_error_leaves_a_clean_error_and_other_exceptions_alone() -> None:
    # kills: the `isinstance(error, AS2GatewayError)` test, the `!=` test
    redactor = Redactor("s3cret")
    foreign = ValueError("s3cret")
    assert redactor.scrub_error(foreign) is foreign
    assert foreign.args == ("s3cret",)
    clean = AS2GatewayError("nothing to hide")
    clean.args = ("nothing to hide", "kept")
    redactor.scrub_error(clean)
    assert clean.args == ("nothing to hide", "kept")
    assert clean.message == "nothing to hide"


# --------------------------------------------------------------------------------------------
# urls
# --------------------------------------------------------------------------------------------


def test_quote_id_encodes_every_reserved_character() -> None:
    # kills: quote(value, safe="") -> safe="XXXX" / None / dropped (which keeps "/")
    assert quote_id("<a/b@c>") == "%3Ca%2Fb%40c%3E"
    assert quote_id("X") == "X"


@pytest.mark.parametrize(
    "host",
    [
        "localhost",
        "LocalHost",
        "api.localhost",
        "a.b.LOCALHOST",
        "127.0.0.1",
        "127.9.8.7",
        "::1",
        "[::1]",
        "[127.0.0.1]",
    ],
)
def test_loopback_hosts(host: str) -> None:
    # kills: is_loopback's `.lower()` (either), "localhost" / ".localhost" strings, `or`,
    # `strip("[]")` -> "XX[]XX" / dropped
    assert is_loopback(host)


@pytest.mark.parametrize(
    "host",
    ["example.com", "localhost.example", "notlocalhost", "10.0.0.1", "::2", "[::2]", "", "X::1"],
)
def test_hosts_that_are_not_loopback(host: str) -> None:
    # kills: the `.endswith(".localhost")` dot, `.is_loopback` ignored, `return False` -> True,
    # `strip("[]")` -> `strip("XX[]XX")` ("X::1" would lose its X and read as ::1)
    assert not is_loopback(host)


def test_check_base_url_strips_the_trailing_slash() -> None:
    # kills: `.rstrip("/")` -> "XX/XX" / dropped
    assert check_base_url("https://gw.example/api/", allow_insecure_http=False) == (
        "https://gw.example/api"
    )
    assert check_base_url("https://gw.example", allow_insecure_http=False) == "https://gw.example"
    # a path ending in X keeps it (`.rstrip("XX/XX")` would strip it)
    assert check_base_url("https://gw.example/FIX/", allow_insecure_http=False) == (
        "https://gw.example/FIX"
    )


def test_check_base_url_refuses_an_invalid_url() -> None:
    # kills: the InvalidURL branch's message
    with pytest.raises(ValueError, match="invalid base_url") as caught:
        check_base_url("https://exa mple.com:port/", allow_insecure_http=True)
    assert str(caught.value).startswith("invalid base_url 'https://exa mple.com:port/': ")
    assert caught.value.__cause__ is None


@pytest.mark.parametrize("base_url", ["ftp://gw.example/", "gw.example/api", "https:///path"])
def test_check_base_url_refuses_what_is_not_an_absolute_http_url(base_url: str) -> None:
    # kills: `url.scheme not in ("http", "https") or not url.host` -> `and`, the scheme names
    with pytest.raises(ValueError, match="base_url must be") as caught:
        check_base_url(base_url, allow_insecure_http=True)
    assert str(caught.value) == f"base_url must be an absolute http(s) URL, not {base_url!r}"


def test_check_base_url_accepts_both_schemes() -> None:
    # kills: "http" / "https" in the scheme tuple
    assert check_base_url("http://gw.example/", allow_insecure_http=True) == "http://gw.example"
    assert check_base_url("HTTPS://gw.example/", allow_insecure_http=False) == (
        "https://gw.example"
    )


def test_check_base_url_refuses_plain_http_to_another_host() -> None:
    # kills: the `and` chain (scheme == "http", not allow_insecure_http, not is_loopback)
    # and the message
    with pytest.raises(InsecureTransportError) as caught:
        check_base_url("http://gw.example:8080/v1", allow_insecure_http=False)
    assert caught.value.message == (
        "refusing to send credentials over plain http to gw.example; use https, "
        "or pass allow_insecure_http=True if you really mean it"
    )
    assert check_base_url("http://127.0.0.1:8080/", allow_insecure_http=False) == (
        "http://127.0.0.1:8080"
    )
    assert check_base_url("http://[::1]:8080", allow_insecure_http=False) == "http://[::1]:8080"


def _redirect(from_url: str, location: str | None) -> httpx.Response:
    headers = {} if location is None else {"Location": location}
    return httpx.Response(307, headers=headers, request=httpx.Request("POST", from_url))


def test_https_upgrade_to_the_same_host_keeps_the_path_and_takes_the_port() -> None:
    # kills: https_upgrade's copy_with(scheme="https", port=target.port), rstrip("/"),
    # "location" header name, request.url.join
    response = _redirect(
        "http://gw.example:8080/api/v1/send", "https://gw.example:8443/api/v1/send"
    )
    assert https_upgrade("http://gw.example:8080/api", response) == "https://gw.example:8443/api"
    response = _redirect("http://gw.example/api/v1/send", "https://gw.example/api/v1/send")
    assert https_upgrade("http://gw.example/api/", response) == "https://gw.example/api"
    # kills: `.rstrip("/")` -> `.rstrip("XX/XX")`
    response = _redirect("http://gw.example/FIX/v1/send", "https://gw.example/FIX/v1/send")
    assert https_upgrade("http://gw.example/FIX", response) == "https://gw.example/FIX"


def test_https_upgrade_of_a_relative_location_is_none() -> None:
    # a relative Location stays on http: not an upgrade
    response = _redirect("http://gw.example/api/v1/send", "/api/v2/send")
    assert https_upgrade("http://gw.example/api", response) is None


@pytest.mark.parametrize(
    ("base_url", "location"),
    [
        ("https://gw.example/api", "https://gw.example/api/v1/send"),  # already https
        ("http://gw.example/api", "http://gw.example:8080/api/v1/send"),  # still http
        ("http://gw.example/api", "https://evil.example/api/v1/send"),  # another host
        ("http://gw.example/api", None),  # no Location at all
        ("http://gw.example/api", "https://[bad/"),  # not a URL
    ],
)
def test_https_upgrade_only_from_http_to_https_on_the_same_host(
    base_url: str, location: str | None
) -> None:
    # kills: each `!=` of the condition -> `==`, `or` -> `and`, the InvalidURL branch
    response = _redirect(base_url + "/v1/send", location)
    assert https_upgrade(base_url, response) is None


def test_the_urls_module_exports() -> None:
    assert urls.__all__ == ["check_base_url", "https_upgrade", "is_loopback", "quote_id"]
