"""ECGrid's list answers read into pages, and its stop rule, on the shared paging engine.

Three answer shapes are documented (spec "Paging"); `page_of` reads each:

1. ``data`` is the array (parcel reference pages): no total;
2. ``data`` is ``{"totalRecords", "pageNo", "recordsPerPage", "<items>": [...]}``;
3. ``data`` is the array, ``totalRecords`` (and ``pageNo``...) beside it in the envelope.

The stop rule: with a total, stop at it; without one, stop at a page shorter than asked.
`iterate_pages` feeds the generic engine (``endpoints/_paging.iterate``, which pages by
number from 0; ECGrid's ``pageNo`` is 1-based): a listing without a total is given a total
no page reaches, so only its short page ends it, and is read one page at a time (nothing
is fetched ahead past an end that cannot be seen).
"""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator, Awaitable, Callable, Hashable, Mapping, Sequence
from typing import Any, TypeVar

from attrs import define

from ..endpoints._paging import DEFAULT_PREFETCH, iterate
from ..models import Page

__all__ = ["RawPage", "iterate_pages", "page_of"]

T = TypeVar("T")

#: The total given to the engine for a listing that has none: no page reaches it.
_NO_TOTAL = sys.maxsize


@define(frozen=True)
class RawPage:
    """One list answer's records (still JSON objects) and its total, if it gave one."""

    items: Sequence[Mapping[str, Any]]
    total: int | None = None


def _total(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else None


def page_of(envelope: Mapping[str, Any], items_key: str | None = None) -> RawPage:
    """The records and total of a list answer in any of the three shapes.

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
    fetch: Callable[[int, int], Awaitable[RawPage]],
    convert: Callable[[Mapping[str, Any]], T],
    *,
    key: Callable[[T], Hashable],
    page_length: int,
    prefetch: int = DEFAULT_PREFETCH,
) -> AsyncIterator[T]:
    """Every record of an ECGrid listing once; ``fetch(page_no, records_per_page)`` is 1-based.

    Pages are fetched ahead (``prefetch``) only when the first answer gives a total.
    """
    first = await fetch(1, page_length)
    cached: dict[int, RawPage] = {0: first}
    known_total = first.total

    async def fetch_page(offset: int, length: int) -> Page[T]:
        nonlocal known_total
        raw = cached.pop(offset, None) or await fetch(offset + 1, length)
        if raw.total is not None:
            known_total = raw.total
        total = known_total if known_total is not None else _NO_TOTAL
        return Page(total_records=total, records=tuple(convert(i) for i in raw.items))

    ahead = prefetch if first.total is not None else 0
    async for record in iterate(fetch_page, page_length=page_length, prefetch=ahead, key=key):
        yield record
