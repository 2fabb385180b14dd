"""The auto-paging iterator behind every folder's ``iter()``, and why it can be trusted.

The list endpoints page by page *number*: page ``q`` is the records at positions
``q*L .. q*L+L-1`` of the listing as it is when the request is served. When the folder
changes between two requests, positions shift, and a naive ``q = 0, 1, 2...`` loop repeats
messages (new ones pushed the rest down) or skips them (read ones left an ``unread_only``
listing and pulled the rest up -- the classic bug).

The fix used here: every response carries ``totalRecords``, and its difference from the
first response's, ``delta``, is how far the listing has shifted since the iteration
began, provided each change happened *ahead of* every message still to be read: a message
arriving at the top (new messages in the default newest-first order), or a message the
caller has already been given leaving the listing (marked read while iterating an
``unread_only`` listing). Each change then moves every unread message by exactly one
place, and together by ``delta``. So a page fetched at offset ``q*L`` with that total
holds the messages that were at positions ``q*L - delta ..`` when the iteration began.

The iterator keeps ``covered``: every message at a starting position below it has been
fetched. A page whose translated range starts at or below ``covered`` extends it; one that
starts beyond (the listing shrank while it was in flight) is held until the gap before it
has been fetched again. The iteration ends when ``covered`` reaches the first response's
``totalRecords``, or a page reaches the end of the listing. Messages are yielded in the
order of their starting positions, deduplicated by key, and only once the gap before them
is closed -- which is what keeps the caller's marks ahead of everything not yet read.

So: every message present from the start to the end of the iteration is yielded exactly
once; a message that arrives or leaves during it may or may not be; none is yielded twice.
Messages leaving the listing *before* the iterator has yielded them (another consumer
marking them read, say) break the premise, and a message may then be missed: run the
iteration again. While the listing stays unchanged pages are fetched ``prefetch`` ahead,
concurrently; once it changes, one at a time.
"""

from __future__ import annotations

import math
from collections.abc import AsyncIterator, Awaitable, Callable, Hashable, Sequence
from typing import Generic, TypeVar

import anyio
from attrs import define

from ..errors import AS2GatewayError
from ..models import Page

__all__ = ["DEFAULT_PREFETCH", "iterate"]

T = TypeVar("T")

#: Pages fetched ahead, concurrently with the one needed, while the listing is unchanged.
DEFAULT_PREFETCH = 2
#: Requests in a row that may leave ``covered`` where it was before the iterator gives up.
_MAX_STALLED_FETCHES = 50

FetchPage = Callable[[int, int], Awaitable[Page[T]]]


@define
class _Chunk(Generic[T]):
    """A fetched page translated to starting positions: it covers ``[start, end)``."""

    start: int
    end: float
    records: Sequence[T]
    delta: int


def _chunk(page: Page[T], offset: int, length: int, baseline: int) -> _Chunk[T]:
    delta = page.total_records - baseline
    first = offset * length
    count = len(page.records)
    at_end = count < length or first + count >= page.total_records
    end = math.inf if at_end else first + count - delta
    return _Chunk(first - delta, end, page.records, delta)


async def _fetch_all(
    fetch: FetchPage[T], offsets: Sequence[int], length: int
) -> list[tuple[int, Page[T]]]:
    """The pages at ``offsets``, fetched concurrently, in the order they completed."""
    if len(offsets) == 1:
        return [(offsets[0], await fetch(offsets[0], length))]
    done: list[tuple[int, Page[T]]] = []

    async def one(offset: int) -> None:
        done.append((offset, await fetch(offset, length)))

    async with anyio.create_task_group() as tg:
        for offset in offsets:
            tg.start_soon(one, offset)
    return done


async def iterate(
    fetch: FetchPage[T],
    *,
    page_length: int,
    prefetch: int,
    key: Callable[[T], Hashable],
) -> AsyncIterator[T]:
    """Every record of a paged listing once, even while it changes (see the module doc).

    ``fetch(page_offset, page_length)`` returns one page; ``key`` identifies a record.
    """
    first = await fetch(0, page_length)
    baseline = first.total_records
    seen: set[Hashable] = set()
    held: list[_Chunk[T]] = [_chunk(first, 0, page_length, baseline)]
    covered: float = 0
    delta = 0
    changed = False
    stalled = 0
    while True:
        # Yield, in order, every held page that now joins the covered range.
        progressed = False
        while True:
            ready = [c for c in held if c.start <= covered]
            if not ready:
                break
            chunk = min(ready, key=lambda c: c.start)
            held.remove(chunk)
            if chunk.end > covered:
                covered = chunk.end
                progressed = True
            for record in chunk.records:
                k = key(record)
                if k not in seen:
                    seen.add(k)
                    yield record
        if covered >= baseline:
            return
        stalled = 0 if progressed else stalled + 1
        if stalled > _MAX_STALLED_FETCHES:
            raise AS2GatewayError(
                f"the listing kept changing faster than it could be read ({stalled} pages "
                "in a row brought nothing new); try again, or page with a filter"
            )
        # Fetch the page holding the first position not yet covered, and more while calm.
        start = max(0, int(covered) + delta) // page_length
        count = 1 if changed or held else 1 + prefetch
        current_total = baseline + delta
        offsets = [start] + [
            q for q in range(start + 1, start + count) if q * page_length < current_total
        ]
        for offset, page in await _fetch_all(fetch, offsets, page_length):
            chunk = _chunk(page, offset, page_length, baseline)
            if chunk.delta != delta:
                changed = True
                delta = chunk.delta
            held.append(chunk)
        # Pages beyond a gap are kept only as a shortcut: dropping them is always safe.
        held.sort(key=lambda c: c.start)
        del held[prefetch + 2 :]
