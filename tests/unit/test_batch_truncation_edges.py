"""Batch download edges found by ``tools/mutation.py batch``: an archive holding more of a
truncated message than its index says, an index naming one attachment too many, and the
rollback's own markUnread calls (retried like any idempotent call, logged when they fail).
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import httpx
import pytest
import respx

import as2gw_async as gw
from as2gw_async.endpoints.batch import batch_download, mark_read, parse_truncation_index
from as2gw_async.files import safe_message_dirname

from .conftest import FAR_EXPIRY_MS, TOKEN
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


async def test_members_past_the_truncation_index_are_ignored_and_fetched_again(
    session: gw.Session, fake: FakeGateway, dest: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # The first archive holds A, B's first attachment and a stale copy of B's second, but
    # says it stopped after B's first: what lies past the index is not trusted, and the
    # next request starts at B again. kills: `len(members) > i + 1` -> `> i - 1` /
    # `> i + 2`, the slice `members[: i + 1]` -> `[: i + 2]`, the warning's text
    ids = [fake.add("<a@x>", K), fake.add("<b@x>", K, K, K), fake.add("<c@x>", K)]
    a, b = fake.messages[ids[0]], fake.messages[ids[1]]

    def first_answer(request: httpx.Request) -> httpx.Response:
        fake.batch_override = None  # the next requests are answered as usual
        fake.batches.append(json.loads(request.content))
        entries = [
            (f"{ids[0]}/{a[0][0]}", a[0][1]),
            (f"{ids[1]}/{b[0][0]}", b[0][1]),
            (f"{ids[1]}/{b[1][0]}", b"a stale copy, not the gateway's file"),
        ]
        headers = {"X-Batch-Truncation-Index": "(1,0)"}
        return httpx.Response(206, content=zip_bytes(entries), headers=headers)

    fake.batch_override = first_answer
    with caplog.at_level(logging.WARNING, logger="as2gw_async"):
        result = await batch_download(session, ids, dest)
    assert fake.batches == [ids, ids[1:]]
    check_result(result, fake, ids)
    assert tree(dest) == expected_tree(fake, ids)
    assert caplog.messages == [
        "batch: archive holds 2 attachments of <b@x>, the truncation index says 1; "
        "ignoring the rest"
    ]


async def test_an_ordinary_truncation_logs_nothing(
    session: gw.Session, fake: FakeGateway, dest: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # kills: `len(members) > i + 1` -> `>=` (a warning on every truncation)
    fake.limit = int(2.5 * K)
    ids = [fake.add("<a@x>", K), fake.add("<b@x>", K, K, K)]
    with caplog.at_level(logging.WARNING, logger="as2gw_async"):
        result = await batch_download(session, ids, dest)
    assert fake.statuses[0] == (206, "(1,0)")
    check_result(result, fake, ids)
    assert caplog.messages == []


async def test_an_index_naming_one_attachment_more_than_the_archive_holds_is_refused(
    session: gw.Session, fake: FakeGateway, dest: Path
) -> None:
    # (0,1) says two attachments of A were added; the archive holds one.
    # kills: `len(members) < i + 1` -> `< i - 1` (the boundary), and `{i + 1}` in the text
    ids = [fake.add("<a@x>", K), fake.add("<b@x>", K)]
    fake.header = lambda _header: (206, "(0,1)")
    message = r"\(0,1\) says 2 attachment\(s\) of '<a@x>' were added, but the archive holds 1"
    with pytest.raises(gw.IntegrityError, match=message):
        await batch_download(session, ids, dest)
    assert tree(dest) == {}


def _failing_unmarks(router: respx.MockRouter, fake: FakeGateway, failures: int) -> dict[str, int]:
    """markUnread answers 503 ``failures`` times per message before it works (the rest of
    the fake unchanged); returns the markUnread calls made, per message."""
    seen: dict[str, int] = {}
    handle = fake.handle

    def on_request(request: httpx.Request) -> httpx.Response:
        path = request.url.raw_path.decode()
        if path.split("?", 1)[0].endswith("/markUnread"):
            seen[path] = seen.get(path, 0) + 1
            if seen[path] <= failures:
                return httpx.Response(503, json={"message": "Service Unavailable"})
        return handle(request)

    router.routes.clear()
    router.post("/authorize").respond(200, json={"token": TOKEN, "expiry": FAR_EXPIRY_MS})
    router.route().mock(side_effect=on_request)
    return seen


def _a_local_failure(fake: FakeGateway, dest: Path) -> list[str]:
    """A, B and C in one archive; B's file is taken on disk, so B and C must be unmarked."""
    ids = [fake.add("<a@x>", K), fake.add("<b@x>", K), fake.add("<c@x>", K)]
    taken = dest / safe_message_dirname(ids[1]) / "file0.bin"
    taken.parent.mkdir(parents=True)
    taken.write_bytes(b"someone else's")
    return ids


