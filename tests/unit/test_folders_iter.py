"""iter(): lazy paging, prefetch, and no skips or repeats while the folder changes.

A small stateful fake of the list endpoints (respx side effects) lets each test change the
folder between two page requests exactly as a busy gateway would.
"""

from __future__ import annotations

import asyncio
import random
from collections import Counter
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest
import respx

import as2gw_async as gw
from as2gw_async.endpoints import _paging

from .conftest import BASE, FAR_EXPIRY_MS, PASSWORD, TOKEN, USER


@dataclass
class Msg:
    id: str
    ts: int
    read: bool = False


class FakeFolder:
    """A folder listed as spec 4.4 says: sorted, filtered by unreadOnly, page *number*."""

    def __init__(self, router: respx.MockRouter, name: str = "received", count: int = 0) -> None:
        self.name = name
        self.messages: list[Msg] = []
        self.clock = 1_000_000
        self.totals: list[int] = []
        self.offsets: list[int] = []
        self.before_list: Callable[[int], Any] | None = None
        self.add(count)
        self.route = router.get(f"/message/{name}").mock(side_effect=self.on_list)
        router.get(url__regex=rf".*/message/{name}/[^/]+$").mock(side_effect=self.on_get)

    def add(self, count: int, prefix: str = "m") -> list[str]:
        ids = []
        for _ in range(count):
            self.clock += 1
            ids.append(f"<{prefix}{self.clock}@x>")
            self.messages.append(Msg(ids[-1], self.clock))
        return ids

    def listing(self, params: httpx.QueryParams) -> list[Msg]:
        records = list(self.messages)
        if params.get("unreadOnly") == "true":
            records = [m for m in records if not m.read]
        records.sort(key=lambda m: m.ts, reverse=params.get("sortDir", "desc") == "desc")
        return records

    async def on_list(self, request: httpx.Request) -> httpx.Response:
        if self.before_list is not None:
            result = self.before_list(len(self.offsets))
            if hasattr(result, "__await__"):
                await result
        params = request.url.params
        offset, length = int(params.get("pageOffset", 0)), int(params.get("pageLength", 10))
        self.offsets.append(offset)
        records = self.listing(params)
        self.totals.append(len(records))
        chunk = records[offset * length : (offset + 1) * length]
        body = {
            "totalRecords": len(records),
            "records": [{"as2MessageId": m.id, "persistedTimestamp": m.ts} for m in chunk],
        }
        return httpx.Response(200, json=body)

    def on_get(self, request: httpx.Request) -> httpx.Response:
        mid = httpx.URL(str(request.url)).path.rsplit("/", 1)[-1]
        for m in self.messages:
            if m.id == mid:
                if request.url.params.get("markAsRead") == "true":
                    m.read = True
                return httpx.Response(200, json={"as2MessageId": m.id, "persistedTimestamp": m.ts})
        return httpx.Response(404, json={"message": "not found"})


async def collect(iterator: Any, each: Callable[[gw.AS2Message], Any] | None = None) -> list[str]:
    ids = []
    async for m in iterator:
        ids.append(m.as2_message_id)
        if each is not None:
            await each(m)
    return ids


# -- the unchanging folder ------------------------------------------------------------------


async def test_pages_lazily_in_order_with_page_length_100(
    router: respx.MockRouter, session: gw.Session
) -> None:
    fake = FakeFolder(router, count=250)
    iterator = session.received.iter(partner_as2_id="RJ_Partner", sort_dir="desc")
    assert fake.route.call_count == 0  # nothing before the loop starts
    first = await iterator.__anext__()
    assert fake.route.call_count == 1
    rest = await collect(iterator)
    newest_first = [m.id for m in sorted(fake.messages, key=lambda m: -m.ts)]
    assert [first.as2_message_id, *rest] == newest_first
    assert sorted(fake.offsets) == [0, 1, 2]
    for call in fake.route.calls:
        params = call.request.url.params
        assert params["pageLength"] == "100"
        assert params["partnerAS2Id"] == "RJ_Partner"
        assert params["sortDir"] == "desc"


@pytest.mark.parametrize("name", ["received", "sent", "failed", "queued"])
async def test_every_folder_iterates(
    router: respx.MockRouter, session: gw.Session, name: str
) -> None:
    fake = FakeFolder(router, name=name, count=23)
    ids = await collect(getattr(session, name).iter(page_length=5, prefetch=0))
    assert sorted(ids) == sorted(m.id for m in fake.messages)
    assert fake.offsets == [0, 1, 2, 3, 4]


