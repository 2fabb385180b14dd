"""InboxConsumer: every received message on disk exactly once, through faults and crashes.

The order of effects for each message is fixed, and a durable journal records the steps:

1. its attachments are downloaded into a staging directory (temp file, size and zip CRC
   checked, fsync, atomic rename per file);
2. the staging directory is renamed, in one step, to ``dest_dir/<safe-message-id>/``;
3. a ``stored`` line is appended to the journal and fsynced;
4. the message is handed to your code (the ``async for`` body, or the ``run`` handler);
5. when your code is done with it, an ``acked`` line is journaled;
6. only then is it marked read on the gateway, and a ``marked`` line journaled.

A crash between any two steps is finished by the next run in the same ``dest_dir``: staging
leftovers are deleted (the message is still unread, so it is fetched again into the same
place); a directory that was renamed into place but not journaled is adopted as it is;
a message journaled ``stored`` is handed to your code again from disk, without downloading;
one journaled ``acked`` is marked read without downloading or handing it over again.
So each file lands on disk exactly once and your code sees each message at least once
across crashes (exactly once when there is none); nothing is marked read before your code
is done with it.

Requests are the scarce resource (the gateway allows 50 per 10 s), so messages are fetched
with the batch endpoint, up to 100 a request, and marked read in batches too.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import shutil
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Sequence
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

import anyio
from attrs import define, frozen

from . import files
from .converter import structure, unstructure
from .errors import AS2GatewayError, IntegrityError
from .models import AS2Message, DownloadedFile, PartnerType

if TYPE_CHECKING:
    from .session import Session

__all__ = ["ConsumerStats", "Delivered", "InboxConsumer"]

logger = logging.getLogger("as2gw_async.inbox")

_STATE_DIR = ".as2gw"
_JOURNAL = "journal.jsonl"
_STAGING = "staging"
_LOCK = "lock"
_STATES = ("stored", "acked", "marked")
#: The batch endpoint stops at 10 MB; chunks are planned below it so 206s stay rare.
_BATCH_BYTES = 8 * 1024 * 1024
_BATCH_IDS = 100


@frozen(kw_only=True)
class Delivered:
    """A received message whose files are complete on disk in ``directory``.

    ``redelivered`` is True when it was stored by an earlier run that stopped before your
    code was done with it.
    """

    message: AS2Message
    directory: Path
    files: tuple[DownloadedFile, ...]
    redelivered: bool = False

    @property
    def as2_message_id(self) -> str:
        """The AS2 message id."""
        return self.message.as2_message_id


@define
class ConsumerStats:
    """Counters for the CLI and monitoring."""

    delivered: int = 0
    redelivered: int = 0
    skipped: int = 0
    marked_read: int = 0
    retried: int = 0
    bytes: int = 0
    requests: int = 0

    @property
    def requests_per_message(self) -> float:
        """HTTP calls made per message delivered (listing, downloads, marking, retries)."""
        return self.requests / self.delivered if self.delivered else 0.0


class _Journal:
    """Append-only JSON lines, fsynced per write; the last state of an id wins."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.states: dict[str, str] = {}
        self.records: dict[str, dict[str, Any]] = {}
        self._lock = anyio.Lock()

    def load(self) -> None:
        if not self.path.exists():
            return
        with self.path.open("rb") as f:
            for raw in f:
                try:
                    record = json.loads(raw)
                    mid, state = record["id"], record["state"]
                except (ValueError, KeyError, TypeError):
                    continue  # a line torn by a crash mid-write
                if state not in _STATES:
                    continue
                if _STATES.index(state) >= _STATES.index(self.states.get(mid, state)):
                    self.states[mid] = state
                if state == "stored":
                    self.records[mid] = record

    async def append(self, records: Sequence[dict[str, Any]]) -> None:
        if not records:
            return
        data = b"".join(json.dumps(r, separators=(",", ":")).encode() + b"\n" for r in records)
        async with self._lock:
            await anyio.to_thread.run_sync(self._write, data)
            for record in records:
                self.states[record["id"]] = record["state"]
                if record["state"] == "stored":
                    self.records[record["id"]] = record

    def _write(self, data: bytes) -> None:
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(fd, data)
            os.fsync(fd)
        finally:
            os.close(fd)


