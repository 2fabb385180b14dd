"""Tests that kill the surviving mutants of `as2gw_async/inbox.py` (see docs/mutation.md).

Each test names the mutants it kills, so nobody deletes it as redundant. They run on the
`FakeMailbox` of ``test_inbox_mailbox.py`` (no HTTP), so a mutation run stays fast.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import sys
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from types import SimpleNamespace

import anyio
import anyio.lowlevel
import pytest

import as2gw_async as gw
from as2gw_async.errors import AS2GatewayError
from as2gw_async.files import DEFAULT_MAX_TOTAL_SIZE, safe_message_dirname
from as2gw_async.inbox import _check_directory
from as2gw_async.journal import STORED, FileJournal, JournalRecord, JournalScope, Recovery, State
from as2gw_async.mailbox import ExpectedFile, FetchResult, FetchSizes, MailboxUsage, WaitingItem

from .test_inbox_mailbox import FakeMailbox

if sys.version_info >= (3, 11):
    Group = ExceptionGroup  # noqa: F821 - a builtin since 3.11
else:  # pragma: no cover - the backport anyio depends on
    from exceptiongroup import ExceptionGroup as Group

LOG = "as2gw_async.inbox"
M1 = safe_message_dirname("m1")


def _journal(dest: Path) -> list[tuple[str, str]]:
    lines = (dest / ".as2gw" / "journal.jsonl").read_text().splitlines()
    return [(x["id"], x["state"]) for x in map(json.loads, lines)]


async def _drain(box: FakeMailbox, dest: Path, got: list[str] | None = None) -> list[str]:
    """Every message handed over (also in ``got``, kept if the loop raises)."""
    got = [] if got is None else got
    async with gw.InboxConsumer(box, dest) as consumer:
        async for d in consumer:
            got.append(d.message_id)
    return got


async def _fail_once(box: FakeMailbox, dest: Path) -> None:
    """A first run whose handler fails for every message: each stays journaled ``stored``."""

    async def boom(d: gw.Delivered) -> None:
        raise ValueError("boom")

    async with gw.InboxConsumer(box, dest) as consumer:
        await consumer.run(boom)
    assert box.acknowledged == []


# -- Delivered / _message_id_of ---------------------------------------------------------


def test_delivered_takes_the_id_from_message_id_first(tmp_path: Path) -> None:
    # kills: _message_id_of: "message_id" -> "XXmessage_idXX" / "MESSAGE_ID"
    only = gw.Delivered(message=SimpleNamespace(message_id="m-1"), directory=tmp_path, files=())
    assert only.message_id == only.as2_message_id == "m-1"
    both = SimpleNamespace(message_id="gateway-id", as2_message_id="<as2@x>")
    assert gw.Delivered(message=both, directory=tmp_path, files=()).message_id == "gateway-id"


def test_delivered_without_an_id_says_what_to_pass(tmp_path: Path) -> None:
    # kills: _message_id_of: the TypeError's message None / "XX...XX" / lower / upper case
    with pytest.raises(TypeError) as err:
        gw.Delivered(message=SimpleNamespace(message_id=42), directory=tmp_path, files=())
    assert str(err.value) == "Delivered needs message_id= when its message has no id attribute"


# -- run / _deliveries / _from_disk -----------------------------------------------------


async def test_a_failing_handler_is_skipped_with_its_error_as_the_reason(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # kills: run: `_skip(mid, None)`; _skip: the log's arguments None, its text "XX...XX"
    box = FakeMailbox({"m1": {"a.txt": b"a"}})
    caplog.set_level(logging.WARNING, LOG)
    await _fail_once(box, tmp_path)
    reason = "handler failed: ValueError('boom')"
    skipped = [r.getMessage() for r in caplog.records if r.getMessage().startswith("skipped")]
    assert skipped == [f"skipped m1 for this pass: {reason}"]


async def test_iterating_outside_async_with_says_how_to_use_it(tmp_path: Path) -> None:
    # kills: _deliveries: the RuntimeError's message None / "XX...XX" / lower / upper case
    consumer = gw.InboxConsumer(FakeMailbox({"m1": {"a": b"a"}}), tmp_path)
    with pytest.raises(RuntimeError) as err:
        async for _ in consumer:
            pass
    assert str(err.value) == "use InboxConsumer as `async with InboxConsumer(...) as c:`"


async def test_stored_messages_are_handed_over_again_from_disk_even_if_no_longer_listed(
    tmp_path: Path,
) -> None:
    # kills: _deliveries: the recovered message not handed over (`delivered = None`: the
    # listing would adopt it, but only while it is still listed); _from_disk:
    # `stats.redelivered` `= 1` / `-= 1` / `+= 2`, `directory=None`
    box = FakeMailbox({"m1": {"a.txt": b"a"}, "m2": {"b.txt": b"bb"}})
    await _fail_once(box, tmp_path)
    box.messages.clear()  # marked read elsewhere meanwhile: the listing is empty
    got: list[gw.Delivered] = []
    async with gw.InboxConsumer(box, tmp_path) as consumer:
        async for d in consumer:
            got.append(d)
    assert sorted(d.message_id for d in got) == ["m1", "m2"]
    assert all(d.redelivered for d in got)
    for d in got:
        assert d.directory == tmp_path / safe_message_dirname(d.message_id)
        assert [f.path for f in d.files] == sorted(d.directory.iterdir())
    assert box.fetched == [["m1", "m2"]]  # only by the first run
    assert consumer.stats.redelivered == 2
    assert consumer.stats.delivered == 2
    assert sorted(box.acknowledged) == ["m1", "m2"]
    assert [s for _, s in _journal(tmp_path)].count(STORED) == 2  # not journaled again


async def test_a_consumer_can_be_iterated_again_inside_one_async_with(tmp_path: Path) -> None:
    # kills: _deliveries: `self._recovered = None` after the recovered ones
    box = FakeMailbox({"m1": {"a.txt": b"a"}})
    async with gw.InboxConsumer(box, tmp_path) as consumer:
        first = [d.message_id async for d in consumer]
        box.messages["m2"] = {"b.txt": b"b"}
        second = [d.message_id async for d in consumer]
    assert (first, second) == (["m1"], ["m2"])
    assert box.acknowledged == ["m1", "m2"]


class _LegacyJournal(FileJournal):
    """A journal whose recovery holds a stored record without metadata (or directory)."""

    def __init__(self, path: Path, broken: JournalRecord) -> None:
        super().__init__(path)
        self.broken = broken

    async def open(self, scope: JournalScope) -> Recovery:
        await super().open(scope)
        return Recovery(stored=(self.broken,))


@pytest.mark.parametrize(
    "broken",
    [
        JournalRecord(message_id="m1", state=STORED, directory=M1, metadata=None),
        JournalRecord(message_id="m1", state=STORED, directory=None, metadata={"id": "m1"}),
    ],
)
async def test_a_stored_record_without_directory_or_metadata_is_not_handed_over_from_disk(
    tmp_path: Path, broken: JournalRecord
) -> None:
    # kills: _from_disk: `directory is None or metadata is None` -> `and`
    (tmp_path / M1).mkdir()
    (tmp_path / M1 / "a.txt").write_bytes(b"a")
    box = FakeMailbox({"m1": {"a.txt": b"a"}})
    journal = _LegacyJournal(tmp_path / ".as2gw" / "journal.jsonl", broken)
    async with gw.InboxConsumer(box, tmp_path, journal=journal) as consumer:
        got = [d async for d in consumer]
    # the listing still shows it: adopted from the directory in place, once
    assert [(d.message_id, d.message) for d in got] == [("m1", {"id": "m1", "subject": "about m1"})]
    assert box.fetched == []
    assert box.acknowledged == ["m1"]


async def test_a_message_whose_handler_failed_is_not_handed_over_again_on_the_next_poll(
    tmp_path: Path,
) -> None:
    # kills: _from_disk: `self._handed.add(None)` (following, the next poll handed it over
    # again from the directory in place; it waits for the next run)
    box = FakeMailbox({"m1": {"a.txt": b"a"}})
    listings = 0
    third = anyio.Event()
    original = box.waiting

    async def counting() -> AsyncIterator[WaitingItem]:
        nonlocal listings
        listings += 1
        if listings == 3:  # the second poll's pass is over
            third.set()
        async for item in original():
            yield item

    box.waiting = counting  # type: ignore[method-assign]
    calls: list[str] = []

    async def handler(d: gw.Delivered) -> None:
        calls.append(d.message_id)
        raise ValueError("not now")

    consumer = gw.InboxConsumer(box, tmp_path, follow=True, poll_interval=0)
    async with consumer, anyio.create_task_group() as tg:
        tg.start_soon(consumer.run, handler)
        with anyio.fail_after(10):  # a guard against a hang, not a timing check
            await third.wait()
        tg.cancel_scope.cancel()
    assert calls == ["m1"]
    assert box.fetched == [["m1"]]
    assert box.acknowledged == []


# -- _pass / _run_pass / _unwrap ---------------------------------------------------------


async def test_an_id_listed_twice_is_fetched_once(tmp_path: Path) -> None:
    # kills: _pass: `item.id in seen or item.id in self.skipped` -> `and`
    box = FakeMailbox({"m1": {"a.txt": b"a"}, "m2": {"b.txt": b"b"}})
    original = box.waiting

    async def twice() -> AsyncIterator[WaitingItem]:
        async for item in original():
            yield item
            yield item  # the listing shifted under the pager

    box.waiting = twice  # type: ignore[method-assign]
    async with gw.InboxConsumer(box, tmp_path) as consumer:
        got = [d.message_id async for d in consumer]
    assert got == ["m1", "m2"]
    assert box.fetched == [["m1", "m2"]]
    assert consumer.skipped == {}
    assert consumer.stats.skipped == 0


class _ExplodingMailbox(FakeMailbox):
    """``fetch`` fails with an error the consumer does not handle (not a gateway error)."""

    def __init__(self, error: BaseException) -> None:
        super().__init__({"m1": {"a.txt": b"a"}})
        self.error = error

    async def fetch(
        self, items: Sequence[WaitingItem], staging: Path, *, max_total_size: int
    ) -> FetchResult:
        raise self.error


@pytest.mark.parametrize("nested", [False, True])
async def test_an_unexpected_fetch_error_reaches_the_loop_as_itself(
    tmp_path: Path, nested: bool
) -> None:
    # kills: _unwrap: every mutant of the first `getattr` (None, getattr(None), renamed),
    # `len(inner) == 1` -> `!= 1` / `== 2`, `exc = None`, `inner[1]`; with nested=True
    # (the mailbox itself used a task group) every mutant of the second `getattr`
    error = RuntimeError("the gateway exploded")
    raised: BaseException = error
    if nested:
        raised = Group("inside the mailbox", [error])
    box = _ExplodingMailbox(raised)
    with pytest.raises(RuntimeError) as got:
        await _drain(box, tmp_path)
    assert got.value is error
    assert box.acknowledged == []


async def test_two_errors_stay_a_group(tmp_path: Path) -> None:
    # kills: _unwrap: `len(inner) == 1` -> `!= 1` (a group of two is not unwrapped)
    group = Group("two", [RuntimeError("one"), KeyError("two")])
    with pytest.raises(Group) as got:
        await _drain(_ExplodingMailbox(group), tmp_path)
    assert got.value is group


class _ListingFailsLater(FakeMailbox):
    """The listing waits for ``fail`` (after the consumer's loop has gone), then breaks."""

    def __init__(self) -> None:
        super().__init__({})
        self.listing = anyio.Event()
        self.fail = anyio.Event()

    async def waiting(self) -> AsyncIterator[WaitingItem]:
        self.listing.set()
        await self.fail.wait()
        raise AS2GatewayError("the listing gave up")
        yield  # pragma: no cover - an async generator


async def test_a_pass_failing_after_the_loop_is_gone_does_not_break_the_consumer(
    tmp_path: Path,
) -> None:
    # kills: _run_pass: `suppress(BrokenResourceError, ...)` -> `suppress(None, ...)` /
    # without BrokenResourceError (the failure found nobody to report to and crashed
    # the consumer's task group, and `async with` with it)
    box = _ListingFailsLater()
    async with gw.InboxConsumer(box, tmp_path) as consumer:
        loop = consumer.__aiter__()
        async with anyio.create_task_group() as tg:
            tg.start_soon(loop.__anext__)
            await box.listing.wait()
            tg.cancel_scope.cancel()  # the loop is cancelled while the pass lists
        box.fail.set()
        # every task of the pass is done (or blocked) after this: no thread is involved
        await anyio.wait_all_tasks_blocked()
    assert consumer.skipped == {}
    assert box.acknowledged == []


class _SecondFetchFails(FakeMailbox):
    """Fetches one message at a time; the fetch of ``m2`` fails unexpectedly."""

    def __init__(self) -> None:
        super().__init__({"m1": {"a.txt": b"a"}, "m2": {"b.txt": b"b"}})
        self.sizes = FetchSizes(max_ids=1, max_bytes=None, large=1000)
        self.failed = anyio.Event()

    async def fetch(
        self, items: Sequence[WaitingItem], staging: Path, *, max_total_size: int
    ) -> FetchResult:
        if [i.id for i in items] == ["m2"]:
            self.failed.set()
            raise RuntimeError("the gateway exploded")
        return await super().fetch(items, staging, max_total_size=max_total_size)


async def test_leaving_the_loop_while_a_failed_pass_waits_to_report_closes_cleanly(
    tmp_path: Path,
) -> None:
    # kills: _run_pass: `suppress(BrokenResourceError, None)` (closing cancels the report
    # of the failure, and `issubclass(Cancelled, (..., None))` raised TypeError out of
    # the consumer's task group)
    box = _SecondFetchFails()
    async with gw.InboxConsumer(box, tmp_path, concurrency=1) as consumer:
        async for d in consumer:
            assert d.message_id == "m1"
            await box.failed.wait()  # the pass failed behind the loop's back
            break
    assert box.fetched == [["m1"]]
    assert box.acknowledged == []  # m1 was not done with: handed over again next run
    assert _journal(tmp_path) == [("m1", STORED)]


# -- _dispatch: _refuse, _skip_claimed --------------------------------------------------


class _RecordingJournal(FileJournal):
    def __init__(self, path: Path) -> None:
        super().__init__(path)
        self.released: list[list[str]] = []

    async def release(self, ids: Sequence[str]) -> None:
        self.released.append(list(ids))
        await super().release(ids)


async def test_a_message_over_the_limit_is_skipped_with_the_reason_and_its_claim_released(
    tmp_path: Path,
) -> None:
    # kills: _refuse: the reason's second half "XX...XX" / upper case;
    # _skip_claimed: `release(None)`
    box = FakeMailbox({"big": {"big.bin": b"z" * 50}, "m1": {"a.txt": b"a"}})
    journal = _RecordingJournal(tmp_path / ".as2gw" / "journal.jsonl")
    async with gw.InboxConsumer(box, tmp_path, max_total_size=10, journal=journal) as c:
        got = [d.message_id async for d in c]
    assert got == ["m1"]
    assert c.skipped == {
        "big": "50 bytes, over max_total_size (10): not fetched; "
        "raise max_total_size (sync --max-total-size) to take it"
    }
    assert journal.released == [["big"]]
    assert ("big", STORED) not in _journal(tmp_path)


# -- _adopt, _check_directory, _move_aside ------------------------------------------------


async def test_directories_in_place_with_the_wrong_files_are_moved_aside_and_logged(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # kills: _adopt: the warning's arguments None, its text "XX...XX";
    # _move_aside: `exist_ok=True` -> `None` / `False` / dropped (a second one in a run)
    box = FakeMailbox({"m1": {"a.txt": b"a"}, "m2": {"b.txt": b"bb"}})
    for mid in ("m1", "m2"):
        (tmp_path / safe_message_dirname(mid)).mkdir()
        (tmp_path / safe_message_dirname(mid) / "other.txt").write_bytes(b"someone else's")
    caplog.set_level(logging.WARNING, LOG)
    async with gw.InboxConsumer(box, tmp_path) as consumer:
        got = sorted([d.message_id async for d in consumer])
    assert got == ["m1", "m2"]
    assert sorted(mid for ids in box.fetched for mid in ids) == ["m1", "m2"]
    rejected = tmp_path / ".as2gw" / "rejected"
    aside = {p.name.split("~")[0]: p for p in rejected.iterdir()}
    assert sorted(aside) == ["m1", "m2"]
    for path in aside.values():
        assert (path / "other.txt").read_bytes() == b"someone else's"  # nothing deleted
    messages = sorted(r.getMessage() for r in caplog.records if "was in place" in r.getMessage())
    problems = {
        "m1": "'a.txt' (1 bytes) is missing or of another size",
        "m2": "'b.txt' (2 bytes) is missing or of another size",
    }
    assert messages == [
        f"{tmp_path / safe_message_dirname(mid)} was in place but {problems[mid]}: "
        f"moved it to {aside[mid]} and fetching the message again"
        for mid in ("m1", "m2")
    ]


async def test_a_directory_with_a_partly_written_file_is_not_adopted(tmp_path: Path) -> None:
    # kills: _check_directory: ".part" -> "XX.partXX" / ".PART"
    box = FakeMailbox({"m1": {"a.txt": b"a"}})
    (tmp_path / M1).mkdir()
    (tmp_path / M1 / "a.txt").write_bytes(b"a")
    (tmp_path / M1 / ".b.txt.1234.part").write_bytes(b"half")
    async with gw.InboxConsumer(box, tmp_path) as consumer:
        got = [d async for d in consumer]
    assert [d.redelivered for d in got] == [False]  # fetched again, not adopted
    assert box.fetched == [["m1"]]
    assert [f.name for f in got[0].files] == ["a.txt"]
    (aside,) = (tmp_path / ".as2gw" / "rejected").iterdir()
    assert sorted(p.name for p in aside.iterdir()) == [".b.txt.1234.part", "a.txt"]


def _item(*expected: tuple[str | None, int | None]) -> WaitingItem:
    return WaitingItem(id="m", files=tuple(ExpectedFile(name=n, size=s) for n, s in expected))


def _dir(root: Path, **files: int) -> Path:
    directory = root / "m"
    directory.mkdir()
    for name, size in files.items():
        (directory / name.replace("_", " ")).write_bytes(b"x" * size)
    return directory


def test_check_directory_reasons(tmp_path: Path) -> None:
    # kills: _check_directory: each reason's text "XX...XX" / upper case; `shown = None`,
    # `expected.name and "a file"`, "a file" -> "XXa fileXX" / "A FILE"
    plain = tmp_path / "plain"
    plain.write_bytes(b"")
    assert _check_directory(_item(("a", 1)), plain) == "it is not a directory"
    partial = tmp_path / "p"
    partial.mkdir()
    (partial / ".a.x.part").write_bytes(b"")
    assert _check_directory(_item(("a", 1)), partial) == "it holds a partly written file"
    empty = tmp_path / "e"
    empty.mkdir()
    assert _check_directory(WaitingItem(id="m"), empty) == "it holds no file"
    wrong = _dir(tmp_path, other=3)
    assert _check_directory(_item(("a.txt", 5)), wrong) == (
        "'a.txt' (5 bytes) is missing or of another size"
    )
    assert _check_directory(_item((None, 5)), wrong) == (
        "'a file' (5 bytes) is missing or of another size"
    )


def test_check_directory_matches_by_name_before_by_size(tmp_path: Path) -> None:
    # kills: _check_directory: `name = None`, the condition `and False`, `safe_filename(None)`,
    # `expected.name is None`, `name not in on_disk` (by size first, the unsized "b" took
    # "a" and left the 1-byte "a" nothing to match)
    directory = _dir(tmp_path, a=1, b=5)
    assert _check_directory(_item(("b", None), ("a", 1)), directory) is None


def test_check_directory_matches_an_unnamed_file_by_size_only(tmp_path: Path) -> None:
    # kills: _check_directory: `... or True` (an unnamed file matched "attachment" by name)
    directory = _dir(tmp_path, a=1, attachment=5)
    assert _check_directory(_item((None, None), ("z", 1)), directory) == (
        "'z' (1 bytes) is missing or of another size"
    )


def test_check_directory_takes_a_renamed_repeat_by_size(tmp_path: Path) -> None:
    # kills: _check_directory: `same = None`, `same[0]` -> `same[1]`
    directory = _dir(tmp_path, **{"a.txt": 1, "a_(2).txt": 1})
    assert _check_directory(_item(("a.txt", 1), ("a.txt", 1)), directory) is None
    assert _check_directory(_item(("a.txt", 1), ("a.txt", 1), ("a.txt", 1)), directory) == (
        "'a.txt' (1 bytes) is missing or of another size"
    )


# -- _pass: groups, listing failures, holding acknowledgements ----------------------------


class _StatesJournal(FileJournal):
    def __init__(self, path: Path) -> None:
        super().__init__(path)
        self.looked_up: list[int] = []

    async def states(self, ids: Sequence[str]) -> dict[str, State]:
        self.looked_up.append(len(ids))
        return await super().states(ids)


async def test_the_journal_is_asked_100_ids_at_a_time_and_a_full_group_can_adopt(
    tmp_path: Path,
) -> None:
    # kills: _pass: `len(group) >= _GROUP` -> `>`; `_dispatch(full, ..., None)` (a
    # directory adopted from a full group had nowhere to go)
    box = FakeMailbox({f"m{i:03}": {"a.txt": b"a"} for i in range(150)})
    adopted = tmp_path / safe_message_dirname("m007")
    adopted.mkdir()
    (adopted / "a.txt").write_bytes(b"a")
    journal = _StatesJournal(tmp_path / ".as2gw" / "journal.jsonl")
    async with gw.InboxConsumer(box, tmp_path, journal=journal) as consumer:
        got = {d.message_id: d async for d in consumer}
    assert len(got) == 150
    assert got["m007"].redelivered
    assert "m007" not in {mid for ids in box.fetched for mid in ids}
    assert journal.looked_up[:2] == [100, 50]


class _ListingBreaks(FakeMailbox):
    async def waiting(self) -> AsyncIterator[WaitingItem]:
        async for item in super().waiting():
            yield item
        raise AS2GatewayError("the listing gave up on page 2")


async def test_a_listing_that_fails_is_reported_after_what_it_listed_is_delivered(
    tmp_path: Path,
) -> None:
    # kills: _pass: `failure = None` (the listing's failure was swallowed)
    box = _ListingBreaks({"m1": {"a.txt": b"a"}})
    got: list[str] = []
    with pytest.raises(AS2GatewayError, match="page 2"):
        await _drain(box, tmp_path, got)
    assert got == ["m1"]
    assert box.acknowledged == ["m1"]  # done with before the failure reached the loop


async def test_acknowledgements_go_out_100_at_a_time_once_the_listing_is_over(
    tmp_path: Path,
) -> None:
    # kills: _pass: `self._listing = False` -> `True` after the listing (every
    # acknowledgement then waited for the end of the pass)
    box = FakeMailbox({f"m{i:03}": {"a.txt": b"a"} for i in range(150)})
    box.sizes = FetchSizes(max_ids=1000, max_bytes=None, large=10**9)  # one fetch, after
    acknowledged_when: list[int] = []
    async with gw.InboxConsumer(box, tmp_path) as consumer:
        async for _ in consumer:
            acknowledged_when.append(len(box.acknowledged))
    assert box.fetched == [[f"m{i:03}" for i in range(150)]]
    assert acknowledged_when == [0] * 100 + [100] * 50
    assert len(box.acknowledged) == 150


# -- _dispatch ---------------------------------------------------------------------------


async def test_a_message_of_exactly_max_total_size_is_fetched(tmp_path: Path) -> None:
    # kills: _dispatch: `size > self.max_total_size` -> `>=`
    box = FakeMailbox({"m1": {"a.txt": b"x" * 10}})
    async with gw.InboxConsumer(box, tmp_path, max_total_size=10) as consumer:
        got = [d.message_id async for d in consumer]
    assert got == ["m1"]
    assert consumer.skipped == {}


class _SharedJournal(FileJournal):
    """A journal shared with another consumer that holds ``theirs``."""

    def __init__(self, path: Path, theirs: str) -> None:
        super().__init__(path)
        self.theirs = theirs

    async def claim(self, ids: Sequence[str]) -> list[str]:
        return [m for m in await super().claim(ids) if m != self.theirs]


async def test_a_directory_claimed_by_another_consumer_does_not_hold_back_the_rest(
    tmp_path: Path,
) -> None:
    # kills: _dispatch: `continue  # another consumer has it` -> `break`
    box = FakeMailbox({"m1": {"a.txt": b"a"}, "m2": {"b.txt": b"b"}})
    (tmp_path / M1).mkdir()
    (tmp_path / M1 / "a.txt").write_bytes(b"a")
    journal = _SharedJournal(tmp_path / ".as2gw" / "journal.jsonl", theirs="m1")
    async with gw.InboxConsumer(box, tmp_path, journal=journal) as consumer:
        got = [d.message_id async for d in consumer]
    assert got == ["m2"]
    assert box.fetched == [["m2"]]
    assert (tmp_path / M1 / "a.txt").read_bytes() == b"a"  # left to its owner


async def test_an_adopted_directory_does_not_cost_the_others_a_pass(tmp_path: Path) -> None:
    # kills: _dispatch: `continue` after an adoption -> `break` (the rest of the group
    # waited for one more listing)
    box = FakeMailbox({"m1": {"a.txt": b"a"}, "m2": {"b.txt": b"b"}})
    listings = 0
    original = box.waiting

    async def counting() -> AsyncIterator[WaitingItem]:
        nonlocal listings
        listings += 1
        async for item in original():
            yield item

    box.waiting = counting  # type: ignore[method-assign]
    (tmp_path / M1).mkdir()
    (tmp_path / M1 / "a.txt").write_bytes(b"a")
    async with gw.InboxConsumer(box, tmp_path) as consumer:
        got = [d.message_id async for d in consumer]
    assert sorted(got) == ["m1", "m2"]
    assert box.fetched == [["m2"]]
    assert listings == 2  # the pass that took both, and the one that found nothing new


# -- _fetch_chunk ------------------------------------------------------------------------


class _FlakyMailbox(FakeMailbox):
    """``raises[ids]``: the error a fetch of exactly those ids raises; ``results``: what a
    fetch of an id returns instead of its files (an error, or nothing at all)."""

    def __init__(self, messages: dict[str, dict[str, bytes]]) -> None:
        super().__init__(messages)
        self.raises: dict[tuple[str, ...], Exception] = {}
        self.errors: dict[str, str] = {}
        self.missing: set[str] = set()

    async def fetch(
        self, items: Sequence[WaitingItem], staging: Path, *, max_total_size: int
    ) -> FetchResult:
        error = self.raises.get(tuple(i.id for i in items))
        if error is not None:
            self.fetched.append([i.id for i in items])
            raise error
        result = await super().fetch(items, staging, max_total_size=max_total_size)
        gone = set(self.errors) | self.missing
        files = {m: f for m, f in result.files.items() if m not in gone}
        return FetchResult(files=files, errors=dict(self.errors))


async def test_a_failed_fetch_of_two_is_retried_one_by_one(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # kills: _fetch_chunk: the warning's `exc` None, its text "XX...XX";
    # `_fetch_chunk([item], None)`; a single fetch's reason `None` / `str(None)`
    box = _FlakyMailbox({"m1": {"a.txt": b"a"}, "m2": {"b.txt": b"b"}})
    box.raises[("m1", "m2")] = AS2GatewayError("batch refused")
    box.raises[("m2",)] = OSError("disk full")
    caplog.set_level(logging.WARNING, LOG)
    async with gw.InboxConsumer(box, tmp_path) as consumer:
        got = [d.message_id async for d in consumer]
    assert got == ["m1"]
    assert box.fetched == [["m1", "m2"], ["m1"], ["m2"]]
    assert consumer.skipped == {"m2": "disk full"}
    assert "fetch of 2 failed (batch refused); fetching one by one" in [
        r.getMessage() for r in caplog.records
    ]


async def test_what_the_mailbox_could_not_fetch_is_skipped_with_its_reason(
    tmp_path: Path,
) -> None:
    # kills: _fetch_chunk: `error = None`, `errors.get(None)`, `error is not None or ...`
    # -> `and`, `_skip_claimed(None, ...)`
    box = _FlakyMailbox({"m1": {"a.txt": b"a"}, "m2": {"b.txt": b"b"}, "m3": {"c": b"c"}})
    box.sizes = FetchSizes(max_ids=3, max_bytes=None, large=1000)
    box.errors["m1"] = "checksum mismatch"
    box.missing.add("m2")
    async with gw.InboxConsumer(box, tmp_path) as consumer:
        got = [d.message_id async for d in consumer]
    assert got == ["m3"]
    assert consumer.skipped == {
        "m1": "checksum mismatch",
        "m2": "the mailbox returned nothing",
    }
    assert box.acknowledged == ["m3"]


async def test_two_fetches_at_once_on_a_coarse_clock_get_their_own_staging(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # kills: _fetch_chunk: the staging name's `id(chunk)` -> `id(None)` (two chunks
    # named in one clock tick, as on Windows' coarse clock, shared one directory)
    import as2gw_async.inbox as inbox

    monkeypatch.setattr(inbox.time, "time_ns", lambda: 1_000)
    box = FakeMailbox({"m1": {"a.txt": b"a"}, "m2": {"b.txt": b"b"}})
    box.sizes = FetchSizes(max_ids=1, max_bytes=None, large=1000)
    box.hold["m1"] = anyio.Event()  # m1's fetch waits until m2's has begun
    original = box.fetch

    async def fetch(
        items: Sequence[WaitingItem], staging: Path, *, max_total_size: int
    ) -> FetchResult:
        if [i.id for i in items] == ["m2"]:
            box.hold["m1"].set()
        return await original(items, staging, max_total_size=max_total_size)

    box.fetch = fetch  # type: ignore[method-assign]
    async with gw.InboxConsumer(box, tmp_path, concurrency=2) as consumer:
        got = sorted([d.message_id async for d in consumer])
    assert got == ["m1", "m2"]
    assert consumer.skipped == {}


async def test_a_fetch_cancelled_by_closing_the_consumer_leaves_no_staging_behind(
    tmp_path: Path,
) -> None:
    # kills: _fetch_chunk: the cleanup's `CancelScope(shield=True)` -> `None` / `False`
    # (cancelled, the staging directory stayed until the next run)
    box = FakeMailbox({"m1": {"a.txt": b"a"}})
    box.hold["m1"] = anyio.Event()  # never set: the fetch is under way when we close
    fetching = anyio.Event()
    original = box.fetch

    async def fetch(
        items: Sequence[WaitingItem], staging: Path, *, max_total_size: int
    ) -> FetchResult:
        assert staging.is_dir()
        fetching.set()
        return await original(items, staging, max_total_size=max_total_size)

    box.fetch = fetch  # type: ignore[method-assign]
    consumer = gw.InboxConsumer(box, tmp_path)
    async with consumer, anyio.create_task_group() as tg:
        tg.start_soon(_drain_with, consumer)
        await fetching.wait()
        tg.cancel_scope.cancel()
    assert list((tmp_path / ".as2gw" / "staging").iterdir()) == []
    assert box.acknowledged == []
    assert not (tmp_path / M1).exists()


async def _drain_with(consumer: gw.InboxConsumer) -> None:
    async for _ in consumer:
        pass  # pragma: no cover - nothing is handed over


# -- not yet reported by the run when written: __init__, _mailbox_of, _lock_dir, -----------
# -- _journal_stored, _store, _ack, _flush_marks, _update_counters, _Planner, _verify ------


class _Session:
    """A session that hands out a `FakeMailbox` and records the options it was given."""

    def __init__(self) -> None:
        self.options: list[dict[str, object]] = []
        self.box = FakeMailbox({})

    def mailbox(self, **options: object) -> FakeMailbox:
        self.options.append(options)
        return self.box


def test_the_consumer_keeps_its_settings_and_passes_gateway_options_on(tmp_path: Path) -> None:
    # kills: __init__: the options dict (names, `is not None`), include_mdn, the attributes,
    # the defaults (`concurrency=8` -> `9`, ...)
    session = _Session()
    c = gw.InboxConsumer(
        session,
        str(tmp_path),
        concurrency=3,
        partner_as2_id="P",
        partner_type="x",
        poll_interval=2.5,
        follow=True,
        include_mdn=True,
        max_total_size=123,
    )
    assert session.options == [{"partner_as2_id": "P", "partner_type": "x", "include_mdn": True}]
    assert c.mailbox is session.box
    assert (c.dest_dir, c.concurrency, c.poll_interval) == (tmp_path, 3, 2.5)
    assert (c.follow, c.include_mdn, c.max_total_size) == (True, True, 123)
    assert (c.skipped, c.stats) == ({}, gw.ConsumerStats())
    gw.InboxConsumer(session, tmp_path, station_as2_id="S")
    d = gw.InboxConsumer(session, tmp_path)  # the defaults
    assert (d.concurrency, d.poll_interval, d.follow, d.include_mdn) == (8, 30.0, False, False)
    assert d.max_total_size == DEFAULT_MAX_TOTAL_SIZE
    assert session.options[1:] == [{"station_as2_id": "S"}, {}]


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"concurrency": 0}, ValueError, "concurrency must be at least 1"),
        ({"max_total_size": True}, TypeError, "max_total_size must be an int, not True"),
        ({"max_total_size": 1.5}, TypeError, "max_total_size must be an int, not 1.5"),
        ({"max_total_size": 0}, ValueError, "max_total_size must be a positive number of bytes: 0"),
    ],
)
def test_bad_settings_are_refused_with_a_clear_message(
    tmp_path: Path, kwargs: dict[str, object], error: type[Exception], message: str
) -> None:
    # kills: __init__: the checks' bounds and messages
    with pytest.raises(error) as err:
        gw.InboxConsumer(FakeMailbox({}), tmp_path, **kwargs)  # type: ignore[arg-type]
    assert str(err.value) == message


