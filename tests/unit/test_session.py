from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from pathlib import Path

import anyio
import httpx
import pytest
import respx

import as2gw_async as gw

from .conftest import BASE, FAR_EXPIRY_MS, FAST_RETRIES, PASSWORD, TOKEN, USER

HTTP_BASE = "http://127.0.0.1:8080/v1"


def _session(base_url: str = BASE, **kwargs: object) -> gw.Session:
    kwargs.setdefault("rate_limit", None)
    kwargs.setdefault("retry_policy", FAST_RETRIES)
    return gw.Session(USER, PASSWORD, base_url=base_url, **kwargs)  # type: ignore[arg-type]


# -- 307 upgrade ------------------------------------------------------------------------


@pytest.fixture
def upgrade_router() -> AsyncIterator[respx.MockRouter]:
    with respx.mock(assert_all_called=False) as mock:
        # every plain-http request is answered with 307 to the https listener on another port
        mock.route(scheme="http").mock(
            side_effect=lambda r: httpx.Response(
                307, headers={"Location": str(r.url.copy_with(scheme="https", port=8443))}
            )
        )
        mock.post("https://127.0.0.1:8443/v1/authorize").respond(
            200, json={"token": TOKEN, "expiry": FAR_EXPIRY_MS}
        )
        yield mock


async def test_307_is_followed_with_the_body_and_remembered(
    upgrade_router: respx.MockRouter, tmp_path: Path
) -> None:
    payload = tmp_path / "invoice.xml"
    payload.write_bytes(b"<invoice/>" * 20_000)
    sends = upgrade_router.post("https://127.0.0.1:8443/v1/message/S/P").respond(202)
    gets = upgrade_router.get("https://127.0.0.1:8443/v1/message/received").respond(200)

    async def file_body() -> AsyncIterator[bytes]:
        async with await anyio.open_file(payload, "rb") as f:
            while chunk := await f.read(65536):
                yield chunk

    async with _session(HTTP_BASE) as s:
        await s.request(
            "POST",
            "/message/S/P",
            content=file_body,
            headers={"Content-Length": str(payload.stat().st_size)},
        )
        assert s.base_url == "https://127.0.0.1:8443/v1"
        await s.request("GET", "/message/received")

    # the file body reached https whole, after the authorize was replayed there too
    assert sends.calls.last.request.content == payload.read_bytes()
    http_calls = [c for c in upgrade_router.calls if c.request.url.scheme == "http"]
    # one 307 for the authorize; after that, everything went straight to https
    assert [str(c.request.url) for c in http_calls] == [HTTP_BASE + "/authorize"]
    assert gets.call_count == 1


async def test_307_to_another_host_is_not_followed() -> None:
    with respx.mock() as mock:
        mock.post(HTTP_BASE + "/authorize").respond(
            307, headers={"Location": "https://evil.example/v1/authorize"}
        )
        async with _session(HTTP_BASE) as s:
            with pytest.raises(gw.RedirectError, match=r"evil\.example"):
                await s.login()


async def test_redirect_from_https_to_http_is_not_followed(router: respx.MockRouter) -> None:
    router.post("/authorize").respond(307, headers={"Location": "http://api.test/v1/authorize"})
    async with _session() as s:
        with pytest.raises(gw.RedirectError):
            await s.login()


def test_plain_http_to_a_remote_host_is_refused_before_any_request() -> None:
    with pytest.raises(gw.InsecureTransportError, match=r"api\.as2gateway\.com"):
        gw.Session(USER, PASSWORD, base_url="http://api.as2gateway.com/v1")
    s = gw.Session(
        USER, PASSWORD, base_url="http://api.as2gateway.com/v1", allow_insecure_http=True
    )
    assert s.base_url.startswith("http://")
    for loopback in ("http://localhost:1/v1", "http://127.0.0.5/v1", "http://[::1]:9/v1"):
        assert gw.Session(USER, PASSWORD, base_url=loopback).base_url == loopback


