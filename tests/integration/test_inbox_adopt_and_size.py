"""InboxConsumer: adopted directories are verified (issue 13 item 1); one huge message
neither stalls the others nor is downloaded only to be refused, run after run (item 6)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import unquote

import anyio
import httpx
import pytest

import as2gw_async as gw
from as2gw_async.emulator import EmulatorServer, Gateway, GeneratedBody
from as2gw_async.files import safe_message_dirname

from ._inbox_helpers import assert_inbox_invariants, unread

_RETRY = gw.RetryPolicy(max_retries=3, initial_delay=0.01, max_delay=0.05)


class _Gate(httpx.AsyncBaseTransport):
    """Records which message ids each download asks for; holds back those of ``held``."""

    def __init__(self, held: str | None = None) -> None:
        self._inner = httpx.AsyncHTTPTransport()
        self.held = held
        self.release = anyio.Event()
        self.downloads: list[tuple[str, list[str]]] = []  # (route, ids)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        path = unquote(request.url.raw_path.decode().split("?")[0])
        ids: list[str] = []
        route = ""
        if path.endswith("/message/received/batch/attachments"):
            route, ids = "batch", json.loads(request.content or b"[]")
            if "markAsRead=true" in str(request.url):
                route = "mark"
        elif "/message/received/" in path and "/attachments" in path:
            route = "attachment"
            ids = [path.split("/message/received/", 1)[1].rsplit("/attachments", 1)[0]]
        if route:
            self.downloads.append((route, ids))
        if self.held is not None and self.held in ids and route != "mark":
            # A slow download: held until the test has seen the rest (or, when the consumer
            # is stuck behind it, long enough for the test to tell).
            with anyio.move_on_after(60):
                await self.release.wait()
        return await self._inner.handle_async_request(request)

    def fetched(self, mid: str) -> list[str]:
        """The routes that downloaded ``mid``'s attachments (marking read aside)."""
        return [route for route, ids in self.downloads if mid in ids and route != "mark"]

    async def aclose(self) -> None:
        await self._inner.aclose()


@pytest.fixture
def gate() -> _Gate:
    return _Gate()


@pytest.fixture
async def session(as2gw_emulator: EmulatorServer, gate: _Gate) -> AsyncIterator[gw.Session]:
    client = httpx.AsyncClient(transport=gate, timeout=30, follow_redirects=False)
    async with (
        client,
        gw.Session(
            as2gw_emulator.username,
            as2gw_emulator.password,
            base_url=as2gw_emulator.base_url,
            rate_limit=None,
            retry_policy=_RETRY,
            http_client=client,
        ) as s,
    ):
        yield s


async def _drain(session: gw.Session, dest: Path, **kwargs: object) -> gw.InboxConsumer:
    async with gw.InboxConsumer(session, dest, **kwargs) as consumer:  # type: ignore[arg-type]
        async for _ in consumer:
            pass
    return consumer


# -- issue 13 item 1: an adopted directory is verified like a fresh one ---------------------


async def test_an_empty_directory_in_place_is_not_adopted(
    as2gw_gateway: Gateway, session: gw.Session, tmp_path: Path
) -> None:
    ids = as2gw_gateway.seed(3)
    victim = ids[1]
    # left by an earlier failed download, or made by anyone
    (tmp_path / safe_message_dirname(victim)).mkdir()

    got: list[gw.Delivered] = []
    async with gw.InboxConsumer(session, tmp_path) as consumer:
        async for d in consumer:
            got.append(d)
    by_id = {d.as2_message_id: d for d in got}
    assert sorted(by_id) == sorted(ids)
    assert len(by_id[victim].files) == len(as2gw_gateway.message("received", victim).attachments)
    assert not by_id[victim].redelivered
    # the empty directory was moved aside (never deleted), out of the user's way
    aside = list((tmp_path / ".as2gw" / "rejected").iterdir())
    assert [p.name.startswith(safe_message_dirname(victim)) for p in aside] == [True]
    assert_inbox_invariants(as2gw_gateway, tmp_path, ids)


async def test_a_directory_with_wrong_files_is_moved_aside_with_its_data(
    as2gw_gateway: Gateway, session: gw.Session, tmp_path: Path
) -> None:
    ids = as2gw_gateway.seed(2, attachments=(1, 1))
    victim = ids[0]
    name = as2gw_gateway.message("received", victim).attachments[0].name
    stray = tmp_path / safe_message_dirname(victim)
    stray.mkdir()
    (stray / name).write_bytes(b"someone's own notes")  # right name, wrong size

    consumer = await _drain(session, tmp_path)
    assert consumer.stats.delivered == 2
    [aside] = list((tmp_path / ".as2gw" / "rejected").iterdir())
    assert (aside / name).read_bytes() == b"someone's own notes"  # nothing lost
    assert_inbox_invariants(as2gw_gateway, tmp_path, ids)


