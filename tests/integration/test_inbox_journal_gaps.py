"""InboxConsumer gaps found by mutation (issue 19): the journal is fsynced before a message
is handed over, and a message journaled ``marked`` that is unread again is only marked.

Against the emulator over loopback, through the public API only (the journal is found by
content under ``dest/.as2gw``, not by its private name). Each test names its mutant.
"""

from __future__ import annotations

import os
import threading
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

import as2gw_async as gw
from as2gw_async.emulator import EmulatorServer, Gateway
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


class FsyncSpy:
    """Every ``os.fsync``: the inode and the size of what was synced."""

    def __init__(self) -> None:
        self.synced: list[tuple[int, int]] = []
        self._lock = threading.Lock()

    def record(self, fd: int) -> None:
        st = os.fstat(fd)
        with self._lock:
            self.synced.append((st.st_ino, st.st_size))

    def durable_up_to(self, path: Path) -> int:
        """How many bytes of ``path`` an fsync has covered (0 if none)."""
        inode = path.stat().st_ino
        with self._lock:
            return max((size for ino, size in self.synced if ino == inode), default=0)


@pytest.fixture
def fsyncs(monkeypatch: pytest.MonkeyPatch) -> FsyncSpy:
    spy = FsyncSpy()
    real = os.fsync

    def fsync(fd: int) -> None:
        spy.record(fd)
        real(fd)

    monkeypatch.setattr(os, "fsync", fsync)
    return spy


def _journal_line_end(dest: Path, mid: str, state: str) -> tuple[Path, int]:
    """The journal file holding ``mid``'s ``state`` record, and the offset just past it."""
    needle, word = mid.encode(), f'"{state}"'.encode()
    for path in sorted((dest / ".as2gw").rglob("*")):
        if not path.is_file():
            continue
        offset = 0
        for line in path.read_bytes().splitlines(keepends=True):
            offset += len(line)
            if needle in line and word in line:
                return path, offset
    raise AssertionError(f"no {state} record of {mid} under {dest / '.as2gw'}")


async def test_the_stored_record_is_fsynced_before_the_message_is_handed_over(
    as2gw_gateway: Gateway, session: gw.Session, tmp_path: Path, fsyncs: FsyncSpy
) -> None:
    # kills: the journal's fsync removed (a crash after the hand-over could forget that
    # the message was stored, and then that it was acknowledged)
    ids = as2gw_gateway.seed(5)
    handed = []
    async with gw.InboxConsumer(session, tmp_path) as consumer:
        async for delivered in consumer:
            mid = delivered.as2_message_id
            journal, end = _journal_line_end(tmp_path, mid, "stored")
            assert fsyncs.durable_up_to(journal) >= end, f"{mid} handed over before durable"
            handed.append(mid)
    assert sorted(handed) == sorted(ids)
    # the marks are durable too once the consumer is closed
    for mid in ids:
        journal, end = _journal_line_end(tmp_path, mid, "marked")
        assert fsyncs.durable_up_to(journal) >= end
    assert_inbox_invariants(as2gw_gateway, tmp_path, ids)


async def test_a_marked_message_unread_again_is_marked_again_never_handed_over_twice(
    as2gw_gateway: Gateway, session: gw.Session, tmp_path: Path
) -> None:
    # kills: `state in ("acked", "marked")` -> `state == "acked"` (the message would be
    # adopted from its directory and handed to the user's code a second time)
    ids = as2gw_gateway.seed(4)
    first = []
    async with gw.InboxConsumer(session, tmp_path) as consumer:
        first = [d.as2_message_id async for d in consumer]
    assert sorted(first) == sorted(ids)
    again = ids[:2]
    for mid in again:
        as2gw_gateway.mark_read(mid, False)  # someone (or a gateway hiccup) unread it
    files_before = {mid: _inodes(tmp_path / safe_message_dirname(mid)) for mid in again}
    batches_before = as2gw_gateway.stats.as_dict()["routes"].get("batch", 0)

    async with gw.InboxConsumer(session, tmp_path) as consumer:
        second = [d.as2_message_id async for d in consumer]
    assert second == []
    assert unread(as2gw_gateway, ids) == []
    assert {mid: _inodes(tmp_path / safe_message_dirname(mid)) for mid in again} == files_before
    assert as2gw_gateway.stats.as_dict()["routes"].get("batch", 0) - batches_before <= 1
    assert consumer.stats.delivered == consumer.stats.redelivered == 0
    assert_inbox_invariants(as2gw_gateway, tmp_path, ids)


def _inodes(directory: Path) -> dict[str, tuple[int, int]]:
    return {p.name: (p.stat().st_ino, p.stat().st_mtime_ns) for p in directory.iterdir()}
