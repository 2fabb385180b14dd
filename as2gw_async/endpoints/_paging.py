"""The auto-paging engine behind every ``iter()`` of every gateway, and why it can be trusted.

The interface (gateway-neutral: it imports no gateway's models, only the shared errors)::

    from as2gw_async.endpoints._paging import Fetched, StopRule, iterate

    async def fetch(page_number: int, page_length: int) -> Fetched[T]:
        body = ...one request...                       # the gateway's "fetch page n"
        return Fetched(items=records, size=records_on_the_page, total=total_or_None)

    iterate(fetch, page_length=100, prefetch=16, key=lambda r: r.id,
            endpoint="GET /message/received", stop=StopRule.TOTAL) -> AsyncIterator[T]

``stop`` is the gateway's stop rule: ``StopRule.TOTAL`` (v1: ``totalRecords``),
``StopRule.SHORT_PAGE`` (MFT: a page shorter than asked is the last),
``StopRule.TOTAL_ELSE_SHORT_PAGE`` (ECGrid: the total when a response gives one). ``size``
counts every record the page held, those the gateway's model layer skipped as bad
included, so that positions stay right. Without a total, the listing's shifts cannot be
seen: records are still deduplicated by ``key``, and prefetching may ask for up to
``prefetch`` pages past the end.

The auto-paging iterator behind every folder's ``iter()``, and why it can be trusted.

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

Listings that do not add up (a hostile or broken server), each bounded and typed:

- a page shorter than asked, before the total: the server caps its pages; the iteration
  goes on in pages of the cap (page 0 is kept, as it starts at 0 whatever the length; a
  later short page is fetched again in pages of the cap);
- pages that bring no record not fetched already while the total holds still (a server
  ignoring ``pageOffset``, the same page forever with a huge total): after
  ``_MAX_STALE_PAGES`` such pages in a row (``_MAX_STALLED_FETCHES`` while the listing is
  changing, when shifts can explain them) the window stops launching, every good record
  fetched is yielded, and `InconsistentListingError` names the endpoint;
- an empty page before the total: the same, after ``_MAX_STALE_PAGES`` tries.

A stale page is checked as it arrives, so a broken server costs at most one window of
requests (``1 + prefetch``) past the last page that brought something new.
"""

from __future__ import annotations

import enum
import math
from collections.abc import AsyncIterator, Awaitable, Callable, Hashable, Sequence
from typing import Generic, TypeVar

import anyio
import anyio.abc
from attrs import define, field

from ..errors import InconsistentListingError

__all__ = ["DEFAULT_PREFETCH", "FetchPage", "Fetched", "StopRule", "iterate"]

T = TypeVar("T")

#: Pages fetched ahead, concurrently with the one needed, while the listing is unchanged.
#: The session's rate limiter paces every request, so a wider window cannot cause 429s.
DEFAULT_PREFETCH = 16
#: Requests in a row that may leave ``covered`` where it was before the iterator gives up.
_MAX_STALLED_FETCHES = 50
#: Pages in a row that bring no record not already fetched, while the listing's total holds
#: still (nothing can explain them), before the listing is declared inconsistent.
_MAX_STALE_PAGES = 3


class StopRule(enum.Enum):
    """How a gateway's listing says it has ended (the per-gateway stop rule)."""

    #: v1: the listing holds the first response's ``total`` records; a page shorter than
    #: asked does not end it (a server capping its pages is paged on, in pages of the cap).
    TOTAL = "total"
    #: MFT: there is no total; a page shorter than asked is the last one.
    SHORT_PAGE = "short_page"
    #: ECGrid: ``TOTAL`` when a response gives a total, else ``SHORT_PAGE``.
    TOTAL_ELSE_SHORT_PAGE = "total_else_short_page"


@define(frozen=True)
class Fetched(Generic[T]):
    """One fetched page, as the engine needs it.

    ``items``: the records to yield, in listing order. ``size``: how many records the page
    held on the server, including any the gateway's model layer skipped as bad (they still
    take a position, so nothing after them is lost). ``total``: the listing's total if the
    response gave one, else None.
    """

    items: Sequence[T]
    size: int
    total: int | None = None


#: ``fetch(page_number, page_length) -> Fetched``: one request for one page.
FetchPage = Callable[[int, int], Awaitable[Fetched[T]]]


@define
class _Chunk(Generic[T]):
    """A fetched page translated to starting positions: it covers ``[start, end)``."""

    start: int
    end: float
    records: Sequence[T]