@pytest.mark.parametrize("bad", ["api.as2gateway.com/v1", "ftp://x/v1", "https://"])
def test_bad_base_url(bad: str) -> None:
    with pytest.raises(ValueError, match="base_url"):
        gw.Session(USER, PASSWORD, base_url=bad)


# -- retries ----------------------------------------------------------------------------


async def test_get_is_retried_on_5xx_and_connection_errors(
    router: respx.MockRouter, session: gw.Session
) -> None:
    route = router.get("/ping")
    route.side_effect = [
        httpx.Response(503),
        httpx.ConnectError("refused"),
        httpx.ReadError("reset"),
        httpx.Response(200, json={"ok": 1}),
    ]
    response = await session.request("GET", "/ping")
    assert response.json() == {"ok": 1}
    assert route.call_count == 4
    assert session.stats.retries == 3


async def test_retries_give_up_with_a_typed_error(
    router: respx.MockRouter, session: gw.Session
) -> None:
    route = router.get("/ping").respond(502, text="<html>bad gateway</html>")
    with pytest.raises(gw.InternalServerError):
        await session.request("GET", "/ping")
    assert route.call_count == 4  # one try and three retries

    router.get("/down").mock(side_effect=httpx.ConnectError("refused"))
    with pytest.raises(gw.APIConnectionError, match="refused"):
        await session.request("GET", "/down")

    router.get("/slow").mock(side_effect=httpx.ReadTimeout("slow"))
    with pytest.raises(gw.APITimeoutError):
        await session.request("GET", "/slow")


async def test_zero_retries(router: respx.MockRouter, authorize: respx.Route) -> None:
    route = router.get("/ping").respond(503)
    async with _session(retry_policy=None, max_retries=0) as s:
        with pytest.raises(gw.InternalServerError):
            await s.request("GET", "/ping")
    assert route.call_count == 1


async def test_send_is_never_repeated_after_its_body_may_have_left(
    router: respx.MockRouter, session: gw.Session
) -> None:
    for side_effect in (httpx.Response(500), httpx.ReadError("reset"), httpx.Response(503)):
        route = router.post("/message/S/P").mock(side_effect=[side_effect, httpx.Response(202)])
        route.reset()
        with pytest.raises((gw.InternalServerError, gw.APIConnectionError)):
            await session.request("POST", "/message/S/P", content=b"ISA*00")
        assert route.call_count == 1


async def test_send_is_retried_when_the_connection_was_never_made(
    router: respx.MockRouter, session: gw.Session
) -> None:
    route = router.post("/message/S/P")
    route.side_effect = [httpx.ConnectError("refused"), httpx.Response(202)]
    response = await session.request("POST", "/message/S/P", content=b"ISA*00")
    assert response.status_code == 202
    assert route.call_count == 2


async def test_idempotent_post_is_retried(router: respx.MockRouter, session: gw.Session) -> None:
    route = router.post("/message/queued/x/stop")
    route.side_effect = [httpx.Response(503), httpx.Response(200, json={"message": "ok"})]
    await session.request("POST", "/message/queued/x/stop", idempotent=True)
    assert route.call_count == 2