class InboxConsumer:
    """Drain the inbox into ``dest_dir``: each unread message on disk once, then marked read.

    >>> async with InboxConsumer(session, "inbox/") as consumer:  # doctest: +SKIP
    ...     async for delivered in consumer:
    ...         process(delivered.directory)

    Iterating yields a `Delivered` once its files are on disk; the message is marked read
    when the loop asks for the next one (or the loop ends), so a crash inside your loop body
    hands it to you again on the next run. ``await consumer.run(handler)`` does the same
    with a callback and marks a message read only after ``handler`` returns without error.

    ``follow=True`` keeps polling every ``poll_interval`` seconds until cancelled; otherwise
    the consumer stops once a listing shows nothing new. A message that keeps failing after
    the session's retries is logged, counted and listed in ``skipped``, and left unread.
    """

    def __init__(
        self,
        session: Session,
        dest_dir: str | os.PathLike[str],
        *,
        concurrency: int = 8,
        partner_as2_id: str | None = None,
        station_as2_id: str | None = None,
        partner_type: PartnerType | str = PartnerType.PRODUCTION,
        poll_interval: float = 30.0,
        follow: bool = False,
        include_mdn: bool = False,
        progress: Callable[[Delivered], None] | None = None,
    ) -> None:
        if concurrency < 1:
            raise ValueError("concurrency must be at least 1")
        self._session = session
        self.dest_dir = Path(dest_dir)
        self.concurrency = concurrency
        self._filters: dict[str, Any] = {
            "partner_as2_id": partner_as2_id,
            "station_as2_id": station_as2_id,
            "partner_type": partner_type,
        }
        self.poll_interval = poll_interval
        self.follow = follow
        self.include_mdn = include_mdn
        self._progress = progress
        self.stats = ConsumerStats()
        #: Messages given up on in this run, with the last error.
        self.skipped: dict[str, str] = {}
        self._state = self.dest_dir / _STATE_DIR
        self._journal = _Journal(self._state / _JOURNAL)
        self._staging = self._state / _STAGING
        self._lock_fd: int | None = None
        self._to_mark: list[str] = []
        self._handed: set[str] = set()
        self._sizes: dict[str, int] = {}
        self._base_requests = 0
        self._base_retries = 0

    # -- lifecycle -------------------------------------------------------------------

    async def __aenter__(self) -> InboxConsumer:
        await anyio.to_thread.run_sync(self._open)
        self._base_requests = self._session.stats.requests
        self._base_retries = self._session.stats.retries
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            with anyio.CancelScope(shield=True):
                await self._flush_marks()
        finally:
            self._update_counters()
            self._close()

    def _open(self) -> None:
        self._staging.mkdir(parents=True, exist_ok=True)
        self._lock_fd = _lock_dir(self._state / _LOCK)
        # Leftovers of a run that died mid-download: the messages are still unread.
        for leftover in self._staging.iterdir():
            shutil.rmtree(leftover, ignore_errors=True)
        self._journal.load()
        self._to_mark = [m for m, s in self._journal.states.items() if s == "acked"]

    def _close(self) -> None:
        if self._lock_fd is not None:
            _unlock_dir(self._lock_fd)
            self._lock_fd = None

    def _update_counters(self) -> None:
        self.stats.requests = self._session.stats.requests - self._base_requests
        self.stats.retried = self._session.stats.retries - self._base_retries

    # -- the two ways to consume -----------------------------------------------------

    def __aiter__(self) -> AsyncIterator[Delivered]:
        return self._iterate()

    async def run(self, handler: Callable[[Delivered], Awaitable[object]]) -> ConsumerStats:
        """Hand each message to ``handler``; mark it read only if the handler returns.

        A handler that raises is logged and the message is left unread and journaled, so
        the next run hands it over again from disk without downloading it.
        """
        async for delivered in self._deliveries():
            try:
                await handler(delivered)
            except Exception as exc:
                self._skip(delivered.as2_message_id, f"handler failed: {exc!r}")
                continue
            await self._ack(delivered)
        await self._flush_marks()
        self._update_counters()
        return self.stats

    async def _iterate(self) -> AsyncIterator[Delivered]:
        async for delivered in self._deliveries():
            yield delivered
            # The loop asked for the next message: it is done with this one.
            await self._ack(delivered)
        await self._flush_marks()
        self._update_counters()

    # -- producing deliveries --------------------------------------------------------

    async def _deliveries(self) -> AsyncIterator[Delivered]:
        for delivered in self._pending_from_journal():
            yield delivered
        while True:
            found_new = False
            async for wave in self._pass():
                for delivered in wave:
                    found_new = True
                    yield delivered
            await self._flush_marks()
            if self.follow:
                self._update_counters()
                await anyio.sleep(self.poll_interval)
                self.skipped.clear()  # give failed messages another chance each poll
            elif not found_new:
                return

    def _pending_from_journal(self) -> list[Delivered]:
        """Messages stored by an earlier run that your code did not finish with."""
        pending = []
        for mid, state in self._journal.states.items():
            if state != "stored":
                continue
            delivered = self._from_disk(self._journal.records[mid], redelivered=True)
            if delivered is not None:
                pending.append(delivered)
        return pending

    def _from_disk(self, record: dict[str, Any], *, redelivered: bool) -> Delivered | None:
        directory = self.dest_dir / record["dir"]
        if not directory.is_dir():
            return None
        message = structure(record["message"], AS2Message)
        found = [
            DownloadedFile(path=p, name=p.name, size=p.stat().st_size)
            for p in sorted(directory.iterdir())
            if p.is_file()
        ]
        self._handed.add(message.as2_message_id)
        if redelivered:
            self.stats.redelivered += 1
        return Delivered(
            message=message, directory=directory, files=tuple(found), redelivered=redelivered
        )

    async def _pass(self) -> AsyncIterator[list[Delivered]]:
        """One listing of the unread messages, downloaded in waves of batches."""
        todo: list[AS2Message] = []
        adopted: list[Delivered] = []
        seen: set[str] = set()
        async for message in self._session.received.iter(
            unread_only=True, page_length=100, **self._filters
        ):
            mid = message.as2_message_id
            if mid in seen or mid in self.skipped:
                continue
            seen.add(mid)
            state = self._journal.states.get(mid)
            if state in ("acked", "marked"):
                # Journaled and done, but still unread on the gateway: mark it, nothing else.
                if mid not in self._to_mark:
                    self._to_mark.append(mid)
                continue
            if state == "stored" or mid in self._handed:
                continue  # handed over in this run, waiting for your code to finish
            final = self.dest_dir / files.safe_message_dirname(mid)
            if final.is_dir():
                # Renamed into place by a run that died before journaling it.
                adopted.append(await self._journal_stored(message, final, adopted=True))
                continue
            todo.append(message)
            self._sizes[mid] = sum(a.size or 0 for a in message.attachments)
        if adopted:
            yield adopted
        chunks = _plan_chunks(todo, self._sizes)
        for start in range(0, len(chunks), self.concurrency):
            wave = chunks[start : start + self.concurrency]
            results: list[list[Delivered]] = [[] for _ in wave]
            async with anyio.create_task_group() as tg:
                for i, chunk in enumerate(wave):
                    tg.start_soon(self._fetch_chunk, chunk, results[i])
            delivered = [d for chunk_result in results for d in chunk_result]
            if delivered:
                yield delivered

    async def _fetch_chunk(self, chunk: list[AS2Message], out: list[Delivered]) -> None:
        staging = self._staging / f"{time.time_ns():x}-{id(chunk):x}"
        staging.mkdir(parents=True)
        try:
            ids = [m.as2_message_id for m in chunk]
            try:
                result = await self._session.received.batch_download(ids, staging)
            except AS2GatewayError as exc:
                if len(chunk) == 1:
                    self._skip(ids[0], str(exc))
                    return
                # One bad message must not hold back the rest: try them one by one.
                logger.warning("batch of %d failed (%s); fetching one by one", len(chunk), exc)
                for message in chunk:
                    await self._fetch_chunk([message], out)
                return
            for mid, error in result.errors.items():
                self._skip(mid, error)
            for message in chunk:
                mid = message.as2_message_id
                if mid in result.errors:
                    continue
                try:
                    out.append(await self._store(message, staging, result.files.get(mid, [])))
                except (AS2GatewayError, OSError) as exc:
                    self._skip(mid, str(exc))
        finally:
            await anyio.to_thread.run_sync(lambda: shutil.rmtree(staging, ignore_errors=True))

    async def _store(
        self, message: AS2Message, staging: Path, fetched: Sequence[DownloadedFile]
    ) -> Delivered:
        mid = message.as2_message_id
        dirname = files.safe_message_dirname(mid)
        source = staging / dirname
        source.mkdir(exist_ok=True)
        _verify(message, fetched)
        if self.include_mdn:
            await self._session.received.download_mdn(mid, source)
        final = self.dest_dir / dirname
        await anyio.to_thread.run_sync(files.publish_directory, source, final)
        self.stats.bytes += sum(f.size for f in fetched)
        return await self._journal_stored(message, final, adopted=False)

    async def _journal_stored(
        self, message: AS2Message, final: Path, *, adopted: bool
    ) -> Delivered:
        record = {
            "id": message.as2_message_id,
            "state": "stored",
            "dir": final.name,
            "message": unstructure(message),
            "time": time.time(),
        }
        await self._journal.append([record])
        delivered = self._from_disk(record, redelivered=adopted)
        if delivered is None:  # pragma: no cover - we just put it there
            raise IntegrityError(f"{final} vanished after it was stored")
        logger.info(
            "stored %s: %d file(s) in %s",
            message.as2_message_id,
            len(delivered.files),
            final,
        )
        if self._progress is not None:
            self._progress(delivered)
        return delivered

    # -- acknowledging and marking read ----------------------------------------------

    async def _ack(self, delivered: Delivered) -> None:
        mid = delivered.as2_message_id
        await self._journal.append([{"id": mid, "state": "acked", "time": time.time()}])
        self.stats.delivered += 1
        self._to_mark.append(mid)
        if len(self._to_mark) >= _BATCH_IDS:
            await self._flush_marks()

    async def _flush_marks(self) -> None:
        while self._to_mark:
            ids, self._to_mark = self._to_mark[:_BATCH_IDS], self._to_mark[_BATCH_IDS:]
            try:
                marked = await self._session.received.mark_read(ids)
            except AS2GatewayError as exc:
                # Journaled as acked: the next run marks them without downloading again.
                logger.warning("could not mark %d message(s) read: %s", len(ids), exc)
                return
            await self._journal.append(
                [{"id": mid, "state": "marked", "time": time.time()} for mid in marked]
            )
            self.stats.marked_read += len(marked)
            for mid in ids:
                if mid not in marked:
                    logger.warning("%s was not marked read; the next run will retry", mid)

    def _skip(self, mid: str, reason: str) -> None:
        if mid not in self.skipped:
            self.stats.skipped += 1
        self.skipped[mid] = reason
        logger.warning("skipped %s for this pass: %s", mid, reason)


