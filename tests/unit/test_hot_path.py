"""The per-request path does no work it does not need (issue 18, per-file downloads).

Each cut of per-request CPU has two pins here: the behaviour it must keep (the debug line
still names the URL without its query, a gateway cookie still travels back, ...) and a
count of the work it removed (URL parses, cookie-jar passes), so a change that brings the
work back fails without any timing.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
import respx

import as2gw_async as gw

LOGGER = "as2gw_async"


class Counter:
    def __init__(self) -> None:
        self.calls = 0


def _count(monkeypatch: pytest.MonkeyPatch, owner: Any, name: str) -> Counter:
    """Count calls of ``owner.name`` (a function or method), still calling it."""
    counter = Counter()
    original: Callable[..., Any] = getattr(owner, name)

    def counted(*args: Any, **kwargs: Any) -> Any:
        counter.calls += 1
        return original(*args, **kwargs)

    monkeypatch.setattr(owner, name, counted)
    return counter


@pytest.fixture
def quiet_logger() -> Iterator[None]:
    """The library's logger at its usual level in production: INFO and up."""
    log = logging.getLogger(LOGGER)
    level = log.level
    log.setLevel(logging.INFO)
    yield
    log.setLevel(level)


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