async def test_empty_folder_is_one_request(router: respx.MockRouter, session: gw.Session) -> None:
    fake = FakeFolder(router, name="sent")
    assert await collect(session.sent.iter()) == []
    assert fake.route.call_count == 1


async def test_exact_multiple_of_the_page_length_needs_no_empty_page(
    router: respx.MockRouter, session: gw.Session
) -> None:
    fake = FakeFolder(router, name="sent", count=30)
    assert len(await collect(session.sent.iter(page_length=10, prefetch=0))) == 30
    assert fake.offsets == [0, 1, 2]


async def test_prefetch_fetches_pages_concurrently(
    router: respx.MockRouter, session: gw.Session
) -> None:
    fake = FakeFolder(router, name="sent", count=50)
    in_flight = 0
    peak = 0
    both_started = anyio.Event()

    async def overlap(call: int) -> None:
        nonlocal in_flight, peak
        in_flight += 1
        peak = max(peak, in_flight)
        if call > 0:
            if in_flight == 3:
                both_started.set()
            with anyio.fail_after(60):  # the pages after the first wait for each other
                await both_started.wait()
        in_flight -= 1

    fake.before_list = overlap
    ids = await collect(session.sent.iter(page_length=10, prefetch=2))
    assert len(ids) == len(set(ids)) == 50
    assert peak == 3  # the page needed plus two ahead
    assert sorted(fake.offsets) == [0, 1, 2, 3, 4]


def count_in_flight(fake: FakeFolder, hold: Callable[[int, dict[str, Any]], Any]) -> dict[str, Any]:
    """Wrap the fake's list endpoint: count requests in flight, and hold each in ``hold``."""
    stats: dict[str, Any] = {"in_flight": 0, "peak": 0, "started": []}

    async def on_list(request: httpx.Request) -> httpx.Response:
        offset = int(request.url.params.get("pageOffset", 0))
        stats["in_flight"] += 1
        stats["peak"] = max(stats["peak"], stats["in_flight"])
        stats["started"].append(offset)
        try:
            with anyio.fail_after(60):
                await hold(offset, stats)
            return await fake.on_list(request)
        finally:
            stats["in_flight"] -= 1

    fake.route.side_effect = on_list
    return stats


async def test_the_window_slides_past_a_slow_page(
    router: respx.MockRouter, session: gw.Session
) -> None:
    """While the page needed next is slow, each page that completes starts another."""
    fake = FakeFolder(router, name="sent", count=200)
    window = 1 + 3  # the page needed and prefetch=3 ahead
    full = anyio.Event()

    async def hold(offset: int, stats: dict[str, Any]) -> None:
        if stats["in_flight"] == window:
            full.set()
        if offset == 0:
            return
        await full.wait()  # every request of the window is in flight at once
        if offset == 1:  # the page needed next: released only once 5..8 have started too
            while 8 not in stats["started"]:
                await anyio.sleep(0.001)

    stats = count_in_flight(fake, hold)
    ids = await collect(session.sent.iter(page_length=10, prefetch=3))
    assert len(ids) == len(set(ids)) == 200
    assert ids == [m.id for m in sorted(fake.messages, key=lambda m: -m.ts)]
    assert stats["peak"] == window  # never more than 1 + prefetch requests in flight
    assert sorted(stats["started"]) == list(range(20))  # every page once: nothing wasted
    assert stats["in_flight"] == 0


async def test_nothing_runs_while_a_record_is_yielded_and_break_leaves_nothing(
    router: respx.MockRouter, session: gw.Session
) -> None:
    fake = FakeFolder(router, name="sent", count=500)

    async def hold(offset: int, stats: dict[str, Any]) -> None:
        await anyio.sleep(0.001 * (offset % 3))  # pages complete out of order

    stats = count_in_flight(fake, hold)
    iterator = session.sent.iter(page_length=10, prefetch=4)
    seen = 0
    async for _ in iterator:
        assert stats["in_flight"] == 0  # no request runs while the caller holds a record
        seen += 1
        if seen == 150:
            break
    await iterator.aclose()  # type: ignore[attr-defined]
    requests = len(stats["started"])
    assert requests <= 15 + 2 * 5  # lazy: at most the window's horizon past the break
    # nothing left behind that could start a request later: no task but this one
    others = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
    assert others == []
    assert stats["in_flight"] == 0
    assert len(stats["started"]) == requests  # nothing started after the loop ended


