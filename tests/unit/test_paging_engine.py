"""The paging engine on its own, as the MFT and ECGrid gateways will feed it.

``iterate(fetch, page_length=, prefetch=, key=, endpoint=, stop=)`` with a fake "fetch page
n" for each stop rule: totalRecords (v1), a short page (MFT), a total when given else a
short page (ECGrid).
"""

from __future__ import annotations

from collections.abc import Callable

import anyio
import pytest

from as2gw_async import InconsistentListingError
from as2gw_async.endpoints._paging import Fetched, StopRule, iterate


def listing(
    n: int, *, with_total: bool | Callable[[int], bool] = True
) -> tuple[Callable[[int, int], object], list[tuple[int, int]]]:
    calls: list[tuple[int, int]] = []

    async def fetch(page: int, length: int) -> Fetched[int]:
        calls.append((page, length))
        await anyio.sleep(0)
        items = list(range(page * length, min((page + 1) * length, n)))
        give = with_total(page) if callable(with_total) else with_total
        return Fetched(items, len(items), n if give else None)

    return fetch, calls


async def walk(fetch: object, stop: StopRule, *, length: int = 10, prefetch: int = 0) -> list[int]:
    return [
        x
        async for x in iterate(
            fetch,  # type: ignore[arg-type]
            page_length=length,
            prefetch=prefetch,
            key=lambda x: x,
            endpoint="GET /test",
            stop=stop,
        )
    ]


@pytest.mark.parametrize("n", [0, 7, 30, 35])
@pytest.mark.parametrize("prefetch", [0, 3])
async def test_short_page_rule_ends_at_the_first_short_page(n: int, prefetch: int) -> None:
    fetch, calls = listing(n, with_total=False)
    assert await walk(fetch, StopRule.SHORT_PAGE, prefetch=prefetch) == list(range(n))
    needed = n // 10 + 1  # the pages up to and including the first short one
    assert needed <= len(calls) <= needed + prefetch  # speculation past the end is bounded
    if prefetch == 0:
        assert [p for p, _ in calls] == list(range(needed))


@pytest.mark.parametrize("n", [0, 30, 35])
async def test_total_rule_needs_no_extra_page(n: int) -> None:
    fetch, calls = listing(n)
    assert await walk(fetch, StopRule.TOTAL, prefetch=4) == list(range(n))
    assert len(calls) == max(1, -(-n // 10))


async def test_total_else_short_page_uses_whichever_the_gateway_gives() -> None:
    fetch, calls = listing(35, with_total=lambda page: page == 0)
    assert await walk(fetch, StopRule.TOTAL_ELSE_SHORT_PAGE) == list(range(35))
    fetch, calls = listing(35, with_total=False)
    assert await walk(fetch, StopRule.TOTAL_ELSE_SHORT_PAGE) == list(range(35))
    assert len(calls) == 4


async def test_total_rule_without_a_total_is_a_typed_error() -> None:
    fetch, _ = listing(35, with_total=False)
    with pytest.raises(InconsistentListingError, match="GET /test"):
        await walk(fetch, StopRule.TOTAL)


async def test_a_short_page_gateway_repeating_itself_stops() -> None:
    calls = 0

    async def fetch(page: int, length: int) -> Fetched[int]:
        nonlocal calls
        calls += 1
        return Fetched(list(range(length)), length)

    with pytest.raises(InconsistentListingError):
        await walk(fetch, StopRule.SHORT_PAGE, prefetch=2)
    assert calls <= 1 + 3 + 3


async def test_size_counts_skipped_records_so_positions_stay_right() -> None:
    """A page whose model layer skipped bad records still held ``size`` records."""

    async def fetch(page: int, length: int) -> Fetched[int]:
        items = list(range(page * length, min((page + 1) * length, 30)))
        good = [x for x in items if x % 7]
        return Fetched(good, len(items), 30)

    assert await walk(fetch, StopRule.TOTAL, prefetch=2) == [x for x in range(30) if x % 7]
