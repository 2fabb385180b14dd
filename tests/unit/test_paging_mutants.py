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