@define
class _State(Generic[T]):
    """What the iterator knows: the pages held, the range covered, the listing's shift."""

    fetch: FetchPage[T]
    key: Callable[[T], Hashable]
    endpoint: str
    stop: StopRule
    page_length: int
    baseline: float = math.inf
    held: list[_Chunk[T]] = field(factory=list)
    covered: float = 0
    delta: int = 0
    changed: bool = False
    #: keys of every record fetched (yielded or held): a page adding none is stale
    known: set[Hashable] = field(factory=set)
    stale: int = 0
    #: the first page number seen to end the listing: nothing past it is fetched
    end_page: float = math.inf
    #: set when the listing does not add up: the iterator raises it once it has yielded
    #: every good record fetched before
    broken: InconsistentListingError | None = None

    def total_of(self, page: Fetched[T]) -> int | None:
        """The page's total, if this gateway's stop rule uses one."""
        if self.stop is StopRule.SHORT_PAGE:
            return None
        if page.total is None and self.stop is StopRule.TOTAL:
            raise InconsistentListingError(
                f"{self.endpoint} gave a page without its total", endpoint=self.endpoint
            )
        return page.total

    def take(self, page: Fetched[T], offset: int, length: int) -> None:
        """Translate a page to starting positions and hold it (or note what is wrong)."""
        total = self.total_of(page)
        if total is not None and self.baseline == math.inf and offset == 0 and not self.held:
            self.baseline = total
        delta = 0 if total is None or self.baseline == math.inf else total - int(self.baseline)
        if delta != self.delta:
            self.changed = True
            self.delta = delta
        first = offset * length
        size = page.size
        if total is None:
            at_end = size < length
        else:
            at_end = first + size >= total
            if size < length and not at_end:  # short, yet the total says more follow
                self._short(page, offset, length, total)
                if not (offset == 0 and size):
                    return
        if at_end and delta == 0:
            self.end_page = min(self.end_page, offset)
        end = math.inf if at_end else first + size - delta
        self.held.append(_Chunk(first - delta, end, page.items))
        self._check_fresh(page.items)

    def _short(self, page: Fetched[T], offset: int, length: int, total: int) -> None:
        """A page shorter than asked before the end: the server caps its pages.

        Later pages are asked for in pages of the cap. Page 0 starts at 0 whatever the
        length, so it is kept; a later short page is dropped (it may have been served in
        pages of either size) and fetched again.
        """
        if page.size:
            self.page_length = min(self.page_length, page.size)
            return
        self.stale += 1
        if self.stale >= _MAX_STALE_PAGES:
            self.broken = InconsistentListingError(
                f"{self.endpoint} returned an empty page {offset} (of {length}) although "
                f"its totalRecords is {total}: the listing does not add up",
                endpoint=self.endpoint,
            )

    def _check_fresh(self, items: Sequence[T]) -> None:
        known = self.known
        before = len(known)
        known.update(map(self.key, items))
        if len(known) > before or not items:
            self.stale = 0
            return
        self.stale += 1
        limit = _MAX_STALLED_FETCHES if self.changed else _MAX_STALE_PAGES
        if self.stale >= limit:
            why = (
                "while the listing kept changing faster than it could be read; try again, "
                "or page with a filter"
                if self.changed
                else "while its total held still (the server seems to ignore pageOffset): "
                "the listing does not add up"
            )
            self.broken = InconsistentListingError(
                f"{self.endpoint}: {self.stale} pages in a row brought no record not listed "
                f"already, {why}",
                endpoint=self.endpoint,
            )


async def _fetch_window(state: _State[T], *, prefetch: int) -> None:
    """Fetch the page holding the first position not yet covered, and more while calm.

    While the listing is unchanged, up to ``1 + prefetch`` requests are in flight and each
    one that completes starts the next page, up to ``2 * (1 + prefetch)`` pages from the
    one needed (which bounds both the pages held and the fetching ahead of the caller).
    After a change (or with ``prefetch=0``) only the page needed is fetched. The call
    returns once every request it started has completed: the task group is gone before
    anything is yielded. A failed request cancels the others, and its own error is raised
    (not an exception group).
    """
    length = state.page_length
    start = max(0, int(state.covered) + state.delta) // length
    window = 1 if state.changed or state.held else 1 + prefetch
    horizon = start + (2 * window if window > 1 else 1)
    in_flight: set[int] = set()
    next_offset = start

    def launch(tg: anyio.abc.TaskGroup) -> None:
        nonlocal next_offset
        while next_offset == start or (
            len(in_flight) < window
            and next_offset < horizon
            and next_offset < state.end_page
            and next_offset * length < state.baseline + state.delta
            and not state.changed
            and state.broken is None
            and state.page_length == length
        ):
            in_flight.add(next_offset)
            tg.start_soon(one, tg, next_offset)
            next_offset += 1

    async def one(tg: anyio.abc.TaskGroup, offset: int) -> None:
        try:
            page = await state.fetch(offset, length)
            state.take(page, offset, length)
        except Exception as exc:  # the first error cancels the others and is raised as is
            errors.append(exc)
            tg.cancel_scope.cancel()
            return
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
    endpoint: str,
    stop: StopRule = StopRule.TOTAL,
) -> AsyncIterator[T]:
    """Every record of a paged listing once, even while it changes (see the module doc).

    ``fetch(page_number, page_length)`` returns one page as `Fetched`; ``key`` identifies a
    record; ``endpoint`` names the listing in errors; ``stop`` is the gateway's stop rule.
    """
    state: _State[T] = _State(fetch, key, endpoint, stop, page_length)
    state.take(await fetch(0, page_length), 0, page_length)
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
        if state.broken is not None:
            raise state.broken
        stalled = 0 if progressed else stalled + 1
        if stalled > _MAX_STALLED_FETCHES:
            raise InconsistentListingError(
                f"{endpoint}: the listing kept changing faster than it could be read "
                f"({stalled} pages in a row brought nothing new); try again, or page with a "
                "filter",
                endpoint=endpoint,
            )
        # No task outlives this call: nothing is running while a record is yielded.
        await _fetch_window(state, prefetch=prefetch)
        # Pages beyond a gap are kept only as a shortcut: dropping them is always safe.
        held.sort(key=lambda c: c.start)
        for dropped in held[2 * (1 + prefetch) + 1 :]:
            state.known.difference_update(k for k in map(key, dropped.records) if k not in seen)
        del held[2 * (1 + prefetch) + 1 :]
