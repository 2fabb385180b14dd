"""Batch download with ``mark_as_read``: what is left read when it fails or is cancelled.

The gateway marks a message read as it archives it; a batch that fails or is cancelled
before the files are on disk must mark those messages unread again (issue 19 gaps). Also:
``mark_read`` of a message without attachments, and a truncation that ends exactly at the
last attachment of a later message. Each test names the mutant of ``endpoints/batch.py``
it kills.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path

import anyio
import httpx
import pytest
import respx

import as2gw_async as gw
from as2gw_async.endpoints.batch import mark_read

from .test_batch import FakeGateway, check_result, expected_tree, tree

K = 1000


@pytest.fixture
def dest(tmp_path: Path) -> Path:
    return tmp_path / "out"


@pytest.fixture
def fake(router: respx.MockRouter, authorize: respx.Route, dest: Path) -> FakeGateway:
    gateway = FakeGateway(dest)
    router.route().mock(side_effect=gateway.handle)
    return gateway


async def test_cancelling_a_marking_batch_mid_download_marks_the_messages_unread_again(
    session: gw.Session, fake: FakeGateway, dest: Path
) -> None:
    # kills: the rollback skipped on cancellation (`except BaseException` -> `except
    # Exception`), and the rollback not shielded from the cancellation in progress
    ids = [fake.add("<a@x>", 40 * K), fake.add("<b@x>", 40 * K)]
    body_started = anyio.Event()
    never = anyio.Event()

    def batch(request: httpx.Request) -> httpx.Response:
        answer = fake.batch(json.loads(request.content), mark=True)  # marks both read
        content = answer.content

        async def stream() -> AsyncIterator[bytes]:
            yield content[: len(content) // 2]
            body_started.set()
            await never.wait()  # the rest never comes: the caller gives up
            yield content[len(content) // 2 :]

        return httpx.Response(200, content=stream())

    fake.batch_override = batch
    async with anyio.create_task_group() as tg:

        async def download() -> None:
            await session.received.batch_download(ids, dest, mark_as_read=True)
            pytest.fail("the download cannot finish")

        tg.start_soon(download)
        with anyio.fail_after(30):
            await body_started.wait()
        tg.cancel_scope.cancel()
    assert fake.read == set()
    assert sorted(c for c in fake.calls if c.startswith("unmark")) == [
        "unmark <a@x>",
        "unmark <b@x>",
    ]
    assert tree(dest) == {}


async def test_a_final_500_also_marks_the_processed_messages_unread(
    session: gw.Session, fake: FakeGateway, dest: Path
) -> None:
    # kills: `exc.status_code < 500` -> `<= 500` (a 500 taken for a refusal that marked
    # nothing); only 503 was tested before
    ids = [fake.add("<a@x>", K), fake.add("<b@x>", K)]

    def batch(request: httpx.Request) -> httpx.Response:
        fake.batch(json.loads(request.content), mark=True)  # processed and marked...
        return httpx.Response(500, json={"message": "Internal Server Error"})  # ...then failed

    fake.batch_override = batch
    with pytest.raises(gw.InternalServerError):
        await session.received.batch_download(ids, dest, mark_as_read=True)
    assert fake.read == set()
    assert sorted(fake.calls) == ["unmark <a@x>", "unmark <b@x>"]


async def test_a_4xx_refusal_marks_nothing_and_unmarks_nothing(
    session: gw.Session, fake: FakeGateway, dest: Path
) -> None:
    # the other side of the rule above: kills `< 500` -> `< 400`
    ids = [fake.add("<a@x>", K)]
    fake.batch_override = lambda _r: httpx.Response(409, json={"message": "Conflict"})
    with pytest.raises(gw.APIStatusError):
        await session.received.batch_download(ids, dest, mark_as_read=True)
    assert fake.calls == []


async def test_mark_read_counts_a_message_without_attachments_as_marked(
    session: gw.Session, fake: FakeGateway, tmp_path: Path
) -> None:
    # kills: `folder is None or folder.error is None` -> `folder is not None and ...` (a
    # message without attachments has no folder in the archive)
    empty = fake.add("<empty@x>")
    full = fake.add("<full@x>", 10)
    assert await mark_read(session, [empty, full], scratch_dir=tmp_path) == [empty, full]
    assert fake.read == {empty, full}


async def test_a_truncation_at_the_last_attachment_of_a_later_message_completes_it(
    session: gw.Session, fake: FakeGateway, dest: Path
) -> None:
    # (1,1) is B's last attachment: B is complete on disk and is not fetched again; the
    # next request starts at C. kills: `len(names) >= count` -> `>`, and the
    # `m > 0 and not names` shortcut widened to every m > 0 (both re-request B)
    fake.limit = int(3.5 * K)
    a, b, c = fake.add("<a@x>", K), fake.add("<b@x>", K, K), fake.add("<c@x>", 3 * K)
    result = await session.received.batch_download([a, b, c], dest, mark_as_read=True)
    assert fake.statuses == [(206, "(1,1)"), (200, None)]
    assert fake.batches == [[a, b, c], [c]]
    assert fake.calls == ["batch", f"get {b}", f"get {b} mark", "batch"]
    check_result(result, fake, [a, b, c])
    assert tree(dest) == expected_tree(fake, [a, b, c])
    assert fake.read == {a, b, c}
    assert fake.premature_marks == []
