"""InboxConsumer over the Mailbox protocol alone: any gateway, no HTTP."""

from __future__ import annotations

import ast
import json
from collections.abc import AsyncIterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import anyio
import pytest

import as2gw_async as gw
from as2gw_async.files import safe_message_dirname
from as2gw_async.mailbox import (
    ExpectedFile,
    FetchResult,
    FetchSizes,
    MailboxUsage,
    WaitingItem,
    staging_path,
)
from as2gw_async.models import DownloadedFile

PACKAGE = Path(gw.__file__).parent


class FakeMailbox:
    """A gateway of plain dicts: ``{id: {name: bytes}}``; acknowledged ids leave it."""

    def __init__(
        self, messages: dict[str, dict[str, bytes]], *, gateway: str = "fake", account: str = "me"
    ) -> None:
        self.messages = messages
        self.gateway = gateway
        self.account = account
        self.sizes = FetchSizes(max_ids=2, max_bytes=None, large=1000)
        self.fetched: list[list[str]] = []
        self.acknowledged: list[str] = []
        self.hold: dict[str, anyio.Event] = {}

    async def waiting(self) -> AsyncIterator[WaitingItem]:
        for mid, files in list(self.messages.items()):
            yield WaitingItem(
                id=mid,
                metadata={"id": mid, "subject": f"about {mid}"},
                files=tuple(ExpectedFile(name=n, size=len(b)) for n, b in files.items()),
            )

    async def fetch(
        self, items: Sequence[WaitingItem], staging: Path, *, max_total_size: int
    ) -> FetchResult:
        self.fetched.append([i.id for i in items])
        for item in items:
            if item.id in self.hold:
                await self.hold[item.id].wait()
        out: dict[str, list[DownloadedFile]] = {}
        for item in items:
            directory = staging_path(staging, item.id)
            directory.mkdir(parents=True)
            out[item.id] = []
            for name, body in self.messages[item.id].items():
                (directory / name).write_bytes(body)
                out[item.id].append(
                    DownloadedFile(path=directory / name, name=name, size=len(body))
                )
        return FetchResult(files=out)

    async def acknowledge(self, ids: Sequence[str]) -> list[str]:
        for mid in ids:
            self.messages.pop(mid, None)
        self.acknowledged.extend(ids)
        return list(ids)

    def restore(self, metadata: Mapping[str, Any]) -> dict[str, Any]:
        return dict(metadata)

    def usage(self) -> MailboxUsage:
        return MailboxUsage(requests=len(self.fetched), retries=0)


def test_the_fake_is_a_mailbox() -> None:
    assert isinstance(FakeMailbox({}), gw.Mailbox)


async def test_any_mailbox_is_drained_once_with_the_gateway_neutral_id(tmp_path: Path) -> None:
    box = FakeMailbox({f"m{i}": {"a.txt": b"x" * i, "b.txt": b"y"} for i in range(1, 6)})
    got: list[gw.Delivered] = []
    async with gw.InboxConsumer(box, tmp_path) as consumer:
        async for d in consumer:
            got.append(d)
    assert sorted(d.message_id for d in got) == ["m1", "m2", "m3", "m4", "m5"]
    assert all(d.message == {"id": d.message_id, "subject": f"about {d.message_id}"} for d in got)
    assert all(len(d.files) == 2 for d in got)
    assert sorted(box.acknowledged) == ["m1", "m2", "m3", "m4", "m5"]
    assert all(len(ids) <= 2 for ids in box.fetched)  # the mailbox's FetchSizes
    lines = [
        json.loads(x) for x in (tmp_path / ".as2gw" / "journal.jsonl").read_text().splitlines()
    ]
    assert {(x["gateway"], x["account"]) for x in lines} == {("fake", "me")}


async def test_a_large_message_is_handed_over_last_not_first(tmp_path: Path) -> None:
    box = FakeMailbox({"big": {"big.bin": b"z" * 5000}, **{f"s{i}": {"s": b"s"} for i in range(7)}})
    box.hold["big"] = anyio.Event()
    order: list[str] = []
    async with gw.InboxConsumer(box, tmp_path, concurrency=2) as consumer:
        async for d in consumer:
            order.append(d.message_id)
            if len(order) == 7:
                box.hold["big"].set()  # the big one was still fetching all along
    assert order[-1] == "big"
    assert len(order) == 8
    assert ["big"] in box.fetched


async def test_a_dest_dir_of_one_gateway_refuses_another(tmp_path: Path) -> None:
    async with gw.InboxConsumer(FakeMailbox({"m": {"a": b"a"}}, gateway="mft"), tmp_path) as c:
        async for _ in c:
            pass
    other = FakeMailbox({"n": {"a": b"a"}}, gateway="ecgrid")
    with pytest.raises(gw.JournalMismatchError, match="'mft'"):
        async with gw.InboxConsumer(other, tmp_path):
            pass
    # the directory is not left locked by the failed attempt
    async with gw.InboxConsumer(FakeMailbox({}, gateway="mft"), tmp_path):
        pass


def test_gateway_options_go_to_the_session_not_to_a_mailbox(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="partner_as2_id"):
        gw.InboxConsumer(FakeMailbox({}), tmp_path, partner_as2_id="P")
    with pytest.raises(TypeError, match="mailbox"):
        gw.InboxConsumer(object(), tmp_path)


