"""Listings that do not add up (issue 13, items 7 and 8): capped pages, endless pages, bad records.

Each fake below is a server that breaks the spec in one way; the iterator must page on, stop
in a bounded number of requests, or report the bad record, and always raise a typed error.
"""

from __future__ import annotations

import logging
from typing import Any

import httpx
import pytest
import respx

import as2gw_async as gw


def record(i: int) -> dict[str, Any]:
    return {"as2MessageId": f"<m{i}@x>", "persistedTimestamp": 1_000_000 - i}


def capped(total: int, cap: int, *, clamp: bool) -> Any:
    """A server serving at most ``cap`` records a page whatever ``pageLength`` asks.

    ``clamp``: the page *number* counts in pages of ``cap`` (pageLength clamped); otherwise in
    pages of the requested length, truncated to ``cap``.
    """
    calls: list[tuple[int, int]] = []

    def on_list(request: httpx.Request) -> httpx.Response:
        offset = int(request.url.params["pageOffset"])
        length = int(request.url.params["pageLength"])
        calls.append((offset, length))
        first = offset * (min(length, cap) if clamp else length)
        chunk = [record(i) for i in range(first, min(first + min(length, cap), total))]
        return httpx.Response(200, json={"totalRecords": total, "records": chunk})

    on_list.calls = calls  # type: ignore[attr-defined]
    return on_list


@pytest.mark.parametrize("clamp", [True, False])
@pytest.mark.parametrize("prefetch", [0, 4])
async def test_pages_capped_by_the_server_are_paged_on(
    router: respx.MockRouter, session: gw.Session, clamp: bool, prefetch: int
) -> None:
    server = capped(35, 10, clamp=clamp)
    router.get("/message/received").mock(side_effect=server)
    ids = [m.as2_message_id async for m in session.received.iter(prefetch=prefetch)]
    assert ids == [f"<m{i}@x>" for i in range(35)]
    assert len(server.calls) <= 4 + 1 + prefetch  # page 0 at 100, then pages of the cap


async def test_the_same_page_forever_stops_in_a_bounded_number_of_requests(
    router: respx.MockRouter, session: gw.Session
) -> None:
    page = {"totalRecords": 10_000_000, "records": [record(i) for i in range(100)]}
    route = router.get("/message/received").respond(200, json=page)
    seen: list[str] = []

    async def walk() -> None:
        async for m in session.received.iter():
            seen.append(m.as2_message_id)

    with pytest.raises(gw.InconsistentListingError) as err:
        await walk()
    assert seen == [f"<m{i}@x>" for i in range(100)]  # each record once, then the error
    assert route.call_count <= 2 + 2 * (1 + gw.endpoints._paging.DEFAULT_PREFETCH)
    assert "GET /message/received" in str(err.value)
    assert err.value.endpoint == "GET /message/received"
    assert isinstance(err.value, gw.AS2GatewayError)


async def test_an_empty_page_before_the_total_is_inconsistent(
    router: respx.MockRouter, session: gw.Session
) -> None:
    route = router.get("/message/sent").respond(200, json={"totalRecords": 50, "records": []})
    with pytest.raises(gw.InconsistentListingError, match="GET /message/sent"):
        [m async for m in session.sent.iter(prefetch=0)]
    assert route.call_count < 10


async def test_pages_repeating_after_the_first_are_inconsistent(
    router: respx.MockRouter, session: gw.Session
) -> None:
    """A server ignoring pageOffset: page 0 every time."""

    def on_list(request: httpx.Request) -> httpx.Response:
        n = int(request.url.params["pageLength"])
        return httpx.Response(
            200, json={"totalRecords": 5000, "records": [record(i) for i in range(n)]}
        )

    route = router.get("/message/failed").mock(side_effect=on_list)
    with pytest.raises(gw.InconsistentListingError):
        [m async for m in session.failed.iter(page_length=10, prefetch=2)]
    assert route.call_count <= 12


# -- bad records (item 8) ------------------------------------------------------------------


def page_with(bad: dict[str, Any], total: int = 3) -> dict[str, Any]:
    return {"totalRecords": total, "records": [record(0), bad, record(2)]}


BAD_RECORDS = {
    "missing id": {"persistedTimestamp": 5},
    "null id": {"as2MessageId": None},
    "not an object": ["<m1@x>"],
    "attachments not a list": {"as2MessageId": "<m1@x>", "attachments": 7},
    "attachment without a name": {"as2MessageId": "<m1@x>", "attachments": [{"size": 3}]},
    "boolean neither true nor false": {"as2MessageId": "<m1@x>", "signed": "maybe"},
    "timestamp not a number": {"as2MessageId": "<m1@x>", "persistedTimestamp": "soon"},
}


