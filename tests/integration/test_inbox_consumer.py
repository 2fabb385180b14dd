"""InboxConsumer against the emulator over real loopback sockets."""

from __future__ import annotations

import json
import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

import as2gw_async as gw
from as2gw_async.emulator import EmulatorServer, FaultPlan, Gateway
from as2gw_async.files import safe_message_dirname

from ._inbox_helpers import assert_inbox_invariants, unread


@pytest.fixture
async def session(as2gw_emulator: EmulatorServer) -> AsyncIterator[gw.Session]:
    async with gw.Session(
        as2gw_emulator.username,
        as2gw_emulator.password,
        base_url=as2gw_emulator.base_url,
        rate_limit=None,
        retry_policy=gw.RetryPolicy(max_retries=6, initial_delay=0.01, max_delay=0.05),
    ) as s:
        yield s


def _inodes(directory: Path) -> dict[str, tuple[int, int]]:
    """Each file's identity and modification time: unchanged means not written again."""
    return {p.name: (p.stat().st_ino, p.stat().st_mtime_ns) for p in directory.iterdir()}


async def drain(session: gw.Session, dest: Path, **kwargs: object) -> list[gw.Delivered]:
    got = []
    async with gw.InboxConsumer(session, dest, **kwargs) as consumer:  # type: ignore[arg-type]
        async for delivered in consumer:
            got.append(delivered)
    return got


async def test_drains_every_message_once(
    as2gw_gateway: Gateway, session: gw.Session, tmp_path: Path
) -> None:
    ids = as2gw_gateway.seed(120, attachments=(1, 3))
    got = await drain(session, tmp_path)
    assert sorted(d.as2_message_id for d in got) == sorted(ids)
    assert all(not d.redelivered for d in got)
    assert_inbox_invariants(as2gw_gateway, tmp_path, ids)
    # a second run finds nothing to do and downloads nothing
    before = as2gw_gateway.stats.as_dict()["routes"].get("batch", 0)
    assert await drain(session, tmp_path) == []
    assert as2gw_gateway.stats.as_dict()["routes"].get("batch", 0) == before


async def test_uses_few_requests_per_message(
    as2gw_gateway: Gateway, session: gw.Session, tmp_path: Path
) -> None:
    ids = as2gw_gateway.seed(250, attachments=(1, 3))
    async with gw.InboxConsumer(session, tmp_path) as consumer:
        async for _ in consumer:
            pass
    # 3 listing pages + 1 final empty listing, 3 download batches, 3 mark batches, 1 authorize
    assert consumer.stats.delivered == 250
    assert consumer.stats.requests <= 12
    assert consumer.stats.requests_per_message < 0.05
    assert_inbox_invariants(as2gw_gateway, tmp_path, ids)


async def test_handler_failure_leaves_message_unread_and_redelivers_from_disk(
    as2gw_gateway: Gateway, session: gw.Session, tmp_path: Path
) -> None:
    ids = as2gw_gateway.seed(10)
    poison = ids[3]

    async def handler(d: gw.Delivered) -> None:
        if d.as2_message_id == poison:
            raise RuntimeError("downstream ERP is down")

    async with gw.InboxConsumer(session, tmp_path) as consumer:
        stats = await consumer.run(handler)
    assert stats.delivered == 9
    assert poison in consumer.skipped
    assert unread(as2gw_gateway, ids) == [poison]
    assert (tmp_path / safe_message_dirname(poison)).is_dir()  # on disk, waiting

    batches_before = as2gw_gateway.stats.as_dict()["routes"].get("batch", 0)
    files_before = _inodes(tmp_path / safe_message_dirname(poison))
    seen: list[gw.Delivered] = []

    async def ok(d: gw.Delivered) -> None:
        seen.append(d)

    async with gw.InboxConsumer(session, tmp_path) as consumer:
        await consumer.run(ok)
    assert [d.as2_message_id for d in seen] == [poison]
    assert seen[0].redelivered
    # handed over from disk: the files were not written again, one batch call marked it read
    assert _inodes(tmp_path / safe_message_dirname(poison)) == files_before
    assert as2gw_gateway.stats.as_dict()["routes"].get("batch", 0) == batches_before + 1
    assert_inbox_invariants(as2gw_gateway, tmp_path, ids)


