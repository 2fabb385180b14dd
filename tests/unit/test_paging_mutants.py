"""The paging engine's limits pinned by ``tools/mutation.py paging``'s survivors: each test's
comment names the mutants it kills (see docs/mutation.md for the ones left as equivalent).
"""

from __future__ import annotations

import anyio
import pytest

from as2gw_async import InconsistentListingError
from as2gw_async.endpoints._paging import Fetched, StopRule, iterate


async def test_an_empty_page_before_the_total_is_tried_three_times_then_named() -> None:
    # The total says 50 records; from page 1 on, every page comes back empty. Page 1 is
    # asked for three times in all (_MAX_STALE_PAGES), then the error names the endpoint;
    # the records of page 0 were yielded first. kills in `_State._short`:
    # `self.stale += 1` -> `+= 2`, `self.stale >= _MAX_STALE_PAGES` -> `>`, and
    # `endpoint=self.endpoint` -> `endpoint=None`
    calls: list[int] = []

    async def fetch(page: int, length: int) -> Fetched[int]:
        calls.append(page)
        await anyio.sleep(0)
        items = list(range(length)) if page == 0 else []
        return Fetched(items, len(items), 50)

    got: list[int] = []

    async def walk() -> None:
        pages = iterate(
            fetch,
            page_length=10,
            prefetch=0,
            key=lambda x: x,
            endpoint="GET /test",
            stop=StopRule.TOTAL,
        )
        async for x in pages:
            got.append(x)

    with pytest.raises(InconsistentListingError) as raised:
        await walk()
    assert got == list(range(10))
    assert calls == [0, 1, 1, 1]
    assert raised.value.endpoint == "GET /test"
    assert str(raised.value) == (
        "GET /test returned an empty page 1 (of 10) although its totalRecords is 50: the "
        "listing does not add up"
    )


async def test_a_listing_growing_where_it_is_read_gives_up_after_the_stall_limit() -> None:
    # Before every request after the first, ten new records are inserted exactly where the
    # page asked for starts: each page brings only new records (so no page is "stale"), yet
    # the shift they cause keeps the covered range from moving. After _MAX_STALLED_FETCHES
    # passes without progress (plus the one that exceeds it) the walk gives up, naming the
    # endpoint, having yielded every record it fetched. kills in `iterate`: `stalled = 1`,
    # `progressed = True`, `stalled = 0 if progressed or True`, `1 if progressed`,
    # `stalled - 1`, `stalled >= _MAX_STALLED_FETCHES`, `endpoint=None`, the message
    from as2gw_async.endpoints._paging import _MAX_STALLED_FETCHES

    listing = list(range(30))
    fresh = iter(range(1000, 10**6))
    calls: list[int] = []

    async def fetch(page: int, length: int) -> Fetched[int]:
        if calls:
            at = page * length
            listing[at:at] = [next(fresh) for _ in range(length)]
        calls.append(page)
        await anyio.sleep(0)
        items = listing[page * length : (page + 1) * length]
        return Fetched(items, len(items), len(listing))

    got: list[int] = []

    async def walk() -> None:
        pages = iterate(fetch, page_length=10, prefetch=0, key=lambda x: x, endpoint="GET /grow")
        async for x in pages:
            got.append(x)

    with pytest.raises(InconsistentListingError) as raised:
        await walk()
    stalled = _MAX_STALLED_FETCHES + 1
    assert len(calls) == 1 + stalled
    assert raised.value.endpoint == "GET /grow"
    assert str(raised.value) == (
        f"GET /grow: the listing kept changing faster than it could be read ({stalled} "
        "pages in a row brought nothing new); try again, or page with a filter"
    )
    assert got[:10] == list(range(10))
    assert len(got) == len(set(got)) == 10 * len(calls)


