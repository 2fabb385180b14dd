"""The folders (list, iter, get, read marks, stop/retry) against the emulator."""

from __future__ import annotations

import pytest

import as2gw_async as gw
from as2gw_async.emulator import EmulatorServer, Gateway

pytestmark = pytest.mark.as2gw_emulator(send_delay=0.05, max_attempts=3)

ODD_ID = "<a/b c+d%e?f#g@host>"


def session(server: EmulatorServer) -> gw.Session:
    return gw.Session(server.username, server.password, base_url=server.base_url, rate_limit=None)


def newest_first(gateway: Gateway, folder: str = "received") -> list[str]:
    records = sorted(gateway.messages(folder), key=lambda m: (m.persisted_timestamp, m.seq))
    return [m.as2_message_id for m in reversed(records)]


@pytest.mark.as2gw_emulator(seed_messages=35)
async def test_list_pages_by_page_number(
    as2gw_emulator: EmulatorServer, as2gw_gateway: Gateway
) -> None:
    expected = newest_first(as2gw_gateway)
    async with session(as2gw_emulator) as s:
        first = await s.received.list()
        assert first.total_records == 35
        assert len(first.records) == 10  # the gateway's default page length
        pages = [await s.received.list(page_offset=n, page_length=15) for n in range(3)]
    assert [m.as2_message_id for p in pages for m in p.records] == expected
    assert [len(p) for p in pages] == [15, 15, 5]


@pytest.mark.as2gw_emulator(seed_messages=40)
async def test_list_sorting_and_filters(
    as2gw_emulator: EmulatorServer, as2gw_gateway: Gateway
) -> None:
    async with session(as2gw_emulator) as s:
        asc = await s.received.list(sort_dir="asc", page_length=100)
        assert [m.as2_message_id for m in asc.records] == newest_first(as2gw_gateway)[::-1]
        by_sender = await s.received.list(sort_col="sender_id", page_length=100)
        senders = [m.sender_id or "" for m in by_sender.records]
        assert senders == sorted(senders, reverse=True)
        one = asc.records[7]
        for kwargs in (
            {"partner_as2_id": one.receiver_id},
            {"station_as2_id": one.sender_id},
            {"as2_message_id": one.as2_message_id},
        ):
            page = await s.received.list(page_length=100, **kwargs)  # type: ignore[arg-type]
            assert one.as2_message_id in [m.as2_message_id for m in page.records]
            assert 0 < page.total_records <= 40
        exact = await s.received.list(as2_message_id=one.as2_message_id)
        assert [m.as2_message_id for m in exact.records] == [one.as2_message_id]
        assert (await s.received.list(partner_type="test")).total_records == 0


async def test_odd_ids_round_trip_through_get_and_read_marks(
    as2gw_emulator: EmulatorServer, as2gw_gateway: Gateway
) -> None:
    as2gw_gateway.deliver(message_id=ODD_ID, subject="Odd")
    async with session(as2gw_emulator) as s:
        m = await s.received.get(ODD_ID)
        assert (m.as2_message_id, m.subject) == (ODD_ID, "Odd")
        assert not as2gw_gateway.is_read(ODD_ID)
        await s.received.get(ODD_ID, mark_as_read=True)
        assert as2gw_gateway.is_read(ODD_ID)
        assert (await s.received.list(unread_only=True)).total_records == 0
        assert (await s.received.list(unread_only=False)).total_records == 1
        response = await s.received.mark_unread(ODD_ID)
        assert ODD_ID in response.message
        assert not as2gw_gateway.is_read(ODD_ID)
        assert await s.received.mark_read([ODD_ID, "<unknown@x>"]) == [ODD_ID]
        with pytest.raises(gw.NotFoundError):
            await s.sent.get(ODD_ID)


