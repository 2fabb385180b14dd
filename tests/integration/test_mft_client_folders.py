"""mft folders (inbox, outbox, queued, failed) against the MFT emulator over loopback."""

from __future__ import annotations

import pytest

from as2gw_async import InvalidFilterError, NotFoundError, mft
from as2gw_async.emulator.mft import MftEmulator

from ._mft_client import session

ODD_ID = "<a/b c+d%e?f#g@host>"


@pytest.mark.parametrize("naming", ["current", "legacy"])
async def test_250_inbox_ids_over_3_pages(mft_emulator: MftEmulator, naming: str) -> None:
    mft_emulator.naming = naming
    seeded = mft_emulator.seed_inbox(250)
    async with session(mft_emulator) as s:
        ids = [mid async for mid in s.inbox.iter_ids()]
    assert ids == list(reversed(seeded))  # newest first, each once
    assert mft_emulator.stats.routes["list"] == 3  # 100 + 100 + 50: the short page ends it


async def test_iter_ids_sort_and_empty_folder(mft_emulator: MftEmulator) -> None:
    seeded = mft_emulator.seed_inbox(12)
    async with session(mft_emulator) as s:
        asc = [mid async for mid in s.inbox.iter_ids(sort_dir="asc", page_length=5)]
        assert asc == seeded
        assert [mid async for mid in s.failed.iter_ids()] == []
        assert await s.inbox.list_ids(page_offset=1, page_length=5, sort_dir="asc") == seeded[5:10]


async def test_get_leaves_read_state_alone_unless_asked(mft_emulator: MftEmulator) -> None:
    ids = mft_emulator.seed_inbox(3)
    async with session(mft_emulator) as s:
        m = await s.inbox.get(ids[0])
        assert m.identifier == ids[0]
        assert m.incoming is True
        assert m.msg_status is mft.MessageStatus.RECEIVED
        assert not mft_emulator.gateway.is_fetched(ids[0])
        await s.inbox.get(ids[1], mark_as_read=True)
        assert mft_emulator.gateway.is_fetched(ids[1])
        unread = [mid async for mid in s.inbox.iter_ids()]
        assert set(unread) == {ids[0], ids[2]}
        everything = [mid async for mid in s.inbox.iter_ids(fetch_all=True)]
        assert set(everything) == set(ids)
        await s.inbox.mark_unread(ids[1])
        assert not mft_emulator.gateway.is_fetched(ids[1])


async def test_iter_fetches_messages_concurrently_and_never_marks_them(
    mft_emulator: MftEmulator,
) -> None:
    ids = mft_emulator.seed_inbox(30)
    async with session(mft_emulator) as s:
        messages = [m async for m in s.inbox.iter(concurrency=7, page_length=10)]
    assert [m.identifier for m in messages] == list(reversed(ids))
    assert not any(mft_emulator.gateway.is_fetched(mid) for mid in ids)
    assert all(m.raw["identifier"] == m.identifier for m in messages)


@pytest.mark.parametrize("naming", ["current", "legacy"])
async def test_filters_use_current_names_and_refuse_ignored_combinations(
    mft_emulator: MftEmulator, naming: str
) -> None:
    mft_emulator.naming = naming
    mft_emulator.gateway.add_partner("OtherPartner")
    mine = mft_emulator.seed_inbox(3)
    theirs = mft_emulator.seed_inbox(2, partner="OtherPartner")
    async with session(mft_emulator) as s:
        got = [mid async for mid in s.inbox.iter_ids(partner="OtherPartner")]
        # The legacy instance ignores current names: every message comes back there.
        assert set(got) == (set(theirs) if naming == "current" else set(mine + theirs))
        one = [mid async for mid in s.inbox.iter_ids(identifier=mine[1])]
        assert one == ([mine[1]] if naming == "current" else list(reversed(mine + theirs)))
        before = mft_emulator.stats.requests
        with pytest.raises(InvalidFilterError, match="ignores subject"):
            s.inbox.iter_ids(partner="OtherPartner", subject="x")
        with pytest.raises(InvalidFilterError, match="only one of identifier and subject"):
            s.outbox.iter_ids(identifier="<x@y>", subject="x")
        with pytest.raises(ValueError, match="ignores identifier"):  # also a ValueError
            await s.queued.list_ids(station="S", identifier="<x@y>")
        assert mft_emulator.stats.requests == before  # refused before any request


async def test_delete_and_delete_many_in_requests_of_100(mft_emulator: MftEmulator) -> None:
    ids = mft_emulator.seed_inbox(251)
    async with session(mft_emulator) as s:
        assert await s.inbox.delete(ids[0]) == ids[0]
        with pytest.raises(NotFoundError):
            await s.inbox.delete(ids[0])
        deleted = await s.inbox.delete_many([*ids[1:], "<missing@x>"])
        assert sorted(deleted) == sorted(ids[1:])
        assert mft_emulator.stats.routes["batch_delete"] == 3
        assert await s.inbox.delete_many(["<missing@x>"]) == []
        assert [mid async for mid in s.inbox.iter_ids(fetch_all=True)] == []


async def test_an_id_with_reserved_characters_round_trips(mft_emulator: MftEmulator) -> None:
    mft_emulator.deliver(attachments=[("a.txt", b"a")], message_id=ODD_ID)
    async with session(mft_emulator) as s:
        assert (await s.inbox.get(ODD_ID)).identifier == ODD_ID
        await s.inbox.mark_unread(ODD_ID)
        assert await s.inbox.delete(ODD_ID) == ODD_ID


async def test_outbox_queued_and_failed(mft_emulator: MftEmulator, tmp_path: object) -> None:
    gw = mft_emulator.gateway
    gw.add_partner("Failing", outcome="fail")
    gw.add_partner("Slow", outcome="queue")
    async with session(mft_emulator) as s:
        sent = await s.send("MyStation", "MyPartner", mft.Upload(b"x", name="a.txt"))
        failed = await s.send("MyStation", "Failing", mft.Upload(b"y", name="b.txt"))
        queued = await s.send("MyStation", "Slow", mft.Upload(b"z", name="c.txt"))
        gw.release(sent.message_id, "deliver")
        gw.release(failed.message_id, "fail")
        assert [m async for m in s.outbox.iter_ids()] == [sent.message_id]
        assert [m async for m in s.failed.iter_ids()] == [failed.message_id]
        assert [m async for m in s.queued.iter_ids()] == [queued.message_id]
        assert [m.identifier async for m in s.queued.iter()] == [queued.message_id]
        got = await s.outbox.get(failed.message_id)
        assert got.msg_status is mft.MessageStatus.FAILED
        assert got.incoming is False
        assert await s.outbox.delete_many([sent.message_id, failed.message_id]) == [
            sent.message_id,
            failed.message_id,
        ]
