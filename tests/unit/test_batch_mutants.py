"""Batch download behaviour pinned by ``tools/mutation.py batch``'s survivors: each test's
comment names the mutants it kills (see docs/mutation.md for the ones left as equivalent).
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import unquote

import anyio
import httpx
import pytest
import respx

import as2gw_async as gw
from as2gw_async.endpoints import batch as batch_module
from as2gw_async.endpoints.batch import batch_download, mark_read
from as2gw_async.files import safe_message_dirname

from .test_batch import FakeGateway, check_result, expected_tree, tree, zip_bytes

K = 1000


@pytest.fixture
def dest(tmp_path: Path) -> Path:
    return tmp_path / "out"


@pytest.fixture
def fake(router: respx.MockRouter, authorize: respx.Route, dest: Path) -> FakeGateway:
    gateway = FakeGateway(dest)
    router.route().mock(side_effect=gateway.handle)
    return gateway


async def test_a_batch_download_marks_nothing_read_unless_asked(
    session: gw.Session, fake: FakeGateway, dest: Path
) -> None:
    # kills: `mark_as_read: bool = False` -> `= True` (a plain download would mark every
    # message read on the gateway)
    fake.limit = int(1.5 * K)  # a truncation too: the client-side marks stay off as well
    ids = [fake.add("<a@x>", K), fake.add("<b@x>", K, K)]
    result = await batch_download(session, ids, dest)
    check_result(result, fake, ids)
    assert tree(dest) == expected_tree(fake, ids)
    assert fake.read == set()
    assert not [call for call in fake.calls if call.endswith(" mark")]


@pytest.mark.parametrize("ids", ["<a@x>", b"<a@x>"])
async def test_a_single_id_instead_of_a_list_is_refused_with_its_reason(
    session: gw.Session, ids: str, dest: Path
) -> None:
    # kills: the TypeError's text replaced, emptied or upper-cased, in both functions
    message = r"\Aids must be an iterable of message ids, not a single string\Z"
    with pytest.raises(TypeError, match=message):
        await batch_download(session, ids, dest)
    with pytest.raises(TypeError, match=message):
        await mark_read(session, ids)
    assert not dest.exists()


@pytest.mark.parametrize("bad", ["", None, 7])
async def test_an_id_that_is_not_a_non_empty_string_is_named_in_the_error(
    session: gw.Session, bad: object, dest: Path
) -> None:
    # kills: `ValueError(f"a message id is ...")` -> `ValueError(None)`
    with pytest.raises(ValueError, match=rf"\Aa message id is a non-empty string, not {bad!r}\Z"):
        await batch_download(session, ["<a@x>", bad], dest)  # type: ignore[list-item]
    assert not dest.exists()


def _chunked(data: bytes, size: int, fail_after: int | None = None) -> AsyncIterator[bytes]:
    """``data`` in chunks of ``size``; the connection breaks after ``fail_after`` chunks."""

    async def chunks() -> AsyncIterator[bytes]:
        for n, start in enumerate(range(0, len(data), size)):
            if n == fail_after:
                raise httpx.ReadError("connection reset mid-body")
            yield data[start : start + size]

    return chunks()


async def test_progress_adds_each_chunk_once_and_a_refetch_from_zero(
    session: gw.Session, fake: FakeGateway, dest: Path
) -> None:
    # The archive arrives in chunks; the first attempt breaks after two of them and the
    # session fetches it again from byte 0. The total counts every byte received, rising.
    # kills in `_progress_for_body`: `done - last` -> `done + last`, the condition
    # `done >= last` -> `... and False` (each report added whole) or `... or True` (a
    # refetch subtracted), and `last = done` -> `last = None`
    ids = [fake.add("<a@x>", 3 * K, 2 * K)]
    archive = zip_bytes([(f"{ids[0]}/{name}", data) for name, data in fake.messages[ids[0]]])
    size = len(archive) // 5 + 1  # five chunks
    attempts: list[int] = []

    def answer(_request: httpx.Request) -> httpx.Response:
        attempts.append(1)
        broken = 2 if len(attempts) == 1 else None
        return httpx.Response(200, content=_chunked(archive, size, fail_after=broken))

    fake.batch_override = answer
    seen: list[int] = []
    result = await batch_download(session, ids, dest, progress=lambda d, _t: seen.append(d))
    check_result(result, fake, ids)
    assert len(attempts) == 2
    assert seen == sorted(seen)
    assert seen[-1] == 2 * size + len(archive)
    assert len(seen) > 3  # reported chunk by chunk


def _omitting(fake: FakeGateway, *left_out: str) -> None:
    """The batch endpoint leaves ``left_out`` out of its archive: no folder, no .error."""

    def answer(request: httpx.Request) -> httpx.Response:
        ids = json.loads(request.content)
        fake.batches.append(ids)
        entries = [
            (f"{mid}/{name}", data)
            for mid in ids
            if mid not in left_out
            for name, data in fake.messages.get(mid, [])
        ]
        return httpx.Response(200, content=zip_bytes(entries))

    fake.batch_override = answer


async def test_a_left_out_message_the_gateway_does_not_know_is_an_error_saying_so(
    session: gw.Session, fake: FakeGateway, dest: Path
) -> None:
    # kills in `_check_omitted`: `count = -1` -> `+1`, `if count < 0 ... and False`, and the
    # text emptied or upper-cased (it would say the gateway has 1 attachment of it)
    ids = [fake.add("<a@x>", K), "<ghost@x>"]
    _omitting(fake, "<ghost@x>")
    result = await batch_download(session, ids, dest, mark_as_read=True)
    assert result.errors == {
        "<ghost@x>": "the gateway does not know this message (it left it out of the archive)"
    }
    assert list(result.files) == ["<a@x>"]
    assert not [call for call in fake.calls if call.startswith("unmark")]


async def test_a_left_out_message_with_one_attachment_is_marked_unread_again(
    session: gw.Session, fake: FakeGateway, dest: Path
) -> None:
    # kills in `_check_omitted`: `self.mark_as_read and count > 0` -> `count > 1`
    ids = [fake.add("<a@x>", K), fake.add("<one@x>", K)]
    _omitting(fake, "<one@x>")
    result = await batch_download(session, ids, dest, mark_as_read=True)
    assert result.errors == {
        "<one@x>": "the gateway left this message out of the archive although it has "
        "1 attachment(s)"
    }
    assert "unmark <one@x>" in fake.calls
    assert tree(dest) == expected_tree(fake, ["<a@x>"])


def _second_batch_refused(fake: FakeGateway) -> None:
    """The first batch request is answered as usual, the next ones with 403."""

    def answer(request: httpx.Request) -> httpx.Response:
        if fake.batches:
            fake.batches.append(json.loads(request.content))
            return httpx.Response(403, json={"message": "Forbidden"})
        return fake.batch(json.loads(request.content), mark=False)

    fake.batch_override = answer


async def test_a_message_completed_by_a_truncated_answer_stays_when_a_later_request_fails(
    session: gw.Session, fake: FakeGateway, dest: Path
) -> None:
    # The first answer stops after B's last attachment (206 at (1,1)): B is complete once its
    # attachment count says so. The request for C then fails: A and B stay on disk.
    # kills in `_step`: `self.incomplete.pop(message_id, None)` -> `pop(None, None)` (the
    # rollback would delete B's files)
    fake.limit = int(3.5 * K)
    ids = [fake.add("<a@x>", K), fake.add("<b@x>", K, K), fake.add("<c@x>", K)]
    _second_batch_refused(fake)
    with pytest.raises(gw.APIStatusError):
        await batch_download(session, ids, dest)
    assert fake.statuses == [(206, "(1,1)")]
    assert fake.batches == [ids, ["<c@x>"]]
    assert tree(dest) == expected_tree(fake, ids[:2])


async def test_a_message_fetched_singly_stays_when_a_later_request_fails(
    session: gw.Session, fake: FakeGateway, dest: Path
) -> None:
    # A opens the request and does not fit (206 at (0,0)): its second attachment is fetched
    # alone. The request for B then fails: A stays on disk.
    # kills in `_fallback`: `self.incomplete.pop(message_id, None)` -> `pop(None, None)`
    fake.limit = int(1.5 * K)
    ids = [fake.add("<a@x>", K, K), fake.add("<b@x>", K)]
    _second_batch_refused(fake)
    with pytest.raises(gw.APIStatusError):
        await batch_download(session, ids, dest)
    assert fake.statuses == [(206, "(0,0)")]
    assert "attachment <a@x> 1" in fake.calls
    assert tree(dest) == expected_tree(fake, ids[:1])


async def test_a_failure_removes_our_files_from_a_directory_the_user_made(
    session: gw.Session, fake: FakeGateway, dest: Path
) -> None:
    # The user made A's directory (and left a file there); A's first attachment is written,
    # its second cannot be fetched. Without overwrite, what we wrote goes; theirs stays.
    # kills in `_discard`: `not self.overwrite or written.directories` -> `and`, and
    # -> `self.overwrite or ...` (our file would be left behind)
    fake.limit = int(1.5 * K)
    ids = [fake.add("<a@x>", K, K)]
    fake.forbidden.add(("<a@x>", 1))
    mine = dest / safe_message_dirname("<a@x>") / "mine.txt"
    mine.parent.mkdir(parents=True)
    mine.write_bytes(b"the user's")
    with pytest.raises(gw.APIStatusError):
        await batch_download(session, ids, dest)
    assert fake.statuses == [(206, "(0,0)")]
    assert tree(dest) == {f"{safe_message_dirname('<a@x>')}/mine.txt": b"the user's"}


@pytest.fixture
def refused_gets(fake: FakeGateway, router: respx.MockRouter) -> set[str]:
    """Message ids whose GET (the attachment count) the gateway refuses with 403."""
    refused: set[str] = set()
    handle = fake.handle

    def answer(request: httpx.Request) -> httpx.Response:
        path = request.url.raw_path.decode().split("?", 1)[0]
        mid = unquote(path.rsplit("/", 1)[-1])
        if request.method == "GET" and mid in refused:
            fake.calls.append(f"refused get {mid}")
            return httpx.Response(403, json={"message": "Forbidden"})
        return handle(request)

    (route,) = [r for r in router.routes if r.side_effect == handle]
    route.side_effect = answer
    return refused


async def test_after_a_truncation_only_the_truncated_message_is_marked_unread_again(
    session: gw.Session, fake: FakeGateway, dest: Path, refused_gets: set[str]
) -> None:
    # 206 at (1,0): A is complete, B's first attachment written, C never sent. B's count
    # cannot be read: B alone is marked unread again (C was not marked by the gateway).
    # kills in `_step`: `ids[: complete + 1]` -> `[: complete - 1]` / `[: complete + 2]`,
    # `if i in at_risk` -> `not in`
    fake.limit = int(2.5 * K)
    ids = [fake.add("<a@x>", K), fake.add("<b@x>", K, K), fake.add("<c@x>", K)]
    refused_gets.add("<b@x>")
    with pytest.raises(gw.APIStatusError):
        await batch_download(session, ids, dest, mark_as_read=True)
    assert fake.statuses == [(206, "(1,0)")]
    assert [c for c in fake.calls if c.startswith("unmark")] == ["unmark <b@x>"]
    assert fake.read == {"<a@x>"}
    assert tree(dest) == expected_tree(fake, ids[:1])


async def test_without_mark_as_read_a_failure_marks_nothing_unread(
    session: gw.Session, fake: FakeGateway, dest: Path, refused_gets: set[str]
) -> None:
    # kills in `_step`: `dict.fromkeys(ids) if self.mark_as_read else {}` -> `... or True`
    fake.limit = int(2.5 * K)
    ids = [fake.add("<a@x>", K), fake.add("<b@x>", K, K)]
    refused_gets.add("<b@x>")
    with pytest.raises(gw.APIStatusError):
        await batch_download(session, ids, dest)
    assert not [c for c in fake.calls if c.startswith("unmark")]


async def test_a_refusal_after_an_answered_attempt_still_rolls_back(
    session: gw.Session, fake: FakeGateway, dest: Path
) -> None:
    # The first attempt is answered 200 (the gateway marked the messages read) and its
    # body breaks; the retry is refused (403). The gateway did process the request: both
    # messages are marked unread again. kills in `_step`: `answered = True` -> `False` /
    # `None`, and `self._fetch(ids, on_response)` -> `self._fetch(ids, None)`
    ids = [fake.add("<a@x>", 3 * K), fake.add("<b@x>", 3 * K)]
    archive = zip_bytes([(f"{i}/{n}", d) for i in ids for n, d in fake.messages[i]])
    attempts: list[int] = []

    def answer(_request: httpx.Request) -> httpx.Response:
        attempts.append(1)
        if len(attempts) == 1:
            fake.read.update(ids)
            return httpx.Response(200, content=_chunked(archive, 100, fail_after=1))
        return httpx.Response(403, json={"message": "Forbidden"})

    fake.batch_override = answer
    with pytest.raises(gw.APIStatusError):
        await batch_download(session, ids, dest, mark_as_read=True)
    assert len(attempts) == 2
    assert sorted(c for c in fake.calls if c.startswith("unmark")) == [
        "unmark <a@x>",
        "unmark <b@x>",
    ]
    assert fake.read == set()
    assert tree(dest) == {}


async def test_a_resumed_message_skips_only_its_own_repeated_attachments(
    session: gw.Session, fake: FakeGateway, dest: Path
) -> None:
    # The first answer stops after A's first attachment (206 at (1,0)); the next request
    # opens with A, whose file0.bin is skipped as already written. B, complete in that same
    # answer, also has a file0.bin: it must be written. kills in `_step`:
    # `resumed = partial if position == 0 else None` -> `... or True`
    fake.limit = 2600
    ids = [fake.add("<x@x>", 2 * K), fake.add("<a@x>", 500, 500, 500), fake.add("<b@x>", 500)]
    result = await batch_download(session, ids, dest)
    assert fake.statuses == [(206, "(1,0)"), (200, None)]
    assert fake.batches == [ids, ids[1:]]
    check_result(result, fake, ids)
    assert tree(dest) == expected_tree(fake, ids)


async def test_a_truncation_before_any_attachment_of_the_next_message_costs_no_lookup(
    session: gw.Session, fake: FakeGateway, dest: Path
) -> None:
    # 206 at (1,-1): A is complete and nothing of B was added; the next request simply
    # opens with B, without asking for B's attachment count.
    # kills in `_step`: `if m > 0 and not names` -> `m > 1`
    fake.limit = int(1.5 * K)
    ids = [fake.add("<a@x>", K), fake.add("<b@x>", K)]
    headers = iter([(206, "(1,-1)")])
    fake.header = lambda header: next(headers, (200, None) if header is None else (206, header))
    result = await batch_download(session, ids, dest)
    assert fake.batches == [ids, ids[1:]]
    assert fake.calls == ["batch", "batch"]
    assert result.requests == 2
    check_result(result, fake, ids)
    assert tree(dest) == expected_tree(fake, ids)


async def test_the_log_says_which_message_a_truncated_answer_completed(
    session: gw.Session, fake: FakeGateway, dest: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # kills in `_step`: the debug line's text or arguments replaced, emptied or dropped
    fake.limit = int(3.5 * K)
    ids = [fake.add("<a@x>", K), fake.add("<b@x>", K, K), fake.add("<c@x>", K)]
    with caplog.at_level(logging.DEBUG, logger="as2gw_async"):
        await batch_download(session, ids, dest)
    assert fake.statuses[0] == (206, "(1,1)")
    batch_lines = [r.getMessage() for r in caplog.records if r.getMessage().startswith("batch")]
    assert batch_lines == ["batch: <b@x> completed by a truncated response"]


async def test_the_log_says_which_attachments_are_fetched_singly(
    session: gw.Session, fake: FakeGateway, dest: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # kills in `_step`: the info line's text or arguments replaced, emptied or dropped, and
    # `count - 1` -> `count + 1` / `count - 2` in it
    fake.limit = int(1.5 * K)
    ids = [fake.add("<a@x>", K, K, K)]
    with caplog.at_level(logging.INFO, logger="as2gw_async"):
        await batch_download(session, ids, dest)
    assert fake.statuses[0] == (206, "(0,0)")
    assert caplog.messages == [
        "batch: <a@x> does not fit in one response; fetching attachments 1..2 singly"
    ]


async def test_concurrency_one_is_allowed_and_true_is_not(
    session: gw.Session, fake: FakeGateway, dest: Path
) -> None:
    # kills: `concurrency < 1` -> `<= 1` / `< 2`, `isinstance(concurrency, bool) or ...` ->
    # `and`, and the ValueError's text dropped
    ids = [fake.add("<a@x>", K)]
    result = await batch_download(session, ids, dest, concurrency=1)
    check_result(result, fake, ids)
    for bad in (True, 0):
        with pytest.raises(
            ValueError, match=rf"\Aconcurrency must be a positive integer, not {bad}\Z"
        ):
            await batch_download(session, ids, dest, concurrency=bad)


async def test_mark_read_matches_an_id_with_a_slash_to_its_folder(
    session: gw.Session, fake: FakeGateway, tmp_path: Path
) -> None:
    # The folder of "<a/b@x>" reads as "<a" plus a subdirectory unless the requested ids are
    # given to the layout: matched whole, it needs no GET of its own.
    # kills in `mark_read`: `read_batch_layout(..., message_ids=pending)` -> `None` / dropped
    ids = [fake.add("<a/b@x>", 10), fake.add("<c@x>", 10)]
    assert await mark_read(session, ids, scratch_dir=tmp_path) == ids
    assert fake.calls == ["batch"]
    assert fake.read == set(ids)


@pytest.mark.parametrize("second", ["error", "omitted"])
async def test_a_message_failing_after_a_truncation_loses_its_first_files(
    session: gw.Session, fake: FakeGateway, dest: Path, second: str
) -> None:
    # 206 at (1,0) brings B's first attachment; the next answer has a .error for B, or
    # leaves B out (and B still has two attachments): B is an error, its file is removed
    # and it is not in `files`. kills in `_take_complete`: `self.files.pop(message_id,
    # None)` -> `pop(None, None)`, `self._discard(message_id)` -> `_discard(None)`; in
    # `_check_omitted`: `self.files.pop(message_id, None)` -> `pop(None, None)`
    fake.limit = int(2.5 * K)
    ids = [fake.add("<a@x>", K), fake.add("<b@x>", K, K)]
    first = fake.batch

    def answer(request: httpx.Request) -> httpx.Response:
        requested = json.loads(request.content)
        if not fake.batches:
            return first(requested, mark=False)
        fake.batches.append(requested)
        entries = [("<b@x>/.error", b"gone")] if second == "error" else []
        return httpx.Response(200, content=zip_bytes(entries))

    fake.batch_override = answer
    result = await batch_download(session, ids, dest)
    assert fake.statuses == [(206, "(1,0)")]
    assert fake.batches == [ids, ["<b@x>"]]
    assert list(result.files) == ["<a@x>"]
    assert list(result.errors) == ["<b@x>"]
    assert tree(dest) == expected_tree(fake, ["<a@x>"])


async def test_a_message_without_attachments_is_not_marked_unread_by_a_later_failure(
    session: gw.Session, fake: FakeGateway, dest: Path, refused_gets: set[str]
) -> None:
    # E has no attachment (no folder in the archive: looked up, a success); the answer stops
    # in B (206 at (1,0)) and B's count cannot be read. Only B is marked unread again.
    # kills in `_check_omitted`: `at_risk.pop(message_id, None)` -> `pop(None, None)`
    fake.limit = int(1.5 * K)
    ids = [fake.add("<e@x>"), fake.add("<b@x>", K, K)]
    refused_gets.add("<b@x>")
    with pytest.raises(gw.APIStatusError):
        await batch_download(session, ids, dest, mark_as_read=True)
    assert fake.statuses == [(206, "(1,0)")]
    assert [c for c in fake.calls if c.startswith("unmark")] == ["unmark <b@x>"]
    assert "<e@x>" in fake.read


async def test_attachments_fetched_singly_overwrite_when_asked(
    session: gw.Session, fake: FakeGateway, dest: Path
) -> None:
    # kills in `_fallback`: `overwrite=self.overwrite` -> `None` / dropped (the existing
    # file would stop the download)
    fake.limit = int(1.5 * K)
    ids = [fake.add("<a@x>", K, K)]
    old = dest / safe_message_dirname("<a@x>") / "file1.bin"
    old.parent.mkdir(parents=True)
    old.write_bytes(b"yesterday's copy")
    result = await batch_download(session, ids, dest, overwrite=True)
    assert fake.statuses == [(206, "(0,0)")]
    assert "attachment <a@x> 1" in fake.calls
    check_result(result, fake, ids)
    assert tree(dest) == expected_tree(fake, ids)


async def test_the_rollback_keeps_a_subdirectory_that_still_holds_files(
    session: gw.Session, fake: FakeGateway, dest: Path
) -> None:
    # A's members sit in a subdirectory; A fails after two of them are written. Removing
    # the first file leaves the subdirectory non-empty (its rmdir fails and is ignored),
    # then everything goes. kills in `_discard`: the rmdir's `suppress(OSError)` ->
    # `suppress(None)` (the rollback itself would raise TypeError)
    fake.limit = int(2.5 * K)
    fake.member_name = lambda mid, name: f"{mid}/sub/{name}"
    ids = [fake.add("<a@x>", K, K, K)]
    fake.forbidden.add(("<a@x>", 2))
    with pytest.raises(gw.APIStatusError):
        await batch_download(session, ids, dest)
    assert fake.statuses == [(206, "(0,1)")]
    assert tree(dest) == {}


async def test_the_rollback_gives_up_on_a_mark_unread_that_never_answers(
    session: gw.Session,
    fake: FakeGateway,
    dest: Path,
    router: respx.MockRouter,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The gateway answers 200 (marking A read) and the body breaks on every attempt; the
    # markUnread call then takes 20 s. The rollback gives up on it at its deadline (here
    # 0.05 s, far below the 20 s) and the download's own error reaches the caller.
    # kills in `_unmark`: `move_on_after(_UNMARK_DEADLINE)` -> `move_on_after(None)` (the
    # call would run to its end instead of being cancelled)
    monkeypatch.setattr(batch_module, "_UNMARK_DEADLINE", 0.05)
    ids = [fake.add("<a@x>", 3 * K)]
    archive = zip_bytes([(f"{ids[0]}/{n}", d) for n, d in fake.messages[ids[0]]])
    fake.batch_override = lambda _request: httpx.Response(
        200, content=_chunked(archive, 100, fail_after=1)
    )
    hung: list[str] = []
    cancelled: list[str] = []

    handle = fake.handle

    async def hang(request: httpx.Request) -> httpx.Response:
        if not request.url.path.endswith("/markUnread"):
            return handle(request)
        hung.append(request.url.path)
        try:
            await anyio.sleep(20)
        except anyio.get_cancelled_exc_class():
            cancelled.append(request.url.path)
            raise
        return httpx.Response(503, json={"message": "too late"})

    (route,) = [r for r in router.routes if r.side_effect == handle]
    route.side_effect = hang
    with pytest.raises(gw.AS2GatewayError):
        await batch_download(session, ids, dest, mark_as_read=True)
    assert len(hung) == 1
    assert cancelled == hung
    assert tree(dest) == {}


async def test_the_rollback_tolerates_a_file_already_gone(
    session: gw.Session, fake: FakeGateway, dest: Path, router: respx.MockRouter
) -> None:
    # A's first attachment is written; someone removes it while A's second is being
    # fetched, which fails. The rollback skips the missing file and the download's own
    # error reaches the caller. kills in `_discard`: `suppress(OSError)` around `os.unlink`
    # -> `suppress(None)` (the rollback would raise TypeError instead)
    fake.limit = int(1.5 * K)
    ids = [fake.add("<a@x>", K, K)]
    first = dest / safe_message_dirname("<a@x>") / "file0.bin"
    handle = fake.handle

    def answer(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/attachments/1"):
            first.unlink()
            return httpx.Response(403, json={"message": "Forbidden"})
        return handle(request)

    (route,) = [r for r in router.routes if r.side_effect == handle]
    route.side_effect = answer
    with pytest.raises(gw.APIStatusError):
        await batch_download(session, ids, dest)
    assert fake.statuses == [(206, "(0,0)")]
    assert tree(dest) == {}