def _plan_chunks(messages: Iterable[AS2Message], sizes: dict[str, int]) -> list[list[AS2Message]]:
    """Group messages into batch requests of at most 100 ids and about 8 MB."""
    chunks: list[list[AS2Message]] = []
    current: list[AS2Message] = []
    current_bytes = 0
    for message in messages:
        size = sizes.get(message.as2_message_id, 0)
        if current and (len(current) == _BATCH_IDS or current_bytes + size > _BATCH_BYTES):
            chunks.append(current)
            current, current_bytes = [], 0
        current.append(message)
        current_bytes += size
    if current:
        chunks.append(current)
    return chunks


def _verify(message: AS2Message, fetched: Sequence[DownloadedFile]) -> None:
    """The files on disk match what the listing said the message holds."""
    if not message.attachments:
        return
    if len(fetched) != len(message.attachments):
        raise IntegrityError(
            f"{message.as2_message_id}: expected {len(message.attachments)} attachment(s), "
            f"got {len(fetched)}"
        )
    expected = sorted(a.size for a in message.attachments if a.size is not None)
    got = sorted(f.size for f in fetched)
    if len(expected) == len(got) and expected != got:
        raise IntegrityError(
            f"{message.as2_message_id}: attachment sizes {got} differ from the listing's {expected}"
        )


def _lock_dir(path: Path) -> int | None:
    """Hold an exclusive lock so two consumers never share one ``dest_dir``."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows: no advisory locks, no check
        return fd
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        os.close(fd)
        raise RuntimeError(f"another InboxConsumer is already using {path.parent.parent}") from None
    return fd


def _unlock_dir(fd: int) -> None:
    with contextlib.suppress(OSError):
        os.close(fd)  # closing the descriptor releases the flock