def test_the_smallest_settings_are_accepted(tmp_path: Path) -> None:
    # kills: __init__: `concurrency < 1` -> `<= 1`, `max_total_size < 1` -> `<= 1`
    c = gw.InboxConsumer(FakeMailbox({}), tmp_path, concurrency=1, max_total_size=1)
    assert (c.concurrency, c.max_total_size) == (1, 1)


def test_a_mailbox_with_gateway_options_or_no_mailbox_at_all_is_refused(tmp_path: Path) -> None:
    # kills: _mailbox_of: the messages
    with pytest.raises(ValueError, match="options of session") as err:
        gw.InboxConsumer(FakeMailbox({}), tmp_path, partner_as2_id="P", include_mdn=True)
    assert str(err.value) == (
        "partner_as2_id, include_mdn: options of session.mailbox(); pass them there "
        "when giving InboxConsumer a mailbox"
    )
    with pytest.raises(TypeError) as type_err:
        gw.InboxConsumer(SimpleNamespace(mailbox="not callable"), tmp_path)
    assert str(type_err.value) == (
        "InboxConsumer needs a session with a mailbox() or a Mailbox, not SimpleNamespace"
    )


async def test_a_second_consumer_on_one_directory_is_refused_until_the_first_is_done(
    tmp_path: Path,
) -> None:
    # kills: _lock_dir: the message, the flags; _close_dir / _unlock_dir: the lock released
    async with gw.InboxConsumer(FakeMailbox({}), tmp_path):
        with pytest.raises(RuntimeError) as err:
            async with gw.InboxConsumer(FakeMailbox({}), tmp_path):
                pass  # pragma: no cover
        assert str(err.value) == f"another InboxConsumer is already using {tmp_path}"
    async with gw.InboxConsumer(FakeMailbox({}), tmp_path):
        pass
    assert (tmp_path / ".as2gw" / "lock").is_file()