async def test_a_failed_page_raises_its_own_error_not_a_group(
    router: respx.MockRouter, session: gw.Session
) -> None:
    fake = FakeFolder(router, name="sent", count=100)

    async def hold(offset: int, stats: dict[str, Any]) -> None:
        await anyio.sleep(0)

    stats = count_in_flight(fake, hold)
    wrapped = fake.route.side_effect

    async def on_list(request: httpx.Request) -> httpx.Response:
        if request.url.params.get("pageOffset") == "3":
            return httpx.Response(404, json={"message": "gone"})
        return await wrapped(request)  # type: ignore[no-any-return,operator,misc]

    fake.route.side_effect = on_list
    with pytest.raises(gw.NotFoundError):
        await collect(session.sent.iter(page_length=10, prefetch=4))
    assert stats["in_flight"] == 0


async def test_breaking_out_stops_fetching(router: respx.MockRouter, session: gw.Session) -> None:
    fake = FakeFolder(router, name="sent", count=500)
    iterator = session.sent.iter(page_length=10, prefetch=0)
    async for m in iterator:
        if m.as2_message_id == fake.messages[-15].id:
            break
    await iterator.aclose()  # type: ignore[attr-defined]
    assert fake.offsets == [0, 1]


async def test_failed_folder_keeps_repeated_attempts(
    router: respx.MockRouter, session: gw.Session
) -> None:
    fake = FakeFolder(router, name="failed")
    for ts in (10, 20, 30):
        fake.messages.append(Msg("<retried@x>", ts))
    fake.add(4)
    # a new attempt arrives at the top after the first page: the pages shift down by one
    fake.before_list = lambda call: (
        fake.messages.append(Msg("<retried@x>", 40)) if call == 1 else None
    )
    attempts: list[tuple[str, int | None]] = []
    async for m in session.failed.iter(page_length=2, prefetch=0):
        attempts.append((m.as2_message_id, m.persisted_timestamp))
    # the attempt that arrived meanwhile may or may not be seen; every other exactly once
    assert Counter(a for a in attempts if a[1] != 40) == Counter(
        {(m.id, m.ts): 1 for m in fake.messages if m.ts != 40}
    )


# -- the folder changing underneath ----------------------------------------------------------


@pytest.mark.parametrize("prefetch", [0, 1, 3])
async def test_new_messages_at_the_top_cause_no_repeats_and_no_skips(
    router: respx.MockRouter, session: gw.Session, prefetch: int
) -> None:
    fake = FakeFolder(router, count=95)
    original = [m.id for m in sorted(fake.messages, key=lambda m: -m.ts)]
    fake.before_list = lambda call: fake.add(3, prefix="new") if call > 0 else None

    ids = await collect(session.received.iter(page_length=10, prefetch=prefetch))

    assert len(ids) == len(set(ids)), "a message was yielded twice"
    assert [i for i in ids if i in set(original)] == original, "skipped or out of order"
    assert fake.totals[-1] > fake.totals[0]  # the folder did grow while listed


@pytest.mark.parametrize("prefetch", [0, 2])
async def test_marking_read_while_iterating_unread_only_skips_nothing(
    router: respx.MockRouter, session: gw.Session, prefetch: int
) -> None:
    fake = FakeFolder(router, count=57)
    unread = {m.id for m in fake.messages}

    async def handle(m: gw.AS2Message) -> None:
        await session.received.get(m.as2_message_id, mark_as_read=True)

    ids = await collect(
        session.received.iter(unread_only=True, page_length=10, prefetch=prefetch), handle
    )

    assert len(ids) == len(set(ids))
    assert set(ids) == unread
    assert all(m.read for m in fake.messages)
    assert min(fake.totals) < fake.totals[0]  # the listing did shrink under the iterator


async def test_the_naive_loop_would_have_skipped(
    router: respx.MockRouter, session: gw.Session
) -> None:
    """The scenario above is the classic bug: page numbers 0, 1, 2... skip half the inbox."""
    fake = FakeFolder(router, count=57)
    seen = []
    total = None
    offset = 0
    while total is None or offset * 10 < total:
        page = await session.received.list(unread_only=True, page_offset=offset, page_length=10)
        total = page.total_records if total is None else total
        for m in page.records:
            seen.append(m.as2_message_id)
            await session.received.get(m.as2_message_id, mark_as_read=True)
        offset += 1
    assert len(set(seen)) < len(fake.messages)


