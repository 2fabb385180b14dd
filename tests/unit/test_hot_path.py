"""The per-request path does no work it does not need (issue 18, per-file downloads).

Each cut of per-request CPU has two pins here: the behaviour it must keep (the debug line
still names the URL without its query, a gateway cookie still travels back, ...) and a
count of the work it removed (URL parses, cookie-jar passes), so a change that brings the
work back fails without any timing.
"""

from __future__ import annotations

import http.cookiejar
import logging
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from types import FrameType
from typing import Any

import httpx
import pytest
import respx

import as2gw_async as gw

LOGGER = "as2gw_async"
MSG = "<m1@example.com>"
ATTACHMENT = "/message/received/%3Cm1%40example.com%3E/attachments"


class Counter:
    def __init__(self) -> None:
        self.calls = 0


def _count(monkeypatch: pytest.MonkeyPatch, owner: Any, name: str) -> Counter:
    """Count calls of ``owner.name`` (a function or method), still calling it; calls made
    for respx (the mock transport parses each request's URL again) are not counted."""
    counter = Counter()
    original: Callable[..., Any] = getattr(owner, name)

    def counted(*args: Any, **kwargs: Any) -> Any:
        if not any(
            str(frame.f_globals.get("__name__", "")).startswith("respx")
            for frame in _callers(sys._getframe(1), 3)
        ):
            counter.calls += 1
        return original(*args, **kwargs)

    monkeypatch.setattr(owner, name, counted)
    return counter


def _callers(frame: FrameType | None, depth: int) -> Iterator[FrameType]:
    while frame is not None and depth > 0:
        yield frame
        frame = frame.f_back
        depth -= 1


@pytest.fixture
def quiet_logger() -> Iterator[None]:
    """The library's logger at its usual level in production: INFO and up."""
    log = logging.getLogger(LOGGER)
    level = log.level
    log.setLevel(logging.INFO)
    yield
    log.setLevel(level)


def _attachment(router: respx.MockRouter, **headers: str) -> respx.Route:
    return router.get(ATTACHMENT).respond(
        200,
        content=b"x" * 100,
        headers={"Content-Disposition": 'attachment; filename="a.txt"', **headers},
    )


# -- the debug line of every exchange ---------------------------------------------------------


async def test_debug_line_names_the_url_without_its_query(
    router: respx.MockRouter, session: gw.Session, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger=LOGGER)
    router.get("/ping").respond(200)
    await session.request("GET", "/ping", params={"sig": "query-SECRET"})
    assert "GET https://api.test/v1/ping -> 200 in " in caplog.text
    assert "query-SECRET" not in caplog.text


async def test_debug_line_off_builds_nothing(
    router: respx.MockRouter,
    session: gw.Session,
    quiet_logger: None,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    router.get("/ping").respond(200)
    await session.login()
    copies = _count(monkeypatch, httpx.URL, "copy_with")
    await session.request("GET", "/ping")
    assert copies.calls == 0  # the query-less URL exists only for the debug line


# -- the request's URL --------------------------------------------------------------------------


async def test_a_download_parses_its_url_once(
    router: respx.MockRouter,
    session: gw.Session,
    quiet_logger: None,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _attachment(router)
    await session.login()
    parses = _count(monkeypatch, httpx._urls, "urlparse")  # str -> URL
    reparses = _count(monkeypatch, httpx._urlparse, "urlparse")  # URL.copy_with
    f = await session.received.download_attachment(MSG, tmp_path)
    assert f.path.read_bytes() == b"x" * 100
    assert (parses.calls, reparses.calls) == (1, 0)


async def test_query_parameters_still_reach_the_gateway(
    router: respx.MockRouter, session: gw.Session, tmp_path: Path
) -> None:
    route = _attachment(router)
    await session.received.download_attachment(MSG, tmp_path, mark_as_read=False)
    assert route.calls.last.request.url.params["markAsRead"] == "false"


async def test_a_client_of_the_callers_keeps_its_own_query_parameters(
    router: respx.MockRouter, authorize: respx.Route, tmp_path: Path
) -> None:
    route = _attachment(router)
    client = httpx.AsyncClient(params={"tenant": "t1"})
    async with gw.Session(
        "user@example.com", "pa55-word", base_url="https://api.test/v1", http_client=client
    ) as s:
        await s.received.download_attachment(MSG, tmp_path)
    await client.aclose()
    assert route.calls.last.request.url.params["tenant"] == "t1"


# -- cookies --------------------------------------------------------------------------------------


async def test_a_gateway_cookie_still_travels_back(
    router: respx.MockRouter, session: gw.Session
) -> None:
    router.get("/a").respond(200, headers={"Set-Cookie": "lb=node-7; Path=/"})
    b = router.get("/b").respond(200)
    await session.request("GET", "/a")
    await session.request("GET", "/b")
    assert b.calls.last.request.headers["cookie"] == "lb=node-7"


async def test_an_answer_without_set_cookie_skips_the_cookie_jar(
    router: respx.MockRouter,
    session: gw.Session,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _attachment(router)
    await session.login()
    jar = _count(monkeypatch, http.cookiejar.CookieJar, "extract_cookies")
    await session.received.download_attachment(MSG, tmp_path)
    assert jar.calls == 0
    router.get("/c").respond(200, headers={"Set-Cookie": "lb=node-8; Path=/"})
    await session.request("GET", "/c")
    assert jar.calls == 1


@pytest.mark.parametrize("transport", ["httpx", "aiohttp"])
async def test_both_transports_own_a_client_that_skips_the_cookie_jar(transport: str) -> None:
    if transport == "aiohttp":
        pytest.importorskip("httpx_aiohttp")
    async with gw.Session("u@example.com", "pw-12345", transport=transport) as s:  # type: ignore[arg-type]
        response = httpx.Response(200, request=httpx.Request("GET", "https://api.test/v1/x"))
        jar = s._client.cookies.jar
        before = len(jar)
        s._client.cookies.extract_cookies(response)
        response.headers["Set-Cookie"] = "lb=node-9; Path=/"
        s._client.cookies.extract_cookies(response)
    assert (before, len(jar)) == (0, 1)
    assert type(s._client.cookies).extract_cookies is not httpx.Cookies.extract_cookies
