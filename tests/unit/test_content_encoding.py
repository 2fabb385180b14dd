"""Issue 13 item 3: Content-Encoding is checked, not trusted."""

from __future__ import annotations

import gzip
import zlib
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
import respx

import as2gw_async as gw

from .conftest import BASE, FAST_RETRIES, PASSWORD, USER

PATH = "/message/received/m1/attachments"
BODY = b"ISA*00*" + bytes(range(256)) * 400


def _chunked(data: bytes) -> AsyncIterator[bytes]:
    """A body without Content-Length (chunked), as a server that streams would send."""

    async def gen() -> AsyncIterator[bytes]:
        for i in range(0, len(data), 4096):
            yield data[i : i + 4096]

    return gen()


def _gzip_response(data: bytes) -> httpx.Response:
    return httpx.Response(
        200,
        headers={"Content-Encoding": "gzip", "Content-Disposition": 'attachment; filename="a.edi"'},
        content=_chunked(data),
    )


async def test_downloads_ask_for_an_identity_body(
    router: respx.MockRouter, session: gw.Session, tmp_path: Path
) -> None:
    route = router.get(PATH).respond(200, content=BODY)
    await session.received.download_attachment("m1", tmp_path)
    assert route.calls.last.request.headers["accept-encoding"] == "identity"


async def test_a_whole_gzip_body_is_decoded(
    router: respx.MockRouter, session: gw.Session, tmp_path: Path
) -> None:
    router.get(PATH).mock(side_effect=lambda r: _gzip_response(gzip.compress(BODY)))
    f = await session.received.download_attachment("m1", tmp_path)
    assert f.path.read_bytes() == BODY


async def test_a_gzip_body_cut_short_is_never_published(
    router: respx.MockRouter, session: gw.Session, tmp_path: Path
) -> None:
    whole = gzip.compress(BODY)
    route = router.get(PATH).mock(side_effect=lambda r: _gzip_response(whole[: len(whole) // 2]))
    with pytest.raises(gw.IntegrityError, match="cut short"):
        await session.received.download_attachment("m1", tmp_path)
    assert list(tmp_path.iterdir()) == []
    assert route.call_count == 4  # retried like a short body: the next try may be whole


async def test_a_deflate_body_cut_short_is_an_error_too(
    router: respx.MockRouter, session: gw.Session
) -> None:
    whole = zlib.compress(BODY)
    router.get("/json").mock(
        side_effect=lambda r: httpx.Response(
            200, headers={"Content-Encoding": "deflate"}, content=_chunked(whole[:-10])
        )
    )
    with pytest.raises(gw.ContentEncodingError):
        await session.request("GET", "/json")


async def test_an_undecodable_body_is_a_typed_retryable_error(
    router: respx.MockRouter, session: gw.Session, tmp_path: Path
) -> None:
    route = router.get(PATH).mock(side_effect=lambda r: _gzip_response(b"not gzip at all" * 10))
    with pytest.raises(gw.ContentEncodingError, match="undecodable gzip"):
        await session.received.download_attachment("m1", tmp_path)
    assert route.call_count == 4
    assert list(tmp_path.iterdir()) == []


async def test_a_gzip_bomb_stops_at_the_cap_and_is_not_retried(
    router: respx.MockRouter, authorize: respx.Route, tmp_path: Path
) -> None:
    bomb = gzip.compress(b"\0" * (8 << 20))  # 8 MiB of zeros in ~8 KiB
    route = router.get(PATH).mock(side_effect=lambda r: _gzip_response(bomb))
    async with gw.Session(
        USER,
        PASSWORD,
        base_url=BASE,
        rate_limit=None,
        retry_policy=FAST_RETRIES,
        max_decoded_size=1 << 20,
    ) as s:
        with pytest.raises(gw.BodyTooLargeError, match="more than 1048576 bytes"):
            await s.received.download_attachment("m1", tmp_path)
    assert route.call_count == 1
    assert list(tmp_path.iterdir()) == []


async def test_the_cap_applies_to_json_calls_too(
    router: respx.MockRouter, authorize: respx.Route
) -> None:
    bomb = gzip.compress(b" " * (4 << 20))
    router.get("/json").mock(
        side_effect=lambda r: httpx.Response(
            200, headers={"Content-Encoding": "gzip"}, content=bomb
        )
    )
    async with gw.Session(
        USER, PASSWORD, base_url=BASE, rate_limit=None, max_decoded_size=1 << 20
    ) as s:
        with pytest.raises(gw.BodyTooLargeError):
            await s.request("GET", "/json")