async def test_retry_after_is_honoured(
    router: respx.MockRouter, session: gw.Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    slept: list[float] = []
    real_sleep = anyio.sleep

    async def fake_sleep(seconds: float) -> None:
        slept.append(seconds)
        await real_sleep(0)

    monkeypatch.setattr("as2gw_async._core.session.anyio.sleep", fake_sleep)
    route = router.get("/ping")
    route.side_effect = [httpx.Response(429, headers={"Retry-After": "7"}), httpx.Response(200)]
    await session.request("GET", "/ping")
    assert slept == [7.0]
    assert session.stats.rate_limited == 1


async def test_broken_body_is_retried_through_consume(
    router: respx.MockRouter, session: gw.Session
) -> None:
    route = router.get("/file")
    route.side_effect = [
        httpx.Response(200, content=b"partial"),
        httpx.Response(200, content=b"whole"),
    ]
    seen: list[bytes] = []

    async def consume(response: httpx.Response) -> bytes:
        body = await response.aread()
        seen.append(body)
        if body == b"partial":
            raise gw.IntegrityError("short body")
        return body

    assert await session.stream("GET", "/file", consume) == b"whole"
    assert seen == [b"partial", b"whole"]


async def test_other_errors_from_consume_propagate_untouched(
    router: respx.MockRouter, session: gw.Session
) -> None:
    route = router.get("/file").respond(200, content=b"x")

    async def consume(response: httpx.Response) -> None:
        raise FileExistsError("already there")

    with pytest.raises(FileExistsError):
        await session.stream("GET", "/file", consume)
    assert route.call_count == 1


# -- secrets ----------------------------------------------------------------------------


async def test_password_and_token_never_leak(
    router: respx.MockRouter,
    authorize: respx.Route,
    session: gw.Session,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    router.get("/ping").mock(side_effect=[httpx.Response(503), httpx.Response(200)])
    router.get("/missing").respond(404, json={"message": "No message found"})
    await session.request("GET", "/ping")
    with pytest.raises(gw.NotFoundError) as info:
        await session.request("GET", "/missing")

    texts = [
        caplog.text,
        repr(session),
        str(session.__dict__.get("_tokens")),
        repr(session._tokens.token),
        str(info.value),
        repr(info.value),
        repr(info.value.request.headers),
    ]
    assert "GET https://api.test/v1/ping -> 503" in caplog.text
    for text in texts:
        assert PASSWORD not in text
        assert TOKEN not in text


# -- construction -----------------------------------------------------------------------


def test_from_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AS2GW_USERNAME", USER)
    monkeypatch.setenv("AS2GW_PASSWORD", PASSWORD)
    monkeypatch.setenv("AS2GW_BASE_URL", "https://gw.example/v1/")
    s = gw.Session.from_env(rate_limit=None)
    assert s.username == USER
    assert s.base_url == "https://gw.example/v1"
    monkeypatch.delenv("AS2GW_PASSWORD")
    with pytest.raises(ValueError, match="AS2GW_PASSWORD"):
        gw.Session.from_env()


def test_credentials_are_required() -> None:
    with pytest.raises(ValueError, match="required"):
        gw.Session("", PASSWORD)


async def test_injected_client_is_used_and_left_open(
    router: respx.MockRouter, authorize: respx.Route
) -> None:
    client = httpx.AsyncClient(headers={"X-Trace": "1"})
    route = router.get("/ping").respond(200)
    async with _session(http_client=client) as s:
        await s.request("GET", "/ping")
    assert route.calls.last.request.headers["x-trace"] == "1"
    assert not client.is_closed
    await client.aclose()


# -- rate limit and the backend ---------------------------------------------------------


async def test_rate_limiter_never_exceeds_its_window() -> None:
    from as2gw_async.ratelimit import RateLimiter

    limiter = RateLimiter(gw.RateLimit(5, 0.2))
    starts: list[float] = []

    async def one() -> None:
        await limiter.acquire()
        starts.append(anyio.current_time())

    async with anyio.create_task_group() as tg:
        for _ in range(16):
            tg.start_soon(one)
    starts.sort()
    for i in range(len(starts) - 5):
        assert starts[i + 5] - starts[i] >= 0.2 - 1e-6


def test_core_runs_on_trio() -> None:
    """Auth and a GET on trio: the core uses anyio, nothing asyncio-only."""
    pytest.importorskip("trio")

    async def main() -> int:
        import sniffio

        assert sniffio.current_async_library() == "trio"
        with respx.mock(base_url=BASE) as mock:
            mock.post("/authorize").respond(200, json={"token": TOKEN, "expiry": FAR_EXPIRY_MS})
            mock.get("/message/received/x").respond(200, json={"as2MessageId": "x"})
            async with _session() as s:
                async with anyio.create_task_group() as tg:
                    for _ in range(20):
                        tg.start_soon(s.request, "GET", "/message/received/x")
                return s.stats.authorizations

    assert anyio.run(main, backend="trio") == 1
