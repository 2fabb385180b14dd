"""Batch download failure paths leave no message directory behind; omitted ids are errors.

Issue 13.1: a failed batch must not leave an empty (or partial) ``<message-id>/`` directory:
the InboxConsumer or a user would take it for a delivered message. Issue 13.2: an id the
archive leaves out (no folder, no ``.error``) is an error, and is marked unread again when
the gateway may have marked it; a message that really has no attachment stays a success.
"""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import anyio
import httpx
import pytest
import respx

import as2gw_async as gw
from as2gw_async.endpoints.batch import batch_download, mark_read
from as2gw_async.files import safe_message_dirname

from .test_batch import FakeGateway, K, tree


class OmittingGateway(FakeGateway):
    """A gateway whose batch archives leave out the messages in ``omit`` (and mark them)."""

    def __init__(self, dest: Path) -> None:
        super().__init__(dest)
        self.omit: set[str] = set()
        self.mark_omitted = True  # whether markAsRead=true marks a message it leaves out

    def batch(self, ids: list[str], mark: bool) -> httpx.Response:
        response = super().batch(ids, mark)
        if not self.omit.intersection(ids):
            return response
        if not self.mark_omitted:
            self.read -= self.omit
        source = zipfile.ZipFile(io.BytesIO(response.content))
        buf = io.BytesIO()
        with source, zipfile.ZipFile(buf, "w") as out:
            for info in source.infolist():
                if info.filename.split("/", 1)[0] not in self.omit:
                    out.writestr(info, source.read(info))
        header = response.headers.get("x-batch-truncation-index")
        headers = {"X-Batch-Truncation-Index": header} if header is not None else {}
        return httpx.Response(response.status_code, content=buf.getvalue(), headers=headers)


@pytest.fixture
def dest(tmp_path: Path) -> Path:
    return tmp_path / "out"


@pytest.fixture
def fake(router: respx.MockRouter, authorize: respx.Route, dest: Path) -> OmittingGateway:
    gateway = OmittingGateway(dest)
    router.route().mock(side_effect=gateway.handle)
    return gateway


def message_dirs(dest: Path) -> list[str]:
    return sorted(p.name for p in dest.iterdir()) if dest.exists() else []


# -- 13.1: no empty or partial message directory on a failure path --------------------------


async def test_a_group_that_fails_to_extract_leaves_no_directory(
    session: gw.Session, fake: OmittingGateway, dest: Path
) -> None:
    a, b = fake.add("<a@x>", K), fake.add("<b@x>", K)
    fake.member_name = lambda mid, name: f"{mid}/../{name}" if mid == b else f"{mid}/{name}"
    with pytest.raises(gw.IntegrityError, match="traversal"):
        await batch_download(session, [a, b], dest)
    assert message_dirs(dest) == [safe_message_dirname(a)]  # a is complete; b left nothing


@pytest.mark.parametrize("mark", [False, True])
async def test_a_failed_single_attachment_fallback_leaves_no_partial_directory(
    session: gw.Session, fake: OmittingGateway, dest: Path, mark: bool
) -> None:
    fake.limit = 5 * K
    big = fake.add("<big@x>", 3 * K, 3 * K, 3 * K)  # 206 (0,0), then 1 and 2 singly
    fake.forbidden.add((big, 2))
    with pytest.raises(gw.PermissionDeniedError):
        await batch_download(session, [big], dest, mark_as_read=mark)
    assert fake.calls[:3] == ["batch", f"get {big}", f"attachment {big} 1"]  # 0 and 1 written
    assert message_dirs(dest) == []  # ...and removed again, with the directory
    assert fake.read == set()


@pytest.mark.parametrize("nested", [False, True])
@pytest.mark.parametrize("failure", ["error", "cancel"])
async def test_a_truncated_message_is_removed_when_the_next_request_fails(
    session: gw.Session, fake: OmittingGateway, dest: Path, failure: str, nested: bool
) -> None:
    fake.limit = int(2.5 * K)
    a, b = fake.add("<a@x>", K), fake.add("<b@x>", K, K, K)  # (1,0): a, then b's first
    if nested:  # b's attachments in a subfolder: that goes too
        fake.member_name = lambda mid, name: f"{mid}/sub/{name}" if mid == b else f"{mid}/{name}"
    answers = 0

    def batch(request: httpx.Request) -> httpx.Response:
        nonlocal answers
        answers += 1
        if answers == 1:
            fake.calls.append("batch")
            return fake.batch(json.loads(request.content), mark=True)
        if failure == "cancel":  # the caller gives up while the next archive arrives
            scope.cancel()
            return fake.batch(json.loads(request.content), mark=False)
        return httpx.Response(400, json={"message": "no more today"})

    fake.batch_override = batch
    with anyio.CancelScope() as scope:
        try:
            await batch_download(session, [a, b], dest, mark_as_read=True)
        except gw.BadRequestError:
            assert failure == "error"
    assert scope.cancelled_caught is (failure == "cancel")
    assert message_dirs(dest) == [safe_message_dirname(a)]  # b's first attachment is gone
    assert tree(dest) == {f"{safe_message_dirname(a)}/file0.bin": fake.messages[a][0][1]}
    assert fake.read == {a}


