"""The paging iterator's stall limit, exactly: 49 fruitless pages in a row are tolerated,
the 50th ends the iteration with `InconsistentListingError`.

A listing that grows at the top by a whole page before every request makes each page
bring nothing new (the iterator learns the shift one request late). The iterator gives up
with a clear error once more than 50 requests in a row left it where it was, and not one
request sooner. Kills the mutants of ``endpoints/_paging.py`` that move the limit
(``stalled > limit`` -> ``>=``, the constant changed, the counter not reset on progress).
"""

from __future__ import annotations

from collections.abc import Callable

import anyio
import httpx
import pytest
import respx

import as2gw_async as gw

STALL_LIMIT = 49  # tolerated; the 50th fruitless page gives up (_paging._MAX_STALLED_FETCHES)
PAGE = 10


class GrowingFolder:
    """A received folder, newest first, that gets ``PAGE`` new messages before each listing
    request whose number (from 0) ``flood`` accepts."""

    def __init__(self, router: respx.MockRouter, count: int, flood: Callable[[int], bool]) -> None:
        self.ids = [f"<m{n}@x>" for n in range(count)]  # newest first
        self.flood = flood
        self.requests = 0
        router.get("/message/received").mock(side_effect=self.on_list)

    def on_list(self, request: httpx.Request) -> httpx.Response:
        if self.flood(self.requests):
            self.ids[:0] = [f"<flood{self.requests}.{n}@x>" for n in range(PAGE)]
        self.requests += 1
        offset = int(request.url.params["pageOffset"])
        length = int(request.url.params["pageLength"])
        page = self.ids[offset * length : (offset + 1) * length]
        body = {
            "totalRecords": len(self.ids),
            "records": [{"as2MessageId": mid} for mid in page],
        }
        return httpx.Response(200, json=body)


async def _read(session: gw.Session) -> list[str]:
    return [m.as2_message_id async for m in session.received.iter(page_length=PAGE, prefetch=0)]


async def test_stalling_exactly_the_limit_is_still_read_completely(
    router: respx.MockRouter, session: gw.Session
) -> None:
    folder = GrowingFolder(router, 3 * PAGE, lambda n: 1 <= n <= STALL_LIMIT)
    original = list(folder.ids)
    got = await _read(session)
    assert len(got) == len(set(got))
    assert set(original) <= set(got)


async def test_one_stall_more_gives_up_clearly(
    router: respx.MockRouter, session: gw.Session
) -> None:
    folder = GrowingFolder(router, 3 * PAGE, lambda n: 1 <= n <= STALL_LIMIT + 1)
    message = (  # where, what happened, and what to do about it
        r"^GET /message/received: 50 pages in a row brought no record not listed already, "
        r"while the listing kept changing faster than it could be read; try again, or page "
        r"with a filter$"
    )
    with pytest.raises(gw.AS2GatewayError, match=message):
        await _read(session)
    # the first page, then STALL_LIMIT + 1 fruitless ones; nothing after giving up
    assert folder.requests == STALL_LIMIT + 2


async def test_progress_resets_the_count(router: respx.MockRouter, session: gw.Session) -> None:
    """Stalls separated by progress do not add up: 2 x 40 stalls, one good page between."""
    burst = 40  # request burst + 1 sees no flood, so it progresses
    folder = GrowingFolder(
        router, 6 * PAGE, lambda n: 1 <= n <= burst or burst + 2 <= n <= 2 * burst + 1
    )
    original = list(folder.ids)
    got = await _read(session)
    assert set(original) <= set(got)
    assert len(got) == len(set(got))
    assert folder.requests > 2 * burst + 2


async def test_after_the_listing_changed_pages_are_fetched_one_at_a_time(
    router: respx.MockRouter, session: gw.Session
) -> None:
    """Prefetching stops once ``totalRecords`` moved: pages fetched ahead would be read at
    positions that keep shifting. Kills ``state.changed = True`` -> ``False`` / ``None``
    (the iterator would go on fetching 1 + prefetch pages at a time)."""
    folder = GrowingFolder(router, 20 * PAGE, lambda n: n == 1)  # one change, early
    in_flight = 0
    peaks: list[int] = []  # the concurrency seen by each request, in arrival order

    async def on_list(request: httpx.Request) -> httpx.Response:
        nonlocal in_flight
        in_flight += 1
        peaks.append(in_flight)
        await anyio.sleep(0)  # let any request started alongside arrive too
        await anyio.sleep(0)
        in_flight -= 1
        return folder.on_list(request)

    router.get("/message/received").mock(side_effect=on_list)
    original = list(folder.ids)
    ids = [m.as2_message_id async for m in session.received.iter(page_length=PAGE, prefetch=3)]
    assert set(original) <= set(ids)
    assert len(ids) == len(set(ids))
    # the first window (request 0, then up to 1 + 3 at once) saw the change; after it,
    # every request was alone
    assert max(peaks) > 1
    assert peaks[5:] == [1] * len(peaks[5:])