@pytest.mark.as2gw_emulator(seed_messages=250)
async def test_iter_yields_every_message_once_in_order(
    as2gw_emulator: EmulatorServer, as2gw_gateway: Gateway
) -> None:
    async with session(as2gw_emulator) as s:
        ids = [m.as2_message_id async for m in s.received.iter(prefetch=3)]
        assert ids == newest_first(as2gw_gateway)
        assert s.stats.requests == 1 + 3  # authorize, and three pages of 100


@pytest.mark.as2gw_emulator(seed_messages=120)
async def test_iter_while_new_messages_arrive_at_the_top(
    as2gw_emulator: EmulatorServer, as2gw_gateway: Gateway
) -> None:
    original = newest_first(as2gw_gateway)
    async with session(as2gw_emulator) as s:
        ids = []
        async for m in s.received.iter(page_length=10):
            ids.append(m.as2_message_id)
            if len(ids) % 7 == 0:
                as2gw_gateway.deliver(subject="arrived meanwhile")
    assert len(ids) == len(set(ids)), "a message was yielded twice"
    assert [i for i in ids if i in set(original)] == original, "a message was skipped"
    assert len(as2gw_gateway.messages("received")) > len(original)


@pytest.mark.as2gw_emulator(seed_messages=130)
async def test_iter_unread_only_while_marking_read(
    as2gw_emulator: EmulatorServer, as2gw_gateway: Gateway
) -> None:
    original = set(newest_first(as2gw_gateway))
    async with session(as2gw_emulator) as s:
        ids = []
        async for m in s.received.iter(unread_only=True, page_length=10):
            ids.append(m.as2_message_id)
            await s.received.get(m.as2_message_id, mark_as_read=True)
            if len(ids) % 11 == 0:
                as2gw_gateway.deliver(subject="arrived meanwhile")
        assert len(ids) == len(set(ids))
        assert original <= set(ids), f"skipped {len(original - set(ids))}"
        assert all(as2gw_gateway.is_read(i) for i in original)


async def test_failed_sent_and_queued_folders(
    as2gw_emulator: EmulatorServer, as2gw_gateway: Gateway
) -> None:
    as2gw_gateway.add_partner("Down_Partner", fail=True)
    async with session(as2gw_emulator) as s:
        good = await s.send("RJ_Station", "RJ_Partner", gw.Upload(b"x", name="a.txt"))
        bad = await s.send("RJ_Station", "Down_Partner", gw.Upload(b"x", name="a.txt"))
        queued = await s.queued.list(query=bad.as2_message_id)
        assert [m.as2_message_id for m in queued.records] == [bad.as2_message_id]
        assert [m.as2_message_id async for m in s.queued.iter(query="Down_Partner")] == [
            bad.as2_message_id
        ]
        await s.wait_for_delivery(good.as2_message_id, poll_interval=0.02, initial_delay=0)
        with pytest.raises(gw.DeliveryFailedError):
            await s.wait_for_delivery(bad.as2_message_id, poll_interval=0.02, initial_delay=0)
        sent = await s.sent.list(partner_as2_id="RJ_Partner")
        assert [m.as2_message_id for m in sent.records] == [good.as2_message_id]
        failed = [m async for m in s.failed.iter(page_length=1)]
        assert [m.as2_message_id for m in failed] == [bad.as2_message_id] * 3
        latest = await s.failed.get(bad.as2_message_id)
        assert latest.persisted_timestamp == max(m.persisted_timestamp or 0 for m in failed)
        assert (await s.queued.list()).total_records == 0
        with pytest.raises(gw.NotFoundError):
            await s.queued.stop(bad.as2_message_id)


@pytest.mark.as2gw_emulator(seed_messages=35)
async def test_iter_pages_on_when_the_server_caps_its_pages(
    as2gw_emulator: EmulatorServer, as2gw_gateway: Gateway
) -> None:
    """Issue 13 item 7: a gateway serving 10 records a page whatever is asked, 35 in all."""
    as2gw_gateway.max_page_length = 10
    async with session(as2gw_emulator) as s:
        ids = [m.as2_message_id async for m in s.received.iter()]
    assert ids == newest_first(as2gw_gateway)
