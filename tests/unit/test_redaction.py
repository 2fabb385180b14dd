"""Issue 13 items 8 and 9 (session part): secrets echoed by a server, tokens that cannot
travel in a header, and answers that are not JSON."""

from __future__ import annotations

import logging

import httpx
import pytest
import respx

import as2gw_async as gw

from .conftest import BASE, FAR_EXPIRY_MS, FAST_RETRIES, PASSWORD, TOKEN, USER


def _session() -> gw.Session:
    return gw.Session(USER, PASSWORD, base_url=BASE, rate_limit=None, retry_policy=FAST_RETRIES)


async def test_an_error_body_quoting_the_password_and_token_is_scrubbed(
    router: respx.MockRouter, session: gw.Session
) -> None:
    router.get("/x").respond(
        400, json={"message": f"rejected login {USER}/{PASSWORD} with token {TOKEN}"}
    )
    router.get("/y").respond(
        502, text=f"upstream said: Authorization: {TOKEN}", headers={"Content-Type": "text/plain"}
    )
    for path, error in (("/x", gw.BadRequestError), ("/y", gw.InternalServerError)):
        with pytest.raises(error) as info:
            await session.request("GET", path)
        for text in (str(info.value), repr(info.value), info.value.message):
            assert PASSWORD not in text
            assert TOKEN not in text
        assert "***" in str(info.value)


async def test_the_authorize_error_is_scrubbed(router: respx.MockRouter) -> None:
    router.post("/authorize").respond(401, json={"message": f"bad password {PASSWORD}"})
    async with _session() as s:
        with pytest.raises(gw.AuthenticationError) as info:
            await s.login()
    assert PASSWORD not in str(info.value)
    assert USER in str(info.value)


async def test_retry_log_lines_and_connection_errors_are_scrubbed(
    router: respx.MockRouter, session: gw.Session, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    router.get("/x").mock(side_effect=httpx.ReadError(f"peer closed after {TOKEN}"))
    with pytest.raises(gw.APIConnectionError) as info:
        await session.request("GET", "/x")
    assert "retrying GET" in caplog.text
    assert TOKEN not in caplog.text
    assert TOKEN not in str(info.value)


@pytest.mark.parametrize("token", ["tok\r\nX-Injected: 1", "tök-ünicode", "two words", ""])
async def test_a_token_that_cannot_travel_is_refused_once(
    router: respx.MockRouter, token: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    authorize = router.post("/authorize").respond(
        200, json={"token": token, "expiry": FAR_EXPIRY_MS}
    )
    ping = router.get("/ping").respond(200)
    async with _session() as s:
        with pytest.raises((gw.InvalidTokenError, gw.MalformedResponseError)) as info:
            await s.request("GET", "/ping")
    assert authorize.call_count == 1  # not retried: asking again gets the same token
    assert ping.call_count == 0
    if token:
        assert isinstance(info.value, gw.InvalidTokenError)
        assert token not in str(info.value)
        assert token not in caplog.text


async def test_malformed_authorize_json_names_the_endpoint(router: respx.MockRouter) -> None:
    router.post("/authorize").respond(
        200, text='{"token": "abc', headers={"Content-Type": "application/json"}
    )
    async with _session() as s:
        with pytest.raises(gw.MalformedResponseError, match="POST /v1/authorize") as info:
            await s.login()
    assert info.value.endpoint == "POST /v1/authorize"
    assert isinstance(info.value, gw.AS2GatewayError)


async def test_json_body_is_a_typed_error_naming_the_endpoint(
    router: respx.MockRouter, session: gw.Session
) -> None:
    from as2gw_async._core import json_body

    router.get("/message/received").respond(200, text="<html>oops</html>")
    response = await session.request("GET", "/message/received", params={"pageOffset": 0})
    with pytest.raises(gw.MalformedResponseError, match="GET /v1/message/received"):
        json_body(response)