async def test_break_out_of_the_loop_marks_only_what_was_finished(
    as2gw_gateway: Gateway, session: gw.Session, tmp_path: Path
) -> None:
    ids = as2gw_gateway.seed(6)
    async with gw.InboxConsumer(session, tmp_path) as consumer:
        async for n, _ in _enumerate(consumer):
            if n == 2:
                break  # the third message was handed over but its processing did not finish
    assert len(unread(as2gw_gateway, ids)) == 4
    got = await drain(session, tmp_path)
    assert sum(d.redelivered for d in got) >= 1
    assert_inbox_invariants(as2gw_gateway, tmp_path, ids)


async def _enumerate(consumer: gw.InboxConsumer) -> AsyncIterator[tuple[int, gw.Delivered]]:
    n = 0
    async for d in consumer:
        yield n, d
        n += 1


async def test_recovers_from_a_crash_after_rename_before_journal(
    as2gw_gateway: Gateway, session: gw.Session, tmp_path: Path
) -> None:
    ids = as2gw_gateway.seed(5)
    await drain(session, tmp_path)
    # Rewind to the moment a run died after renaming a message into place: no journal line,
    # still unread on the gateway, a staging leftover beside it.
    victim = ids[0]
    journal = tmp_path / ".as2gw" / "journal.jsonl"
    lines = [ln for ln in journal.read_text().splitlines() if json.loads(ln)["id"] != victim]
    journal.write_text("".join(ln + "\n" for ln in lines) + '{"id": "torn')
    as2gw_gateway.mark_read(victim, False)
    staging = tmp_path / ".as2gw" / "staging" / "dead-run"
    staging.mkdir(parents=True)
    (staging / "half.part").write_bytes(b"x" * 10)
    before = as2gw_gateway.stats.as_dict()["routes"].get("batch", 0)
    files_before = _inodes(tmp_path / safe_message_dirname(victim))

    got = await drain(session, tmp_path)
    assert [d.as2_message_id for d in got] == [victim]
    assert _inodes(tmp_path / safe_message_dirname(victim)) == files_before  # adopted as is
    assert as2gw_gateway.stats.as_dict()["routes"].get("batch", 0) == before + 1  # the mark
    assert not staging.exists()
    assert_inbox_invariants(as2gw_gateway, tmp_path, ids)


async def test_acked_but_unmarked_is_marked_without_download(
    as2gw_gateway: Gateway, session: gw.Session, tmp_path: Path
) -> None:
    ids = as2gw_gateway.seed(4)
    await drain(session, tmp_path)
    for mid in ids[:2]:
        as2gw_gateway.mark_read(mid, False)  # as if the run died before the mark landed
    journal = tmp_path / ".as2gw" / "journal.jsonl"
    lines = [ln for ln in journal.read_text().splitlines() if json.loads(ln)["state"] != "marked"]
    journal.write_text("".join(ln + "\n" for ln in lines))
    before = as2gw_gateway.stats.as_dict()["routes"].get("batch", 0)
    assert await drain(session, tmp_path) == []  # nothing handed over again
    assert unread(as2gw_gateway, ids) == []
    assert as2gw_gateway.stats.as_dict()["routes"].get("batch", 0) - before <= 1  # the mark


async def test_unread_listing_shifting_under_the_consumer_skips_nothing(
    as2gw_gateway: Gateway, session: gw.Session, tmp_path: Path
) -> None:
    """The offset-shift trap: marking read during a pass shrinks the unread listing."""
    ids = as2gw_gateway.seed(330, attachments=(1, 1))

    async def handler(d: gw.Delivered) -> None:
        # Every message handed over shrinks the unread listing at once (as a consumer that
        # marked one by one would), and new mail keeps arriving at the top.
        as2gw_gateway.mark_read(d.as2_message_id)
        if len(ids) < 360:
            ids.append(as2gw_gateway.deliver(attachments=[("late.edi", b"ISA*late")]))

    async with gw.InboxConsumer(session, tmp_path) as consumer:
        await consumer.run(handler)
    assert unread(as2gw_gateway, ids) == []
    assert consumer.stats.delivered == len(ids) == 360
    assert_inbox_invariants(as2gw_gateway, tmp_path, ids)


