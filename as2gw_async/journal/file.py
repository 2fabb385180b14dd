"""The default journal: JSON lines in ``dest_dir/.as2gw/journal.jsonl``, fsynced per write.

One line per step: ``{"id", "state", "gateway", "account", "dir", "message", "time"}``
(``message`` holds the mailbox's metadata; ``dir`` and ``message`` on ``stored`` lines). The
first line's gateway and account own the directory. A line torn by a crash mid-write is
skipped. Lines written before they named a gateway (AS2 Gateway v1 only) are read as
``as2gateway``'s, of whichever account opens them.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import anyio
import anyio.to_thread

from ..errors import JournalMismatchError
from .base import JournalRecord, JournalScope, Recovery
from .states import ACKED, STORED, State, is_state, later

__all__ = ["LEGACY_GATEWAY", "FileJournal"]

#: The gateway of journal lines that name none (they predate the other gateways).
LEGACY_GATEWAY = "as2gateway"


class FileJournal:
    """Append-only JSON lines, one consumer (the caller locks ``dest_dir``); claims are
    trivially granted. ``path`` defaults to ``dest_dir/.as2gw/journal.jsonl``."""

    def __init__(self, path: str | os.PathLike[str] | None = None) -> None:
        self.path = Path(path) if path is not None else None
        self._states: dict[str, State] = {}
        self._stored: dict[str, JournalRecord] = {}
        self._owner: tuple[str, str] | None = None
        self._lock = anyio.Lock()

    def __repr__(self) -> str:
        return f"FileJournal({str(self.path)!r})"

    async def open(self, scope: JournalScope) -> Recovery:
        """Load the journal, check it belongs to ``scope``'s gateway and account."""
        if self.path is None:
            self.path = scope.dest_dir / ".as2gw" / "journal.jsonl"
        owner = await anyio.to_thread.run_sync(self._load)
        if owner is not None:
            gateway, account = owner
            if gateway != scope.gateway or account not in (None, scope.account):
                self._mismatch(scope, gateway, account)
        self._owner = (scope.gateway, scope.account)
        return Recovery(
            stored=tuple(self._stored[m] for m, s in self._states.items() if s == STORED),
            acked=tuple(m for m, s in self._states.items() if s == ACKED),
        )

    async def close(self) -> None:
        """Nothing to release: every write is already durable."""

    async def states(self, ids: Sequence[str]) -> dict[str, State]:
        """The latest journaled state of each of ``ids`` that has one."""
        return {m: self._states[m] for m in ids if m in self._states}

    async def claim(self, ids: Sequence[str]) -> list[str]:
        """Every id not yet acked or marked: this journal has a single consumer."""
        return [m for m in ids if self._states.get(m) in (None, STORED)]

    async def release(self, ids: Sequence[str]) -> None:
        """No claims to give up."""

    async def record(self, records: Sequence[JournalRecord]) -> None:
        """Append ``records`` and fsync before returning."""
        assert self._owner is not None, "open() first"
        await self._append([_line(r, *self._owner) for r in records])
        for r in records:  # (stored records matter only to open()'s recovery: not kept)
            self._states[r.message_id] = later(r.state, self._states.get(r.message_id))

    # -- file ----------------------------------------------------------------------------

    def _load(self) -> tuple[str, str | None] | None:
        """Read every line; return the (gateway, account) of the first, if any."""
        assert self.path is not None
        owner: tuple[str, str | None] | None = None
        if not self.path.exists():
            return None
        with self.path.open("rb") as f:
            for raw in f:
                try:
                    line = json.loads(raw)
                except ValueError:
                    continue  # a line torn by a crash mid-write
                if not isinstance(line, dict):
                    continue
                record = _record(line)
                if record is None:
                    continue
                if owner is None:
                    gateway, account = line.get("gateway"), line.get("account")
                    owner = (
                        gateway if isinstance(gateway, str) else LEGACY_GATEWAY,
                        account if isinstance(account, str) else None,
                    )
                mid = record.message_id
                self._states[mid] = later(record.state, self._states.get(mid))
                if record.state == STORED:
                    self._stored[mid] = record
        return owner

    async def _append(self, lines: Sequence[dict[str, Any]]) -> None:
        if not lines:
            return
        data = b"".join(json.dumps(x, separators=(",", ":")).encode() + b"\n" for x in lines)
        async with self._lock:
            await anyio.to_thread.run_sync(self._write, data)

    def _write(self, data: bytes) -> None:
        assert self.path is not None
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            # A line torn by a crash has no newline: start on a fresh line after it.
            if os.fstat(fd).st_size and not _ends_with_newline(self.path):
                data = b"\n" + data
            os.write(fd, data)
            os.fsync(fd)
        finally:
            os.close(fd)

    def _mismatch(self, scope: JournalScope, gateway: object, account: object) -> None:
        owner = f"gateway {gateway!r}" + (f", account {account!r}" if account else "")
        raise JournalMismatchError(
            f"{scope.dest_dir} holds the inbox of {owner}; it cannot also take "
            f"gateway {scope.gateway!r}, account {scope.account!r}: use another directory"
        )


def _ends_with_newline(path: Path) -> bool:
    with path.open("rb") as f:
        f.seek(-1, os.SEEK_END)
        return f.read(1) == b"\n"


def _line(r: JournalRecord, gateway: str, account: str) -> dict[str, Any]:
    line: dict[str, Any] = {
        "id": r.message_id,
        "state": r.state,
        "gateway": gateway,
        "account": account,
    }
    if r.directory is not None:
        line["dir"] = r.directory
    if r.metadata is not None:
        line["message"] = dict(r.metadata)
    line["time"] = r.time
    return line


def _record(line: dict[str, Any]) -> JournalRecord | None:
    mid, state = line.get("id"), line.get("state")
    if not isinstance(mid, str) or not is_state(state):
        return None
    directory, metadata = line.get("dir"), line.get("message")
    if state == STORED and (not isinstance(directory, str) or not isinstance(metadata, dict)):
        return None
    stamp = line.get("time")
    return JournalRecord(
        message_id=mid,
        state=state,
        directory=directory if isinstance(directory, str) else None,
        metadata=metadata if isinstance(metadata, dict) else None,
        time=float(stamp) if isinstance(stamp, (int, float)) else 0.0,
    )
