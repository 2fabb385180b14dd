"""mft presigned downloads with respx: what the emulator's store never does."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
import respx

import as2gw_async as gw
from as2gw_async import mft

BASE = "https://api.mft.test"
STORE = "https://bucket.s3.test"
MID = "<1@mftgateway.com>"
Q = "%3C1%40mftgateway.com%3E"
BODY = b"0123456789" * 1000
FAST = gw.RetryPolicy(max_retries=1, initial_delay=0.0, max_delay=0.0)


@pytest.fixture
async def session() -> AsyncIterator[tuple[mft.Session, respx.MockRouter]]:
    with respx.mock(assert_all_called=False) as router:
        router.post(f"{BASE}/authorize").respond(200, json={"apiToken": "tok", "refreshToken": "r"})
        async with mft.Session("u", "p", base_url=BASE, rate_limit=None, retry_policy=FAST) as s:
            yield s, router


def links(*urls: str) -> list[httpx.Response]:
    return [
        httpx.Response(200, json={"total": 1, "attachments": [{"name": "a.bin", "url": u}]})
        for u in urls
    ]


async def test_a_store_that_ignores_range_restarts_the_file(
    session: tuple[mft.Session, respx.MockRouter], tmp_path: Path
) -> None:
    s, router = session
    router.get(f"{BASE}/message/inbox/{Q}/attachments").mock(
        side_effect=links(f"{STORE}/a?sig=1", f"{STORE}/a?sig=2")
    )
    short = httpx.Response(200, headers={"Content-Length": str(len(BODY))}, content=BODY[:4000])
    first = router.get(f"{STORE}/a", params={"sig": "1"}).mock(
        side_effect=[short, httpx.Response(403, text="<Error>expired</Error>")]
    )
    second = router.get(f"{STORE}/a", params={"sig": "2"}).respond(200, content=BODY)
    [f] = await s.inbox.download_attachments(MID, tmp_path)
    assert f.path.read_bytes() == BODY
    assert first.call_count == 2
    assert second.calls.last.request.headers["Range"] == "bytes=4000-"  # asked to resume...
    assert "Authorization" not in second.calls.last.request.headers
    assert [p.name for p in tmp_path.iterdir()] == ["a.bin"]  # ...and restarted cleanly


async def test_a_resumed_range_is_appended(
    session: tuple[mft.Session, respx.MockRouter], tmp_path: Path
) -> None:
    s, router = session
    router.get(f"{BASE}/message/inbox/{Q}/attachments").mock(
        side_effect=links(f"{STORE}/a?sig=1", f"{STORE}/a?sig=2")
    )
    short = httpx.Response(
        200, headers={"Content-Length": str(len(BODY)), "ETag": '"e1"'}, content=BODY[:4000]
    )
    router.get(f"{STORE}/a", params={"sig": "1"}).mock(
        side_effect=[short, httpx.Response(403, text="<Error>expired</Error>")]
    )
    rest = httpx.Response(
        206,
        headers={"Content-Range": f"bytes 4000-{len(BODY) - 1}/{len(BODY)}", "ETag": '"e1"'},
        content=BODY[4000:],
    )
    second = router.get(f"{STORE}/a", params={"sig": "2"}).mock(return_value=rest)
    [f] = await s.inbox.download_attachments(MID, tmp_path)
    assert f.path.read_bytes() == BODY
    assert second.calls.last.request.headers["If-Range"] == '"e1"'


async def test_a_store_error_is_typed_and_leaves_nothing(
    session: tuple[mft.Session, respx.MockRouter], tmp_path: Path
) -> None:
    s, router = session
    router.get(f"{BASE}/message/inbox/{Q}/attachments").mock(side_effect=links(f"{STORE}/a?sig=1"))
    router.get(f"{STORE}/a").respond(404, text="<Error><Code>NoSuchKey</Code></Error>")
    with pytest.raises(gw.NotFoundError):
        await s.inbox.download_attachments(MID, tmp_path)
    assert list(tmp_path.iterdir()) == []


def _named(router: respx.MockRouter, *names: str) -> None:
    """The attachments answer of MID: one link per name, each body the link's number."""
    router.get(f"{BASE}/message/inbox/{Q}/attachments").respond(
        200,
        json={"attachments": [{"name": n, "url": f"{STORE}/{i}"} for i, n in enumerate(names)]},
    )
    for i in range(len(names)):
        router.get(f"{STORE}/{i}").respond(200, content=str(i).encode())


async def test_two_attachments_with_one_long_name_both_arrive(
    session: tuple[mft.Session, respx.MockRouter], tmp_path: Path
) -> None:
    # A repeated name already at the 255-byte limit: its numbered copy is cut to fit, not
    # refused by the file system (ENAMETOOLONG failed the whole message, every time).
    s, router = session
    name = "a" * 251 + ".bin"
    _named(router, name, name)
    files = await s.inbox.download_attachments(MID, tmp_path)
    assert files[0].name == name
    assert files[1].name == "a" * 247 + " (2).bin"
    assert [f.path.read_bytes() for f in files] == [b"0", b"1"]


async def test_clashing_attachment_names_are_numbered_ignoring_case(
    session: tuple[mft.Session, respx.MockRouter], tmp_path: Path
) -> None:
    s, router = session
    _named(router, "a.txt", "A.TXT", "a.txt", "notes", "NOTES", ".txt", "../x/a.txt")
    files = await s.inbox.download_attachments(MID, tmp_path)
    assert [f.name for f in files] == [
        "a.txt",
        "A (2).TXT",
        "a (3).txt",
        "notes",
        "NOTES (2)",
        "txt",
        "a (4).txt",
    ]
    assert [f.path for f in files] == [tmp_path / f.name for f in files]
    assert [f.path.read_bytes() for f in files] == [str(i).encode() for i in range(7)]
