"""ECGrid's list answers read into pages, and its stop rule, on the shared paging engine.

Three answer shapes are documented (spec "Paging"); `page_of` reads each:

1. ``data`` is the array (parcel reference pages): no total;
2. ``data`` is ``{"totalRecords", "pageNo", "recordsPerPage", "<items>": [...]}``;
3. ``data`` is the array, ``totalRecords`` (and ``pageNo``...) beside it in the envelope.

The stop rule: with a total, stop at it; without one, stop at a page shorter than asked.
`iterate_pages` feeds the generic engine (``endpoints/_paging.iterate``, which pages by
number from 0; ECGrid's ``pageNo`` is 1-based) with the ECGrid stop rule
(``StopRule.TOTAL_ELSE_SHORT_PAGE``); a listing without a total is read one page at a time
(nothing is fetched ahead past an end that cannot be seen). `iterate_list` is every ECGrid
``*-list`` call: filters plus ``pageNo`` and ``recordsPerPage`` in the JSON body.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator, Awaitable, Callable, Hashable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from attrs import define

from ..endpoints._paging import DEFAULT_PREFETCH, Fetched, StopRule, iterate
from .models import format_datetime

if TYPE_CHECKING:
    from .session import Session

__all__ = ["RawPage", "box_filters", "iterate_list", "iterate_pages", "page_of"]

T = TypeVar("T")

#: The most records a page the server serves.
MAX_PAGE_LENGTH = 500


@define(frozen=True)
class RawPage(Generic[T]):
    """One list answer's records and its total, if it gave one."""

    items: Sequence[T]
    total: int | None = None


def _total(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else None


def page_of(envelope: Mapping[str, Any], items_key: str | None = None) -> RawPage[Any]:
    """The records (JSON objects) and total of a list answer in any of the three shapes.

    ``items_key`` names the array in shape 2 (``"parcels"``, ``"interchanges"``...); without
    it, or when it is absent, the only array in ``data`` is taken. ``ValueError`` if none.
    """
    data = envelope.get("data")
    if data is None:
        return RawPage((), _total(envelope.get("totalRecords")))
    if isinstance(data, list):
        items: Any = data
        total = _total(envelope.get("totalRecords"))
    elif isinstance(data, dict):
        items = data.get(items_key) if items_key else None
        if items is None:
            arrays = [v for v in data.values() if isinstance(v, list)]
            if len(arrays) != 1:
                raise ValueError("a list answer whose data holds no single array of records")
            items = arrays[0]
        total = _total(data.get("totalRecords"))
        if total is None:
            total = _total(envelope.get("totalRecords"))
    else:
        raise ValueError(f"a list answer whose data is a {type(data).__name__}")
    if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
        raise ValueError("a list answer whose records are not JSON objects")
    return RawPage(tuple(items), total)


async def iterate_pages(
    fetch: Callable[[int, int], Awaitable[RawPage[T]]],
    *,
    key: Callable[[T], Hashable],
    page_length: int,
    endpoint: str,
    prefetch: int = DEFAULT_PREFETCH,
) -> AsyncIterator[T]:
    """Every record of an ECGrid listing once; ``fetch(page_no, records_per_page)`` is 1-based.

    Pages are fetched ahead (``prefetch``) only when the first answer gives a total:
    without one, only a short page shows the end, and nothing is fetched past it.
    """
    first = await fetch(1, page_length)
    cached: dict[int, RawPage[T]] = {0: first}

    async def fetch_page(page_number: int, length: int) -> Fetched[T]:
        raw = cached.pop(page_number, None) or await fetch(page_number + 1, length)
        return Fetched(items=raw.items, size=len(raw.items), total=raw.total)

    ahead = prefetch if first.total is not None else 0
    async for record in iterate(
        fetch_page,
        page_length=page_length,
        prefetch=ahead,
        key=key,
        endpoint=endpoint,
        stop=StopRule.TOTAL_ELSE_SHORT_PAGE,
    ):
        yield record


def box_filters(
    *,
    status: str | None,
    begin: dt.datetime | str | None,
    end: dt.datetime | str | None,
    mailbox_id: int | None,
    ecgrid_id_from: int | None,
    ecgrid_id_to: int | None,
) -> dict[str, Any]:
    """The filters of the inbox and outbox lists (parcels and interchanges), as sent."""
    return {
        "mailboxId": mailbox_id,
        "ecGridIdFrom": ecgrid_id_from,
        "ecGridIdTo": ecgrid_id_to,
        "status": status,
        "beginDate": format_datetime(begin),
        "endDate": format_datetime(end),
    }


def iterate_list(
    session: Session,
    path: str,
    filters: Mapping[str, Any],
    *,
    items_key: str,
    convert: Callable[[Any], T],
    key: Callable[[T], Hashable],
    page_length: int,
    prefetch: int | None,
) -> AsyncIterator[T]:
    """Every record of the ``POST path`` listing with ``filters`` (None values not sent),
    each read by ``convert`` (a ``ValueError`` is a `MalformedResponseError`)."""
    if not 1 <= page_length <= MAX_PAGE_LENGTH:
        raise ValueError(f"page_length must be 1..{MAX_PAGE_LENGTH}, not {page_length}")
    sent = {k: v for k, v in filters.items() if v is not None}

    def read(envelope: dict[str, Any]) -> RawPage[T]:
        page = page_of(envelope, items_key)
        return RawPage(tuple(convert(i) for i in page.items), page.total)

    async def fetch(page_no: int, per_page: int) -> RawPage[T]:
        body = {**sent, "pageNo": page_no, "recordsPerPage": per_page}
        return await session.call_with("POST", path, read, json=body, idempotent=True)

    ahead = DEFAULT_PREFETCH if prefetch is None else prefetch
    return iterate_pages(
        fetch, key=key, page_length=page_length, endpoint=f"POST {path}", prefetch=ahead
    )