async def test_a_resumed_message_the_gateway_stops_returning_leaves_nothing(
    session: gw.Session, fake: OmittingGateway, dest: Path
) -> None:
    fake.limit = int(2.5 * K)
    a, b = fake.add("<a@x>", K), fake.add("<b@x>", K, K, K)

    def header(value: str | None) -> tuple[int, str | None]:
        if len(fake.batches) > 1:  # the second answer leaves b out and claims completeness
            fake.omit.add(b)
            return 200, None
        return (206, value) if value else (200, None)

    fake.header = header
    result = await batch_download(session, [a, b], dest)
    assert b in result.errors
    assert message_dirs(dest) == [safe_message_dirname(a)]


async def test_a_destination_made_by_a_failed_batch_is_removed(
    session: gw.Session, fake: OmittingGateway, tmp_path: Path
) -> None:
    fake.corrupt = True
    dest = tmp_path / "new" / "out"
    with pytest.raises(gw.IntegrityError):
        await batch_download(session, [fake.add("<a@x>", K)], dest)
    assert list(tmp_path.iterdir()) == []


# -- 13.2: an omitted id is an error, and is marked unread again -----------------------------


@pytest.mark.parametrize("mark", [False, True])
async def test_an_omitted_id_is_an_error(
    session: gw.Session, fake: OmittingGateway, dest: Path, mark: bool
) -> None:
    a, b, c = fake.add("<a@x>", K), fake.add("<b@x>", K, K), fake.add("<c@x>", K)
    fake.omit.add(b)
    result = await batch_download(session, [a, b, c], dest, mark_as_read=mark)
    assert list(result.files) == [a, c]
    assert b in result.errors
    assert "left this message out" in result.errors[b]
    assert message_dirs(dest) == sorted(safe_message_dirname(m) for m in (a, c))
    assert fake.read == ({a, c} if mark else set())  # b was marked by the gateway: undone
    assert (f"unmark {b}" in fake.calls) is mark
    assert result.requests == len(fake.calls)


async def test_an_omitted_id_the_gateway_does_not_know_is_an_error(
    session: gw.Session, fake: OmittingGateway, dest: Path
) -> None:
    fake.omit.add("<ghost@x>")
    result = await batch_download(session, ["<ghost@x>"], dest)
    assert result.files == {}
    assert "<ghost@x>" in result.errors


@pytest.mark.parametrize("mark", [False, True])
async def test_a_message_without_attachments_stays_a_success(
    session: gw.Session, fake: OmittingGateway, dest: Path, mark: bool
) -> None:
    # The gateway (and the emulator) put no entry at all in the archive for such a message.
    empty, a = fake.add("<empty@x>"), fake.add("<a@x>", K)
    result = await batch_download(session, [empty, a], dest, mark_as_read=mark)
    assert result.files == {empty: [], a: result.files[a]}
    assert result.errors == {}
    assert fake.read == ({empty, a} if mark else set())
    assert f"unmark {empty}" not in fake.calls
    assert message_dirs(dest) == [safe_message_dirname(a)]


async def test_mark_read_makes_sure_of_an_omitted_id(
    session: gw.Session, fake: OmittingGateway, tmp_path: Path
) -> None:
    a, b, empty = fake.add("<a@x>", K), fake.add("<b@x>", K), fake.add("<empty@x>")
    fake.omit.add(b)
    fake.mark_omitted = False
    marked = await mark_read(session, [a, b, empty, "<ghost@x>"], scratch_dir=tmp_path)
    assert marked == [a, b, empty]  # the ghost is not known: not marked
    assert fake.read == {a, b, empty}  # b was left out unmarked: marked with a GET of its own