@pytest.mark.parametrize("bad", BAD_RECORDS.values(), ids=BAD_RECORDS.keys())
async def test_a_bad_record_is_skipped_logged_and_counted_not_the_page(
    router: respx.MockRouter,
    session: gw.Session,
    bad: dict[str, Any],
    caplog: pytest.LogCaptureFixture,
) -> None:
    router.get("/message/received").respond(200, json=page_with(bad))
    with caplog.at_level(logging.WARNING, logger="as2gw_async"):
        page = await session.received.list()
    assert [m.as2_message_id for m in page.records] == ["<m0@x>", "<m2@x>"]
    assert page.total_records == 3
    assert len(page.bad_records) == 1
    err = page.bad_records[0]
    assert isinstance(err, gw.InvalidRecordError)
    assert err.endpoint == "GET /message/received"
    assert err.index == 1
    assert "GET /message/received" in caplog.text
    assert "record 1" in caplog.text


@pytest.mark.parametrize("bad", BAD_RECORDS.values(), ids=BAD_RECORDS.keys())
async def test_a_bad_record_raises_when_the_caller_asks(
    router: respx.MockRouter, session: gw.Session, bad: dict[str, Any]
) -> None:
    router.get("/message/received").respond(200, json=page_with(bad))
    with pytest.raises(gw.InvalidRecordError, match="GET /message/received") as err:
        await session.received.list(on_bad_record="raise")
    assert err.value.index == 1
    with pytest.raises(gw.InvalidRecordError):
        [m async for m in session.received.iter(on_bad_record="raise")]


async def test_iter_skips_a_bad_record_and_keeps_its_place(
    router: respx.MockRouter, session: gw.Session
) -> None:
    """A skipped record still takes its place on the page: nothing after it is lost."""
    records = [record(i) for i in range(25)]
    records[12] = {"as2MessageId": "<m12@x>", "attachments": "oops"}

    def on_list(request: httpx.Request) -> httpx.Response:
        offset = int(request.url.params["pageOffset"])
        length = int(request.url.params["pageLength"])
        chunk = records[offset * length : (offset + 1) * length]
        return httpx.Response(200, json={"totalRecords": 25, "records": chunk})

    router.get("/message/sent").mock(side_effect=on_list)
    iterator = session.sent.iter(page_length=5, prefetch=1)
    ids = [m.as2_message_id async for m in iterator]
    assert ids == [f"<m{i}@x>" for i in range(25) if i != 12]


async def test_null_attachments_read_as_none_and_string_booleans_as_what_they_say(
    router: respx.MockRouter, session: gw.Session
) -> None:
    odd = {
        "as2MessageId": "<m1@x>",
        "attachments": None,
        "signed": "false",
        "encrypted": "TRUE",
        "compressed": False,
        "mdnMessage": {"mdnError": "false"},
    }
    router.get("/message/received").respond(200, json=page_with(odd))
    page = await session.received.list()
    m = page.records[1]
    assert m.attachments == ()
    assert m.signed is False
    assert m.encrypted is True
    assert m.compressed is False
    assert m.mdn_message is not None
    assert m.mdn_message.mdn_error is False
    assert page.bad_records == ()


async def test_get_of_a_bad_record_raises_a_typed_error_naming_the_endpoint(
    router: respx.MockRouter, session: gw.Session
) -> None:
    router.get(url__regex=r".*/message/received/[^/]+$").respond(200, json={"subject": "x"})
    with pytest.raises(gw.InvalidRecordError, match=r"GET /message/received/"):
        await session.received.get("<m1@x>")


@pytest.mark.parametrize(
    "body",
    [
        {"records": []},
        {"totalRecords": "many", "records": []},
        {"totalRecords": 3, "records": {"a": 1}},
        ["not", "a", "page"],
    ],
)
async def test_a_page_that_is_not_a_page_raises_a_typed_error(
    router: respx.MockRouter, session: gw.Session, body: Any
) -> None:
    router.get("/message/queued").respond(200, json=body)
    with pytest.raises(gw.InvalidDataError, match="GET /message/queued"):
        await session.queued.list()
    with pytest.raises(gw.InvalidDataError):
        [m async for m in session.queued.iter()]


def test_on_bad_record_is_checked_before_any_request(session: gw.Session) -> None:
    with pytest.raises(ValueError, match="on_bad_record"):
        session.received.iter(on_bad_record="ignore")  # type: ignore[arg-type]
