"""Checks shared by the InboxConsumer tests: what 'every file on disk exactly once' means."""

from __future__ import annotations

import hashlib
from pathlib import Path

from as2gw_async.emulator import Gateway
from as2gw_async.files import safe_message_dirname


def assert_inbox_invariants(gateway: Gateway, dest: Path, ids: list[str]) -> None:
    """Every message on disk once, byte-identical, marked read; nothing else left behind."""
    dirs = {p.name for p in dest.iterdir() if p.is_dir() and p.name != ".as2gw"}
    assert dirs == {safe_message_dirname(mid) for mid in ids}
    for mid in ids:
        message = gateway.message("received", mid)
        directory = dest / safe_message_dirname(mid)
        on_disk = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in directory.iterdir()}
        expected = {
            a.name: gateway.attachment_sha256("received", mid, i)
            for i, a in enumerate(message.attachments)
        }
        assert on_disk == expected, mid
        assert gateway.is_read(mid), f"{mid} is on disk but not marked read"
    leftovers = [
        p for p in dest.rglob("*") if p.name.endswith(".part") or "staging/" in p.as_posix()
    ]
    assert leftovers == []


def unread(gateway: Gateway, ids: list[str]) -> list[str]:
    return [mid for mid in ids if not gateway.is_read(mid)]