async def test_leftovers_of_a_dead_download_are_cleared_when_the_consumer_opens(
    tmp_path: Path,
) -> None:
    # kills: _open_dir: the staging leftovers not removed
    leftover = tmp_path / ".as2gw" / "staging" / "1234-5678" / M1
    leftover.mkdir(parents=True)
    (leftover / "a.txt").write_bytes(b"half")
    box = FakeMailbox({"m1": {"a.txt": b"a"}})
    async with gw.InboxConsumer(box, tmp_path) as consumer:
        assert list((tmp_path / ".as2gw" / "staging").iterdir()) == []
        got = [d.message_id async for d in consumer]
    assert got == ["m1"]


async def test_what_was_stored_is_logged_counted_and_reported_to_progress(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # kills: _journal_stored: the info line and its arguments, `progress` not called;
    # _store: `stats.bytes`; _update_counters: `requests` / `retried`
    box = FakeMailbox({"m1": {"a.txt": b"abc", "b.txt": b"de"}, "m2": {"c.txt": b"f"}})
    seen: list[tuple[str, bool]] = []
    caplog.set_level(logging.INFO, LOG)
    consumer = gw.InboxConsumer(
        box, tmp_path, progress=lambda d: seen.append((d.message_id, d.redelivered))
    )
    async with consumer:
        got = [d.message_id async for d in consumer]
    assert got == ["m1", "m2"]
    assert seen == [("m1", False), ("m2", False)]
    assert [r.getMessage() for r in caplog.records if r.getMessage().startswith("stored")] == [
        f"stored m1: 2 file(s) in {tmp_path / M1}",
        f"stored m2: 1 file(s) in {tmp_path / safe_message_dirname('m2')}",
    ]
    assert consumer.stats.bytes == 6
    assert consumer.stats.requests == 1  # FakeMailbox: one request a fetch
    assert consumer.stats.retried == 0
    assert consumer.stats.delivered == 2
    assert consumer.stats.marked_read == 2
    assert consumer.stats.requests_per_message == 0.5


class _Stubborn(FakeMailbox):
    """Acknowledges only some ids; or refuses the whole call."""

    def __init__(self, messages: dict[str, dict[str, bytes]]) -> None:
        super().__init__(messages)
        self.keep: set[str] = set()
        self.refuse = False

    async def acknowledge(self, ids: Sequence[str]) -> list[str]:
        if self.refuse:
            raise AS2GatewayError("marking is down")
        return await super().acknowledge([m for m in ids if m not in self.keep])


async def test_an_acknowledgement_that_fails_is_logged_and_left_for_the_next_run(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # kills: _flush_marks: the warnings, the count, `marked` journaled, `marked_read`
    box = _Stubborn({"m1": {"a": b"a"}, "m2": {"b": b"b"}})
    box.keep.add("m2")
    caplog.set_level(logging.WARNING, LOG)
    async with gw.InboxConsumer(box, tmp_path) as consumer:
        got = [d.message_id async for d in consumer]
    assert got == ["m1", "m2"]
    assert consumer.stats.marked_read == 1
    assert ("m1", "marked") in _journal(tmp_path)
    assert ("m2", "marked") not in _journal(tmp_path)
    assert "m2 was not marked read; the next run will retry" in caplog.messages
    box.keep.clear()
    box.refuse = True
    async with gw.InboxConsumer(box, tmp_path) as consumer:  # m2: acked, not marked
        assert [d async for d in consumer] == []
    assert "could not mark 1 message(s) read: marking is down" in caplog.messages
    box.refuse = False
    async with gw.InboxConsumer(box, tmp_path) as consumer:
        assert [d async for d in consumer] == []
    assert consumer.stats.marked_read == 1
    assert box.acknowledged == ["m1", "m2"]
    assert _journal(tmp_path)[-1] == ("m2", "marked")


def _w(mid: str, size: int | None) -> WaitingItem:
    return WaitingItem(id=mid, files=(ExpectedFile(name="f", size=size),))


def test_the_planner_groups_by_ids_and_bytes_and_sends_large_ones_alone() -> None:
    # kills: _Planner.add / flush: the bounds `>=` / `>`, the byte count, `size or 0`,
    # flush's `[] if not current`, and the bytes it starts again from (`0` -> `1`)
    from as2gw_async.inbox import _Planner

    p = _Planner(FetchSizes(max_ids=3, max_bytes=10, large=8))
    assert p.add(_w("big", 8)) == [[_w("big", 8)]]
    assert p.add(_w("a", 4)) == []
    assert p.add(_w("b", None)) == []  # unknown size: counted as 0
    assert p.add(_w("c", 6)) == []  # 10 bytes: still fits
    assert p.add(_w("d", 1)) == [[_w("a", 4), _w("b", None), _w("c", 6)]]
    assert p.add(_w("e", 7)) == []
    assert p.add(_w("f", 3)) == [[_w("d", 1), _w("e", 7)]]  # 11 bytes would not fit
    assert p.flush() == [[_w("f", 3)]]
    assert p.flush() == []
    q = _Planner(FetchSizes(max_ids=2))  # no byte limit, nothing large
    assert q.add(_w("x", 10**9)) == []
    assert q.add(_w("y", 10**9)) == []
    assert q.add(_w("z", 1)) == [[_w("x", 10**9), _w("y", 10**9)]]
    assert q.flush() == [[_w("z", 1)]]
    r = _Planner(FetchSizes(max_ids=5, max_bytes=10))  # after a flush, from 0 bytes again
    assert r.add(_w("a", 6)) == []
    assert r.add(_w("b", 5)) == [[_w("a", 6)]]
    assert r.add(_w("c", 5)) == []  # 10 bytes: fits
    assert r.flush() == [[_w("b", 5), _w("c", 5)]]


def test_verify_names_what_differs(tmp_path: Path) -> None:
    # kills: _verify: the messages and the comparisons
    from as2gw_async.errors import IntegrityError
    from as2gw_async.inbox import _verify
    from as2gw_async.models import DownloadedFile

    def got(*sizes: int) -> list[DownloadedFile]:
        return [
            DownloadedFile(path=tmp_path / str(i), name=str(i), size=s) for i, s in enumerate(sizes)
        ]

    item = WaitingItem(
        id="m", files=(ExpectedFile(name="a", size=1), ExpectedFile(name="b", size=2))
    )
    _verify(item, got(2, 1))
    _verify(WaitingItem(id="m"), got(5))
    _verify(WaitingItem(id="m", files=()), got(5))
    with pytest.raises(IntegrityError) as err:
        _verify(item, got(1))
    assert str(err.value) == "m: expected 2 attachment(s), got 1"
    with pytest.raises(IntegrityError) as err:
        _verify(item, got(1, 3))
    assert str(err.value) == "m: attachment sizes [1, 3] differ from the listing's [1, 2]"
    unsized = WaitingItem(id="m", files=(ExpectedFile(name="a", size=1), ExpectedFile(name="b")))
    _verify(unsized, got(1, 7))  # one size not announced: only the count is checked


def test_files_in_lists_the_regular_files_by_name(tmp_path: Path) -> None:
    # kills: _files_in: the sort, `is_file`, the sizes, a non-directory
    from as2gw_async.inbox import _files_in

    (tmp_path / "b.txt").write_bytes(b"bb")
    (tmp_path / "a.txt").write_bytes(b"a")
    (tmp_path / "sub").mkdir()
    found = _files_in(tmp_path)
    assert found is not None
    assert [(f.name, f.size, f.path) for f in found] == [
        ("a.txt", 1, tmp_path / "a.txt"),
        ("b.txt", 2, tmp_path / "b.txt"),
    ]
    assert _files_in(tmp_path / "a.txt") is None
    assert _files_in(tmp_path / "missing") is None


# -- _store, _journal_stored, the staging cleanup -------------------------------------------


class _NoDirForEmpty(FakeMailbox):
    """Makes no directory for a message without files (nothing to write)."""

    async def fetch(
        self, items: Sequence[WaitingItem], staging: Path, *, max_total_size: int
    ) -> FetchResult:
        self.fetched.append([i.id for i in items])
        return FetchResult(files={i.id: [] for i in items})


async def test_a_message_without_files_is_stored_as_an_empty_directory(tmp_path: Path) -> None:
    # kills: _store: `source.mkdir(exist_ok=True)` dropped (the mailbox had nothing to write)
    box = _NoDirForEmpty({"m1": {}})
    async with gw.InboxConsumer(box, tmp_path) as consumer:
        got = [d async for d in consumer]
    assert [(d.message_id, d.files, d.directory) for d in got] == [("m1", (), tmp_path / M1)]
    assert (tmp_path / M1).is_dir()
    assert consumer.skipped == {}


class _CleansUpAfterItself(FakeMailbox):
    """A fetch that fails and removes the staging directory it was given on its way out."""

    async def fetch(
        self, items: Sequence[WaitingItem], staging: Path, *, max_total_size: int
    ) -> FetchResult:
        self.fetched.append([i.id for i in items])
        shutil.rmtree(staging)
        raise AS2GatewayError("gave up")


async def test_a_staging_directory_already_gone_does_not_mask_the_fetch_error(
    tmp_path: Path,
) -> None:
    # kills: _fetch_chunk: the cleanup's `rmtree(..., ignore_errors=True)` -> `None` /
    # `False` / dropped
    box = _CleansUpAfterItself({"m1": {"a.txt": b"a"}})
    async with gw.InboxConsumer(box, tmp_path) as consumer:
        got = [d async for d in consumer]
    assert got == []
    assert consumer.skipped == {"m1": "gave up"}


class _ForgetfulJournal(FileJournal):
    """A journal whose ``stored`` record sees the directory vanish (someone removed it)."""

    async def record(self, records: Sequence[JournalRecord]) -> None:
        await super().record(records)
        for r in records:
            if r.state == STORED and r.directory is not None:
                shutil.rmtree(self.dest / r.directory)

    dest: Path


async def test_a_directory_that_vanishes_once_stored_is_skipped_with_that_reason(
    tmp_path: Path,
) -> None:
    # kills: _journal_stored: the IntegrityError's message None
    journal = _ForgetfulJournal(tmp_path / ".as2gw" / "journal.jsonl")
    journal.dest = tmp_path
    box = FakeMailbox({"m1": {"a.txt": b"a"}})
    async with gw.InboxConsumer(box, tmp_path, journal=journal) as consumer:
        got = [d async for d in consumer]
    assert got == []
    assert consumer.skipped == {"m1": f"{tmp_path / M1} vanished after it was stored"}


# -- __aenter__, __aexit__, _open_dir, _update_counters -------------------------------------


class _ClosingJournal(FileJournal):
    """A journal whose ``close`` has to await something (a database's would)."""

    closed = False

    async def close(self) -> None:
        await anyio.lowlevel.checkpoint()
        self.closed = True


async def test_a_consumer_cancelled_from_outside_still_marks_what_was_done_and_closes(
    tmp_path: Path,
) -> None:
    # kills: __aexit__: `CancelScope(shield=True)` -> `None` / `False` around the last
    # acknowledgements and around the journal's close
    box = FakeMailbox({"m1": {"a.txt": b"a"}, "m2": {"b.txt": b"b"}})
    journal = _ClosingJournal(tmp_path / ".as2gw" / "journal.jsonl")
    with anyio.CancelScope() as scope:
        async with gw.InboxConsumer(box, tmp_path, journal=journal) as consumer:
            async for d in consumer:
                if d.message_id == "m2":  # m1 is done with, not yet acknowledged
                    scope.cancel()
                    await anyio.lowlevel.checkpoint()
    assert scope.cancelled_caught
    assert box.acknowledged == ["m1"]
    assert _journal(tmp_path)[-2:] == [("m1", "acked"), ("m1", "marked")]
    assert journal.closed


async def test_a_file_journal_without_a_path_goes_in_dest_dir(tmp_path: Path) -> None:
    # kills: __aenter__: the journal's scope without `dest_dir`
    box = FakeMailbox({"m1": {"a.txt": b"a"}})
    async with gw.InboxConsumer(box, tmp_path, journal=FileJournal()) as consumer:
        assert [d.message_id async for d in consumer] == ["m1"]
    assert ("m1", "marked") in _journal(tmp_path)


async def test_a_dest_dir_of_one_account_refuses_another(tmp_path: Path) -> None:
    # kills: __aenter__: the journal's scope without `account`
    assert await _drain(FakeMailbox({"m1": {"a": b"a"}}, account="alice"), tmp_path) == ["m1"]
    with pytest.raises(gw.JournalMismatchError, match="'alice'"):
        async with gw.InboxConsumer(FakeMailbox({}, account="bob"), tmp_path):
            pass  # pragma: no cover


async def test_a_stray_file_among_the_staging_leftovers_does_not_stop_the_consumer(
    tmp_path: Path,
) -> None:
    # kills: _open_dir: `rmtree(leftover, ignore_errors=True)` -> `None` / `False` / dropped
    staging = tmp_path / ".as2gw" / "staging"
    staging.mkdir(parents=True)
    (staging / "stray.txt").write_bytes(b"not ours")
    box = FakeMailbox({"m1": {"a.txt": b"a"}})
    assert await _drain(box, tmp_path) == ["m1"]


class _UsedMailbox(FakeMailbox):
    """Its client has already made requests (and retried some) before the consumer."""

    def usage(self) -> MailboxUsage:
        return MailboxUsage(requests=10 + len(self.fetched), retries=5 + 2 * len(self.fetched))


async def test_the_counters_count_only_this_consumers_requests(tmp_path: Path) -> None:
    # kills: _update_counters: `usage - base` -> `usage + base` (requests and retries)
    box = _UsedMailbox({"m1": {"a.txt": b"a"}})
    async with gw.InboxConsumer(box, tmp_path) as consumer:
        assert [d.message_id async for d in consumer] == ["m1"]
    assert (consumer.stats.requests, consumer.stats.retried) == (1, 2)


async def test_the_lock_file_is_created_read_write_not_executable(tmp_path: Path) -> None:
    # kills: _lock_dir: `os.open(..., 0o644)` without the mode (0o777 & ~umask)
    old = os.umask(0o022)
    try:
        async with gw.InboxConsumer(FakeMailbox({}), tmp_path):
            pass
    finally:
        os.umask(old)
    assert (tmp_path / ".as2gw" / "lock").stat().st_mode & 0o777 == 0o644


async def test_recovered_messages_are_acknowledged_100_at_a_time_before_the_listing(
    tmp_path: Path,
) -> None:
    # kills: __init__: `self._listing = True` initially (the acknowledgements of messages
    # handed over again from disk waited for the end of the first pass)
    box = FakeMailbox({f"m{i:03}": {"a.txt": b"a"} for i in range(101)})
    await _fail_once(box, tmp_path)
    acknowledged_when: list[int] = []
    async with gw.InboxConsumer(box, tmp_path) as consumer:
        async for d in consumer:
            assert d.redelivered
            acknowledged_when.append(len(box.acknowledged))
    assert acknowledged_when == [0] * 100 + [100]
    assert len(box.acknowledged) == 101