async def test_a_server_ignoring_the_page_offset_is_named_as_such() -> None:
    # Every request returns page 0 with a steady total: after _MAX_STALE_PAGES pages that
    # add nothing the walk stops with the "held still" reading. kills in
    # `_State._check_fresh`: `if self.changed or True` and the message's wording
    calls: list[int] = []

    async def fetch(page: int, length: int) -> Fetched[int]:
        calls.append(page)
        await anyio.sleep(0)
        return Fetched(list(range(length)), length, 50)

    async def walk() -> None:
        async for _ in iterate(
            fetch, page_length=10, prefetch=0, key=lambda x: x, endpoint="GET /same"
        ):
            pass

    with pytest.raises(InconsistentListingError) as raised:
        await walk()
    assert calls == [0, 1, 2, 3]
    assert str(raised.value) == (
        "GET /same: 3 pages in a row brought no record not listed already, while its total "
        "held still (the server seems to ignore pageOffset): the listing does not add up"
    )


async def test_a_capped_first_page_is_kept_not_fetched_again() -> None:
    # The server serves 4 records a page whatever is asked. Page 0 (asked for 10) is short
    # but starts at 0 whatever the length, so it is kept; the rest is asked for in pages
    # of 4. kills in `_State.take`: `offset == 0` -> `!= 0` / `== 1` (page 0 dropped and
    # fetched again)
    calls: list[tuple[int, int]] = []

    async def fetch(page: int, length: int) -> Fetched[int]:
        calls.append((page, length))
        await anyio.sleep(0)
        items = list(range(10))[page * length : page * length + min(length, 4)]
        return Fetched(items, len(items), 10)

    got = [
        x async for x in iterate(fetch, page_length=10, prefetch=0, key=lambda x: x, endpoint="e")
    ]
    assert got == list(range(10))
    assert calls == [(0, 10), (1, 4), (2, 4)]


async def test_a_page_without_the_total_it_needs_names_the_endpoint() -> None:
    # kills in `_State.total_of`: `endpoint=self.endpoint` -> `endpoint=None`
    async def fetch(page: int, length: int) -> Fetched[int]:
        return Fetched([1], 1, None)

    with pytest.raises(InconsistentListingError) as raised:
        async for _ in iterate(
            fetch, page_length=10, prefetch=0, key=lambda x: x, endpoint="GET /nototal"
        ):
            pass
    assert raised.value.endpoint == "GET /nototal"
    assert str(raised.value) == "GET /nototal gave a page without its total"


async def test_prefetch_one_keeps_two_pages_in_flight() -> None:
    # kills in `_fetch_window`: `window > 1` -> `window > 2` in the horizon (with prefetch=1
    # only the page needed would be fetched, one request at a time)
    in_flight = 0
    most = 0

    async def fetch(page: int, length: int) -> Fetched[int]:
        nonlocal in_flight, most
        in_flight += 1
        most = max(most, in_flight)
        for _ in range(5):
            await anyio.sleep(0)
        in_flight -= 1
        items = list(range(100))[page * length : (page + 1) * length]
        return Fetched(items, len(items), 100)

    got = [
        x async for x in iterate(fetch, page_length=10, prefetch=1, key=lambda x: x, endpoint="e")
    ]
    assert got == list(range(100))
    assert most == 2


async def test_one_record_pages_follow_a_listing_that_lost_its_first_record() -> None:
    # Pages of one record; after the first request the first record leaves the listing
    # (acknowledged elsewhere): page 1 now holds "c", and "b" has moved to position 0, so
    # page 0 is asked for again and nothing is skipped. kills in `_fetch_window`:
    # `max(0, covered + delta)` -> `max(1, ...)` (page 1 would be asked for forever)
    listing = ["a", "b", "c"]
    calls: list[int] = []

    async def fetch(page: int, length: int) -> Fetched[str]:
        if calls == [0]:
            listing.remove("a")
        calls.append(page)
        await anyio.sleep(0)
        items = listing[page * length : (page + 1) * length]
        return Fetched(items, len(items), len(listing))

    got = [
        x async for x in iterate(fetch, page_length=1, prefetch=0, key=lambda x: x, endpoint="e")
    ]
    assert got == ["a", "b", "c"]
    assert calls == [0, 1, 0]