def test_a_session_hands_out_its_mailbox_with_its_options() -> None:
    s = gw.Session("u", "p", base_url="https://example.invalid/v1")
    box = s.mailbox(partner_as2_id="P", include_mdn=True)
    assert isinstance(box, gw.Mailbox)
    assert (box.gateway, box.account) == ("as2gateway", "u")


@pytest.mark.parametrize("module", ["inbox.py", "mailbox.py", "journal/base.py", "journal/file.py"])
def test_the_consumer_core_imports_no_gateway(module: str) -> None:
    tree = ast.parse((PACKAGE / module).read_text())
    imported = {
        node.module or "" for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)
    } | {
        alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.Import)
        for alias in node.names
    }
    gateway_modules = {"session", "endpoints", "mft", "ecgrid", "converter"}
    assert not {m for m in imported if m.lstrip(".").split(".")[0] in gateway_modules}


def test_delivered_keeps_its_v1_shape(tmp_path: Path) -> None:
    message = gw.AS2Message(as2_message_id="<x@y>")
    d = gw.Delivered(message=message, directory=tmp_path, files=())
    assert d.message_id == d.as2_message_id == "<x@y>"
    assert not d.redelivered
    assert safe_message_dirname("<x@y>") == "x@y"


async def test_an_empty_directory_is_the_delivery_of_a_message_without_files(
    tmp_path: Path,
) -> None:
    box = FakeMailbox({"empty": {}, "full": {"a.txt": b"a"}})
    (tmp_path / safe_message_dirname("empty")).mkdir()  # a run died before journaling it
    (tmp_path / safe_message_dirname("full")).mkdir()  # an empty directory where files belong
    got: dict[str, gw.Delivered] = {}
    async with gw.InboxConsumer(box, tmp_path) as consumer:
        async for d in consumer:
            got[d.message_id] = d
    assert got["empty"].redelivered  # adopted as it is
    assert box.fetched == [["full"]]
    assert [f.name for f in got["full"].files] == ["a.txt"]
    rejected = [p.name for p in (tmp_path / ".as2gw" / "rejected").iterdir()]
    assert [name.startswith(safe_message_dirname("full") + ".") for name in rejected] == [True]


class SlowListingMailbox(FakeMailbox):
    """The listing stops halfway until the consumer's loop has handled ``pause_after``
    messages, as a rate-limited listing of a large backlog lets downloads and the user's
    code run ahead of it; records when each acknowledgement came."""

    def __init__(self, messages: dict[str, dict[str, bytes]], *, pause_after: int) -> None:
        super().__init__(messages)
        self.sizes = FetchSizes(max_ids=100, max_bytes=None, large=10**9)
        self.pause_after = pause_after
        self.handled = 0
        self.resume = anyio.Event()
        self.listing_done = False
        self.acknowledged_while_listing: list[str] = []
        self.batches: list[int] = []

    async def waiting(self) -> AsyncIterator[WaitingItem]:
        listed = [i async for i in super().waiting()]
        for n, item in enumerate(listed):
            if n == len(listed) // 2:
                with anyio.fail_after(10):  # a guard against a hang, not a timing check
                    await self.resume.wait()
            yield item
        self.listing_done = True

    async def acknowledge(self, ids: Sequence[str]) -> list[str]:
        if not self.listing_done:
            self.acknowledged_while_listing.extend(ids)
        self.batches.append(len(ids))
        return await super().acknowledge(ids)


async def test_nothing_is_acknowledged_while_the_listing_is_still_being_read(
    tmp_path: Path,
) -> None:
    # Acknowledging removes messages from the waiting listing; doing it mid-walk shifted
    # every later page, and the pager paid for that in requests (26 extra listing pages,
    # 18 %, draining 5,000 messages under the rate limit). The acks wait for the walk's end.
    box = SlowListingMailbox({f"m{i:03}": {"a.txt": b"x"} for i in range(800)}, pause_after=150)
    handled: list[str] = []
    async with gw.InboxConsumer(box, tmp_path, concurrency=2) as consumer:
        async for d in consumer:
            handled.append(d.message_id)
            if len(handled) == box.pause_after:
                box.resume.set()
    assert sorted(handled) == sorted(f"m{i:03}" for i in range(800))
    assert box.acknowledged_while_listing == []
    # held back, they still go 100 a request: no partial batch before the last
    assert box.batches == [100] * 8
    assert sorted(box.acknowledged) == sorted(handled)
    assert len(box.acknowledged) == len(set(box.acknowledged))


def test_v1_attachments_with_one_long_name_get_distinct_names_that_fit() -> None:
    """Two attachments whose (sanitised) name is already 255 bytes long: the second one's
    name must fit too (it used to be 259 bytes: the file system refused it and the message
    failed on every pass). The rule is the batch zip's (`archives._unique`)."""
    from as2gw_async.endpoints.mailbox import _distinct_names

    long = "a" * 251 + ".bin"
    names = _distinct_names([long, long, "É.txt", "é.TXT", None])
    assert all(len(n.encode("utf-8")) <= 255 for n in names)
    assert names[0] == long
    assert names[1].endswith(" (2).bin")
    assert names[2:] == ["É.txt", "é (2).TXT", "attachment-4"]