async def test_drain_while_messages_keep_arriving(
    router: respx.MockRouter, session: gw.Session
) -> None:
    fake = FakeFolder(router, count=40)
    original = {m.id for m in fake.messages}
    fake.before_list = lambda call: fake.add(4, prefix="new")

    async def handle(m: gw.AS2Message) -> None:
        await session.received.get(m.as2_message_id, mark_as_read=True)

    ids = await collect(session.received.iter(unread_only=True, page_length=7), handle)
    assert len(ids) == len(set(ids))
    assert original <= set(ids)


@pytest.mark.parametrize("seed", range(40))
async def test_random_arrivals_and_marks(
    router: respx.MockRouter, session: gw.Session, seed: int
) -> None:
    """Arrivals at the top and marks of yielded messages, in random amounts and order."""
    rng = random.Random(seed)
    fake = FakeFolder(router, count=rng.randrange(0, 80))
    original = {m.id for m in fake.messages}
    page_length = rng.randint(1, 12)
    unread_only = rng.random() < 0.7
    mark_ratio = rng.choice([0.0, 0.5, 1.0])
    to_mark: list[str] = []

    async def between_pages(call: int) -> None:
        if rng.random() < 0.5:
            fake.add(rng.randrange(0, 2 * page_length), prefix="new")
        # marks the caller made in another task, of messages already yielded
        rng.shuffle(to_mark)
        while to_mark and rng.random() < 0.8:
            await session.received.get(to_mark.pop(), mark_as_read=True)

    async def handle(m: gw.AS2Message) -> None:
        if rng.random() < mark_ratio:
            if rng.random() < 0.5:
                await session.received.get(m.as2_message_id, mark_as_read=True)
            else:
                to_mark.append(m.as2_message_id)

    fake.before_list = between_pages
    ids = await collect(
        session.received.iter(
            unread_only=unread_only, page_length=page_length, prefetch=rng.randrange(0, 4)
        ),
        handle,
    )
    assert len(ids) == len(set(ids)), "a message was yielded twice"
    missing = original - set(ids)
    assert not missing, f"skipped {len(missing)} of {len(original)}"


async def test_a_listing_that_outruns_the_reader_gives_up_clearly(
    router: respx.MockRouter, session: gw.Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_paging, "_MAX_STALLED_FETCHES", 5)
    fake = FakeFolder(router, count=30)
    fake.before_list = lambda call: fake.add(10, prefix="flood") if call > 0 else None
    with pytest.raises(gw.AS2GatewayError, match="kept changing"):
        await collect(session.received.iter(page_length=10, prefetch=0))
    assert fake.route.call_count < 10


def test_iter_and_send_run_on_trio(tmp_path: Path) -> None:
    """Prefetching, spooling and reading files from disk use anyio only."""
    pytest.importorskip("trio")
    (tmp_path / "a.txt").write_bytes(b"from disk")

    async def stream() -> AsyncIterator[bytes]:
        yield b"streamed"

    async def main() -> list[str]:
        with respx.mock(base_url=BASE, assert_all_called=False) as mock:
            mock.post("/authorize").respond(200, json={"token": TOKEN, "expiry": FAR_EXPIRY_MS})
            FakeFolder(mock, count=25)
            send = mock.post("/message/S/P").respond(
                202, json={"message": "ok"}, headers={"Link": "https://h/v1/message/sent/<1@x>"}
            )
            async with gw.Session(
                USER, PASSWORD, base_url=BASE, rate_limit=gw.RateLimit(50, 1.0)
            ) as s:
                ids = [m.as2_message_id async for m in s.received.iter(page_length=5, prefetch=2)]
                receipt = await s.send(
                    "S", "P", tmp_path / "a.txt", gw.Upload(stream(), name="b.txt")
                )
            assert receipt.as2_message_id == "<1@x>"
            assert b"from disk" in send.calls.last.request.content
            assert b"streamed" in send.calls.last.request.content
            return ids

    ids = anyio.run(main, backend="trio")
    assert len(ids) == len(set(ids)) == 25