async def test_a_complete_directory_in_place_is_still_adopted_without_download(
    as2gw_gateway: Gateway, session: gw.Session, gate: _Gate, tmp_path: Path
) -> None:
    ids = as2gw_gateway.seed(2, attachments=(2, 2))
    victim = ids[0]
    directory = tmp_path / safe_message_dirname(victim)
    directory.mkdir()
    for i, a in enumerate(as2gw_gateway.message("received", victim).attachments):
        (directory / a.name).write_bytes(as2gw_gateway.attachment_bytes("received", victim, i))

    got: list[gw.Delivered] = []
    async with gw.InboxConsumer(session, tmp_path) as consumer:
        async for d in consumer:
            got.append(d)
    assert [d.redelivered for d in got if d.as2_message_id == victim] == [True]
    assert gate.fetched(victim) == []
    assert not (tmp_path / ".as2gw" / "rejected").exists()
    assert_inbox_invariants(as2gw_gateway, tmp_path, ids)


# -- issue 13 item 6: one huge message ------------------------------------------------------


def _deliver_big(gateway: Gateway, size: int) -> str:
    return gateway.deliver(attachments=[("huge.bin", GeneratedBody(size=size, seed=5))])


async def test_a_message_over_the_size_limit_is_skipped_without_downloading_it(
    as2gw_gateway: Gateway, session: gw.Session, gate: _Gate, tmp_path: Path
) -> None:
    ids = as2gw_gateway.seed(4)
    big = _deliver_big(as2gw_gateway, 3 * 1024 * 1024)

    consumer = await _drain(session, tmp_path, max_total_size=1024 * 1024)
    assert consumer.stats.delivered == 4
    assert list(consumer.skipped) == [big]
    assert "max_total_size" in consumer.skipped[big]
    assert gate.fetched(big) == []  # refused from the listing's size, not after downloading
    assert unread(as2gw_gateway, [*ids, big]) == [big]
    assert not (tmp_path / safe_message_dirname(big)).exists()
    assert_inbox_invariants(as2gw_gateway, tmp_path, ids)


async def test_following_does_not_retry_a_message_over_the_limit_every_poll(
    as2gw_gateway: Gateway, session: gw.Session, gate: _Gate, tmp_path: Path
) -> None:
    big = _deliver_big(as2gw_gateway, 3 * 1024 * 1024)
    as2gw_gateway.deliver(attachments=[("first.txt", b"first")])
    seen: list[str] = []
    async with gw.InboxConsumer(
        session, tmp_path, follow=True, poll_interval=0.01, max_total_size=1024 * 1024
    ) as consumer:
        async for d in consumer:
            seen.append(d.as2_message_id)
            if len(seen) == 3:
                break
            as2gw_gateway.deliver(attachments=[("next.txt", b"next")])  # a few polls pass

    assert len(seen) == 3
    assert big in consumer.skipped
    assert "max_total_size" in consumer.skipped[big]
    assert consumer.stats.skipped == 1  # counted once, not once a poll
    assert gate.fetched(big) == []


async def test_a_large_message_is_fetched_on_its_own_path_and_others_keep_flowing(
    as2gw_gateway: Gateway, session: gw.Session, gate: _Gate, tmp_path: Path
) -> None:
    ids = as2gw_gateway.seed(30, attachments=(1, 2))
    big = _deliver_big(as2gw_gateway, 12 * 1024 * 1024)  # over one batch response
    gate.held = big

    order: list[str] = []
    async with gw.InboxConsumer(session, tmp_path, concurrency=4) as consumer:
        async for d in consumer:
            order.append(d.as2_message_id)
            if set(order) >= set(ids):
                gate.release.set()  # every small one came while the big one was held
    assert order[-1] == big
    assert sorted(order) == sorted([*ids, big])
    assert set(gate.fetched(big)) == {"attachment"}  # streamed alone, never in a batch zip
    assert_inbox_invariants(as2gw_gateway, tmp_path, [*ids, big])


async def test_max_total_size_can_be_raised_for_a_big_message(
    as2gw_gateway: Gateway, session: gw.Session, gate: _Gate, tmp_path: Path
) -> None:
    big = _deliver_big(as2gw_gateway, 3 * 1024 * 1024)
    refused = await _drain(session, tmp_path, max_total_size=2 * 1024 * 1024)
    assert list(refused.skipped) == [big]
    consumer = await _drain(session, tmp_path, max_total_size=4 * 1024 * 1024)
    assert consumer.stats.delivered == 1
    assert_inbox_invariants(as2gw_gateway, tmp_path, [big])


def test_max_total_size_must_be_positive(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="max_total_size"):
        gw.InboxConsumer(object(), tmp_path, max_total_size=0)  # type: ignore[arg-type]
