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
iteration again.

Fetching: while ``totalRecords`` stays what it was, a sliding window keeps up to
``1 + prefetch`` page requests in flight (the page needed and ``prefetch`` ahead), starting
the next page as soon as one completes. Once it changes, pages are fetched one at a time.
The window lives in a task group that is entered and left between two yields: it slides
over the next ``2 * (1 + prefetch)`` pages, lets the last requests finish, and closes
before any record is yielded (so the pipeline drains once per two windows, not once per
page). No request is ever running while the caller holds a record, and breaking out of
the loop leaves nothing behind (an async generator must not yield inside a task group).
"""

from __future__ import annotations

import math
from collections.abc import AsyncIterator, Awaitable, Callable, Hashable, Sequence
from typing import Generic, TypeVar

import anyio
import anyio.abc
from attrs import define

from ..errors import AS2GatewayError
from ..models import Page

__all__ = ["DEFAULT_PREFETCH", "iterate"]

T = TypeVar("T")

#: Pages fetched ahead, concurrently with the one needed, while the listing is unchanged.
#: The session's rate limiter paces every request, so a wider window cannot cause 429s.
DEFAULT_PREFETCH = 16
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


@define
class _State(Generic[T]):
    """What the iterator knows: the pages held, the range covered, the listing's shift."""

    baseline: int
    held: list[_Chunk[T]]
    covered: float = 0
    delta: int = 0
    changed: bool = False


def _chunk(page: Page[T], offset: int, length: int, baseline: int) -> _Chunk[T]:
    delta = page.total_records - baseline
    first = offset * length
    count = len(page.records)
    at_end = count < length or first + count >= page.total_records
    end = math.inf if at_end else first + count - delta
    return _Chunk(first - delta, end, page.records, delta)


async def _fetch_window(
    fetch: FetchPage[T], state: _State[T], *, page_length: int, prefetch: int
) -> None:
    """Fetch the page holding the first position not yet covered, and more while calm.

    While the listing is unchanged, up to ``1 + prefetch`` requests are in flight and each
    one that completes starts the next page, up to ``2 * (1 + prefetch)`` pages from the
    one needed (which bounds both the pages held and the fetching ahead of the caller).
    After a change (or with ``prefetch=0``) only the page needed is fetched. The call
    returns once every request it started has completed: the task group is gone before
    anything is yielded. A failed request cancels the others, and its own error is raised
    (not an exception group).
    """
    start = max(0, int(state.covered) + state.delta) // page_length
    window = 1 if state.changed or state.held else 1 + prefetch
    horizon = start + (2 * window if window > 1 else 1)
    in_flight: set[int] = set()
    next_offset = start

    def launch(tg: anyio.abc.TaskGroup) -> None:
        nonlocal next_offset
        while next_offset == start or (
            len(in_flight) < window
            and next_offset < horizon
            and next_offset * page_length < state.baseline + state.delta
            and not state.changed
        ):
            in_flight.add(next_offset)
            tg.start_soon(one, tg, next_offset)
            next_offset += 1

    async def one(tg: anyio.abc.TaskGroup, offset: int) -> None:
        try:
            page = await fetch(offset, page_length)
        except Exception as exc:  # the first error cancels the others and is raised as is
            errors.append(exc)
            tg.cancel_scope.cancel()
            return
        chunk = _chunk(page, offset, page_length, state.baseline)
        if chunk.delta != state.delta:
            state.changed = True
            state.delta = chunk.delta
        state.held.append(chunk)
        in_flight.discard(offset)
        launch(tg)

    errors: list[Exception] = []
    async with anyio.create_task_group() as tg:
        launch(tg)
    if errors:
        raise errors[0]


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
    state = _State(first.total_records, [_chunk(first, 0, page_length, first.total_records)])
    held = state.held
    seen: set[Hashable] = set()
    stalled = 0
    while True:
        # Yield, in order, every held page that now joins the covered range.
        progressed = False
        while True:
            ready = [c for c in held if c.start <= state.covered]
            if not ready:
                break
            chunk = min(ready, key=lambda c: c.start)
            held.remove(chunk)
            if chunk.end > state.covered:
                state.covered = chunk.end
                progressed = True
            for record in chunk.records:
                k = key(record)
                if k not in seen:
                    seen.add(k)
                    yield record
        if state.covered >= state.baseline:
            return
        stalled = 0 if progressed else stalled + 1
        if stalled > _MAX_STALLED_FETCHES:
            raise AS2GatewayError(
                f"the listing kept changing faster than it could be read ({stalled} pages "
                "in a row brought nothing new); try again, or page with a filter"
            )
        # No task outlives this call: nothing is running while a record is yielded.
        await _fetch_window(fetch, state, page_length=page_length, prefetch=prefetch)
        # Pages beyond a gap are kept only as a shortcut: dropping them is always safe.
        held.sort(key=lambda c: c.start)
        del held[2 * (1 + prefetch) + 1 :]