async def test_the_rollback_retries_its_mark_unread_calls(
    router: respx.MockRouter, session: gw.Session, fake: FakeGateway, dest: Path
) -> None:
    # kills: `idempotent=True` -> `False` / `None` / left out on the markUnread call (a 503
    # during the rollback would leave the message read without its files)
    ids = _a_local_failure(fake, dest)
    seen = _failing_unmarks(router, fake, failures=1)
    with pytest.raises(FileExistsError):
        await batch_download(session, ids, dest, mark_as_read=True)
    assert sorted(seen.values()) == [2, 2]
    assert fake.read == {ids[0]}


async def test_a_mark_unread_that_keeps_failing_is_logged(
    router: respx.MockRouter,
    session: gw.Session,
    fake: FakeGateway,
    dest: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    # kills: every mutant of the rollback's warning (which message, and why)
    ids = _a_local_failure(fake, dest)
    _failing_unmarks(router, fake, failures=100)
    with caplog.at_level(logging.WARNING, logger="as2gw_async"), pytest.raises(FileExistsError):
        await batch_download(session, ids, dest, mark_as_read=True)
    warnings = sorted(m for m in caplog.messages if "unread again" in m)
    assert len(warnings) == 2
    for mid, warning in zip(ids[1:], warnings, strict=True):
        prefix = f"batch: could not mark {mid} unread again after a failed download: "
        assert warning.startswith(prefix)
        assert warning.endswith("Service Unavailable")  # and why


@pytest.mark.parametrize(("header", "shown"), [(None, "missing"), ("(a,b)", "'(a,b)'"), ("", "''")])
def test_a_malformed_truncation_index_is_quoted_with_the_expected_form(
    header: str | None, shown: str
) -> None:
    # kills: the mutants of the error's text (what was received, what was expected)
    with pytest.raises(gw.IntegrityError) as info:
        parse_truncation_index(header)
    assert str(info.value) == (
        f"206 Partial Content with a malformed X-Batch-Truncation-Index header ({shown}); "
        "expected '(message,attachment)', e.g. '(1,2)'"
    )


async def test_an_empty_error_entry_still_says_the_gateway_reported_an_error(
    session: gw.Session, fake: FakeGateway, dest: Path
) -> None:
    # kills: the mutants of the default error text for an empty `<id>/.error`
    ids = [fake.add("<a@x>", K), "<bad@x>"]
    entries = [(f"{ids[0]}/file0.bin", fake.messages[ids[0]][0][1]), ("<bad@x>/.error", b"")]
    fake.batch_override = lambda _request: httpx.Response(200, content=zip_bytes(entries))
    result = await batch_download(session, ids, dest)
    assert result.errors == {"<bad@x>": "the gateway reported an error"}
    check_result(result, fake, ids[:1])


async def test_mark_read_resumes_after_each_truncation_at_the_message_it_names(
    session: gw.Session, fake: FakeGateway, tmp_path: Path
) -> None:
    # kills: the truncation ignored (`truncation = None`, `or True`), read from the wrong
    # field (`truncation[1]`), and the oversized message's GET aimed at `pending[1]`
    fake.limit = 100
    small = [fake.add(f"<s{n}@x>", 40) for n in range(3)]
    huge = fake.add("<huge@x>", 80, 80)
    tail = fake.add("<tail@x>", 10)
    ids = [*small, huge, tail]
    marked = await mark_read(session, ids, scratch_dir=tmp_path)
    assert sorted(marked) == sorted(ids)
    assert fake.read == set(ids)
    # each truncation (m, i) resumes at message m; a message that opens a request and
    # still overflows it is marked with a GET of its own
    assert fake.batches == [ids, ids[1:], ids[2:], ids[3:], ids[4:]]
    assert [c for c in fake.calls if c != "batch"] == ["get <s2@x> mark", "get <huge@x> mark"]


async def test_mark_read_leaves_out_an_id_the_archive_omits_and_the_gateway_does_not_know(
    session: gw.Session, fake: FakeGateway, tmp_path: Path
) -> None:
    # kills: `_mark_one` answering True on a 404
    known = fake.add("<known@x>", 10)
    entries = [(f"{known}/file0.bin", fake.messages[known][0][1])]  # no .error for the ghost
    fake.batch_override = lambda _request: httpx.Response(200, content=zip_bytes(entries))
    assert await mark_read(session, ["<ghost@x>", known], scratch_dir=tmp_path) == [known]