async def test_follow_picks_up_new_mail_until_cancelled(
    as2gw_gateway: Gateway, session: gw.Session, tmp_path: Path
) -> None:
    import anyio

    ids = as2gw_gateway.seed(3)
    got: list[str] = []
    async with gw.InboxConsumer(session, tmp_path, follow=True, poll_interval=0.05) as consumer:
        with anyio.move_on_after(30):
            async for d in consumer:
                got.append(d.as2_message_id)
                if len(got) == 3:
                    ids.append(as2gw_gateway.deliver(attachments=[("new.x12", b"ISA*new")]))
                if len(got) == 4:
                    break
    assert got[:3] == sorted(got[:3], key=ids.index) or set(got[:3]) == set(ids[:3])
    assert got[3] == ids[3]


async def test_messages_that_keep_failing_are_skipped_never_half_written(
    as2gw_gateway: Gateway, session: gw.Session, tmp_path: Path
) -> None:
    ids = as2gw_gateway.seed(8)
    as2gw_gateway.faults = FaultPlan(
        seed=1, rate=1.0, kinds=("503", "reset", "short"), routes=("batch",), retry_after=0.0
    )
    async with gw.InboxConsumer(session, tmp_path) as consumer:
        async for _ in consumer:
            pytest.fail("nothing can be delivered while every download fails")
    assert set(consumer.skipped) == set(ids)
    assert consumer.stats.skipped == 8
    assert consumer.stats.retried > 0
    assert [p.name for p in tmp_path.iterdir()] == [".as2gw"]
    assert list((tmp_path / ".as2gw" / "staging").iterdir()) == []
    assert unread(as2gw_gateway, ids) == ids

    as2gw_gateway.faults = None
    await drain(session, tmp_path)
    assert_inbox_invariants(as2gw_gateway, tmp_path, ids)


async def test_two_consumers_cannot_share_a_directory(session: gw.Session, tmp_path: Path) -> None:
    async with gw.InboxConsumer(session, tmp_path):
        with pytest.raises(RuntimeError, match="already using"):
            async with gw.InboxConsumer(session, tmp_path):
                pass


@pytest.mark.slow
async def test_thousand_messages_through_every_fault_kind(
    as2gw_emulator: EmulatorServer, as2gw_gateway: Gateway, tmp_path: Path
) -> None:
    """10% of requests fail in each of six ways; the inbox still lands whole, exactly once."""
    ids = as2gw_gateway.seed(1000, attachments=(1, 3), size=(64, 2048))
    as2gw_gateway.faults = FaultPlan(
        seed=7,
        rate=0.6,
        kinds=("429", "500", "503", "reset", "short", "expire_token"),
        latency=(0.0, 0.0),
        retry_after=0.01,
    )
    async with gw.Session(
        as2gw_emulator.username,
        as2gw_emulator.password,
        base_url=as2gw_emulator.base_url,
        rate_limit=None,
        retry_policy=gw.RetryPolicy(max_retries=10, initial_delay=0.001, max_delay=0.01),
    ) as session:
        for _ in range(10):  # a fault that outlasts every retry only delays its message
            try:
                async with gw.InboxConsumer(session, tmp_path) as consumer:
                    async for _ in consumer:
                        pass
            except gw.AS2GatewayError:
                continue  # e.g. the listing itself gave up; the next run goes on from there
            if not unread(as2gw_gateway, ids):
                break
    injected = as2gw_gateway.stats.as_dict()["faults"]
    for kind in ("429", "500", "503", "reset", "short", "expire_token"):
        # the plan draws each kind for 10% of requests; allow for the draw's spread
        assert injected.get(kind, 0) >= 0.06 * as2gw_gateway.stats.requests, kind
    as2gw_gateway.faults = None
    assert_inbox_invariants(as2gw_gateway, tmp_path, ids)
    shutil.rmtree(tmp_path / ".as2gw")
