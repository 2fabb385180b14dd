"""InboxConsumer: every received message on disk exactly once, through faults and crashes.

The order of effects for each message is fixed, and a durable journal records the steps:

1. its files are downloaded into a staging directory (temp file, size and zip CRC checked,
   fsync, atomic rename per file) and checked against what the listing announced;
2. the staging directory is renamed, in one step, to ``dest_dir/<safe-message-id>/``;
3. a ``stored`` record is journaled (fsynced);
4. the message is handed to your code (the ``async for`` body, or the ``run`` handler);
5. when your code is done with it, an ``acked`` record is journaled;
6. only then is it acknowledged on the gateway (v1: marked read), and ``marked`` journaled.

A crash between any two steps is finished by the next run in the same ``dest_dir``: staging
leftovers are deleted (the message is still waiting, so it is fetched again into the same
place); a directory found in place but not journaled is adopted only if its files match the
message (names and sizes), else moved aside to ``.as2gw/rejected/`` (never deleted) and the
message fetched again; a message journaled ``stored`` is handed to your code again from disk,
without downloading; one journaled ``acked`` is acknowledged without downloading or handing
it over again. So each file lands on disk exactly once and your code sees each message at
least once across crashes (exactly once when there is none); nothing is acknowledged before
your code is done with it.

The consumer talks to a gateway only through a `Mailbox` (``mailbox.py``) and keeps its
states in a `Journal` (``journal/``), so it works the same for every gateway and backend.
Fetches run ``concurrency`` at a time while the listing goes on, and each message is handed
over as soon as it is stored: a large message (fetched on its own) never holds back others.
Acknowledgements wait until the listing has been read to its end: acknowledging takes
messages out of the waiting listing, and doing it while the listing is being paged would
shift every later page (costing the pager extra requests, under the gateway's rate limit).
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
import shutil
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any

import anyio
import anyio.abc
import anyio.to_thread
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream
from attrs import Factory, define, field, frozen

from . import files
from .errors import AS2GatewayError, IntegrityError
from .files import DEFAULT_MAX_TOTAL_SIZE
from .journal import ACKED, MARKED, STORED, FileJournal, Journal, JournalRecord, JournalScope
from .mailbox import FetchSizes, Mailbox, SupportsMailbox, WaitingItem, staging_path
from .models import DownloadedFile, PartnerType

__all__ = ["ConsumerStats", "Delivered", "InboxConsumer"]

logger = logging.getLogger("as2gw_async.inbox")

_STATE_DIR = ".as2gw"
_JOURNAL = "journal.jsonl"
_STAGING = "staging"
_REJECTED = "rejected"
_LOCK = "lock"
#: Ids looked up in the journal at a time while the listing goes on.
_GROUP = 100
#: Acknowledgements sent at a time.
_ACK_IDS = 100


def _message_id_of(delivered: Delivered) -> str:
    message = delivered.message
    for name in ("message_id", "as2_message_id"):
        value = getattr(message, name, None)
        if isinstance(value, str):
            return value
    raise TypeError("Delivered needs message_id= when its message has no id attribute")


@frozen(kw_only=True)
class Delivered:
    """A received message whose files are complete on disk in ``directory``.

    ``message`` is the gateway's own message object (v1: `AS2Message`); ``message_id`` its
    id on any gateway. ``redelivered`` is True when it was stored by an earlier run that
    stopped before your code was done with it.
    """

    message: Any
    directory: Path
    files: tuple[DownloadedFile, ...]
    redelivered: bool = False
    message_id: str = field(default=Factory(_message_id_of, takes_self=True))

    @property
    def as2_message_id(self) -> str:
        """The AS2 message id (the same as ``message_id``)."""
        return self.message_id


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


@frozen
class _Failed:
    """A pass that could not go on (e.g. the listing failed): raised in the reader's task."""

    error: BaseException


class InboxConsumer:
    """Drain the inbox into ``dest_dir``: each waiting message on disk once, then marked read.

    >>> async with InboxConsumer(session, "inbox/") as consumer:  # doctest: +SKIP
    ...     async for delivered in consumer:
    ...         process(delivered.directory)

    ``session_or_mailbox`` is a session (its ``mailbox()`` is used) or a `Mailbox`.
    Iterating yields a `Delivered` once its files are on disk; the message is marked read
    when the loop asks for the next one (or the loop ends), so a crash inside your loop body
    hands it to you again on the next run. ``await consumer.run(handler)`` does the same
    with a callback and marks a message read only after ``handler`` returns without error.

    ``follow=True`` keeps polling every ``poll_interval`` seconds until cancelled; otherwise
    the consumer stops once a listing shows nothing new. A message that keeps failing after
    the session's retries is logged, counted and listed in ``skipped``, and left unread.
    A message larger than ``max_total_size`` bytes (by the listing, or once extracted) is
    skipped with that reason and not fetched again in this run. ``journal`` is where states
    are kept (default: a `FileJournal` in ``dest_dir/.as2gw/``). ``partner_as2_id``,
    ``station_as2_id``, ``partner_type`` and ``include_mdn`` are AS2 Gateway v1 options,
    passed on to ``session.mailbox()``.
    """

    def __init__(
        self,
        session_or_mailbox: SupportsMailbox | Mailbox,
        dest_dir: str | os.PathLike[str],
        *,
        concurrency: int = 8,
        partner_as2_id: str | None = None,
        station_as2_id: str | None = None,
        partner_type: PartnerType | str | None = None,
        poll_interval: float = 30.0,
        follow: bool = False,
        include_mdn: bool = False,
        progress: Callable[[Delivered], None] | None = None,
        max_total_size: int = DEFAULT_MAX_TOTAL_SIZE,
        journal: Journal | None = None,
    ) -> None:
        if concurrency < 1:
            raise ValueError("concurrency must be at least 1")
        if isinstance(max_total_size, bool) or not isinstance(max_total_size, int):
            raise TypeError(f"max_total_size must be an int, not {max_total_size!r}")
        if max_total_size < 1:
            raise ValueError(f"max_total_size must be a positive number of bytes: {max_total_size}")
        options: dict[str, Any] = {
            k: v
            for k, v in {
                "partner_as2_id": partner_as2_id,
                "station_as2_id": station_as2_id,
                "partner_type": partner_type,
            }.items()
            if v is not None
        }
        if include_mdn:
            options["include_mdn"] = True
        self._mailbox = _mailbox_of(session_or_mailbox, options)
        self.dest_dir = Path(dest_dir)
        self.concurrency = concurrency
        self.poll_interval = poll_interval
        self.follow = follow
        self.include_mdn = include_mdn
        self.max_total_size = max_total_size
        self._progress = progress
        self.stats = ConsumerStats()
        #: Messages given up on in this run, with the last error.
        self.skipped: dict[str, str] = {}
        self._refused: dict[str, str] = {}  # over max_total_size: not retried in this run
        self._state = self.dest_dir / _STATE_DIR
        self._staging = self._state / _STAGING
        self._journal: Journal = (
            journal if journal is not None else FileJournal(self._state / _JOURNAL)
        )
        self._lock_fd: int | None = None
        self._tasks: anyio.abc.TaskGroup | None = None
        self._recovered: tuple[JournalRecord, ...] = ()
        self._to_mark: list[str] = []
        self._listing = False  # a pass is reading the waiting listing: hold acknowledgements
        self._handed: set[str] = set()
        self._base = self._mailbox.usage()

    @property
    def mailbox(self) -> Mailbox:
        """The mailbox this consumer drains."""
        return self._mailbox

    # -- lifecycle -------------------------------------------------------------------

    async def __aenter__(self) -> InboxConsumer:
        await anyio.to_thread.run_sync(self._open_dir)
        try:
            recovery = await self._journal.open(
                JournalScope(
                    gateway=self._mailbox.gateway,
                    account=self._mailbox.account,
                    dest_dir=self.dest_dir,
                )
            )
        except BaseException:
            self._close_dir()
            raise
        self._recovered = recovery.stored
        self._to_mark = list(recovery.acked)
        self._base = self._mailbox.usage()
        # Fetches run in this task group, beside your loop, until the consumer is closed.
        self._tasks = anyio.create_task_group()
        await self._tasks.__aenter__()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            if self._tasks is not None:
                tasks, self._tasks = self._tasks, None
                tasks.cancel_scope.cancel()  # fetches still running: their messages stay unread
                # Not given the exception: the task group would wrap yours in a group.
                await tasks.__aexit__(None, None, None)
        finally:
            try:
                with anyio.CancelScope(shield=True):
                    await self._flush_marks()
            finally:
                self._update_counters()
                with anyio.CancelScope(shield=True):
                    await self._journal.close()
                self._close_dir()

    def _open_dir(self) -> None:
        self._staging.mkdir(parents=True, exist_ok=True)
        self._lock_fd = _lock_dir(self._state / _LOCK)
        # Leftovers of a run that died mid-download: the messages are still unread.
        for leftover in self._staging.iterdir():
            shutil.rmtree(leftover, ignore_errors=True)

    def _close_dir(self) -> None:
        if self._lock_fd is not None:
            _unlock_dir(self._lock_fd)
            self._lock_fd = None

    def _update_counters(self) -> None:
        usage = self._mailbox.usage()
        self.stats.requests = usage.requests - self._base.requests
        self.stats.retried = usage.retries - self._base.retries

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
                self._skip(delivered.message_id, f"handler failed: {exc!r}")
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
        if self._tasks is None:
            raise RuntimeError("use InboxConsumer as `async with InboxConsumer(...) as c:`")
        for record in self._recovered:
            delivered = await self._from_disk(record, redelivered=True)
            if delivered is not None:
                yield delivered
        self._recovered = ()
        while True:
            found_new = False
            # No task group or cancel scope in this generator: it may be left suspended
            # (a `break` in your loop) and closed later; the fetches run in self._tasks.
            send, receive = anyio.create_memory_object_stream[Delivered | _Failed](0)
            self._tasks.start_soon(self._run_pass, send)
            try:
                async for item in receive:
                    if isinstance(item, _Failed):
                        raise item.error
                    found_new = True
                    yield item
            finally:
                receive.close()
            await self._flush_marks()
            if self.follow:
                self._update_counters()
                await anyio.sleep(self.poll_interval)
                # give failed messages another chance each poll; not those over the limit
                self.skipped = dict(self._refused)
            elif not found_new:
                return

    async def _from_disk(self, record: JournalRecord, *, redelivered: bool) -> Delivered | None:
        if record.directory is None or record.metadata is None:
            return None
        directory = self.dest_dir / record.directory
        found = await anyio.to_thread.run_sync(_files_in, directory)
        if found is None:
            return None  # gone: not handed over; the listing fetches it again
        self._handed.add(record.message_id)
        if redelivered:
            self.stats.redelivered += 1
        return Delivered(
            message=self._mailbox.restore(record.metadata),
            directory=directory,
            files=found,
            redelivered=redelivered,
            message_id=record.message_id,
        )

    async def _run_pass(self, out: MemoryObjectSendStream[Delivered | _Failed]) -> None:
        """One listing, fetched as it goes; each stored message sent to ``out`` at once."""
        async with out:
            try:
                await self._pass(out)
            except anyio.get_cancelled_exc_class():
                raise
            except Exception as exc:
                with contextlib.suppress(anyio.BrokenResourceError, anyio.ClosedResourceError):
                    await out.send(_Failed(_unwrap(exc)))

    async def _pass(self, out: MemoryObjectSendStream[Delivered | _Failed]) -> None:
        send_chunk, receive_chunk = anyio.create_memory_object_stream[list[WaitingItem]](0)
        failure: BaseException | None = None
        async with anyio.create_task_group() as tg:
            async with receive_chunk:
                for _ in range(self.concurrency):
                    tg.start_soon(self._worker, receive_chunk.clone(), out.clone())
            async with send_chunk:
                planner = _Planner(self._mailbox.sizes)
                group: list[WaitingItem] = []
                seen: set[str] = set()
                self._listing = True
                try:
                    async for item in self._mailbox.waiting():
                        if item.id in seen or item.id in self.skipped:
                            continue
                        seen.add(item.id)
                        group.append(item)
                        if len(group) >= _GROUP:
                            full, group = group, []
                            await self._dispatch(full, planner, send_chunk, out)
                except Exception as exc:  # e.g. the listing gave up: finish what we have
                    failure = exc
                finally:
                    self._listing = False
                await self._dispatch(group, planner, send_chunk, out)
                for chunk in planner.flush():
                    await send_chunk.send(chunk)
        if failure is not None:
            raise failure

    async def _dispatch(
        self,
        group: list[WaitingItem],
        planner: _Planner,
        chunks: MemoryObjectSendStream[list[WaitingItem]],
        out: MemoryObjectSendStream[Delivered | _Failed],
    ) -> None:
        """Sort a group of listed messages: acknowledge, skip, adopt, refuse or fetch."""
        if not group:
            return
        states = await self._journal.states([i.id for i in group])
        candidates = []
        for item in group:
            state = states.get(item.id)
            if state in (ACKED, MARKED):
                # Journaled and done, but still waiting on the gateway: acknowledge it only.
                if item.id not in self._to_mark:
                    self._to_mark.append(item.id)
            elif item.id not in self._handed:  # else: handed over in this run, not done yet
                candidates.append(item)
        for item in candidates:
            size = item.size
            if size is not None and size > self.max_total_size:
                await self._refuse(item.id, size)
                continue
            final = self.dest_dir / files.safe_message_dirname(item.id)
            if await anyio.to_thread.run_sync(final.is_dir):
                if not await self._journal.claim([item.id]):
                    continue  # another consumer has it
                adopted = await self._adopt(item, final)
                if adopted is not None:
                    await out.send(adopted)
                    continue
            for chunk in planner.add(item):
                await chunks.send(chunk)

    async def _adopt(self, item: WaitingItem, final: Path) -> Delivered | None:
        """A directory in place that the journal does not know: a run died before journaling
        it, or it is someone else's. Keep it only if it holds the message's files."""
        problem = await anyio.to_thread.run_sync(_check_directory, item, final)
        if problem is None:
            return await self._journal_stored(item, final, adopted=True)
        aside = self._state / _REJECTED / f"{final.name}.{time.time_ns():x}"
        await anyio.to_thread.run_sync(_move_aside, final, aside)
        logger.warning(
            "%s was in place but %s: moved it to %s and fetching the message again",
            final,
            problem,
            aside,
        )
        return None

    async def _worker(
        self,
        chunks: MemoryObjectReceiveStream[list[WaitingItem]],
        out: MemoryObjectSendStream[Delivered | _Failed],
    ) -> None:
        async with chunks, out:
            async for chunk in chunks:
                await self._fetch_chunk(chunk, out)

    async def _fetch_chunk(
        self, chunk: list[WaitingItem], out: MemoryObjectSendStream[Delivered | _Failed]
    ) -> None:
        # Claimed now, not when listed: consumers sharing a journal split the work as they
        # fetch, and a message finished meanwhile by another one is not fetched again.
        granted = set(await self._journal.claim([i.id for i in chunk]))
        chunk = [i for i in chunk if i.id in granted]
        if not chunk:
            return
        staging = self._staging / f"{time.time_ns():x}-{id(chunk):x}"
        await anyio.to_thread.run_sync(staging.mkdir)
        stored: list[Delivered] = []
        try:
            try:
                result = await self._mailbox.fetch(
                    chunk, staging, max_total_size=self.max_total_size
                )
            except (AS2GatewayError, OSError) as exc:
                if len(chunk) == 1:
                    await self._skip_claimed(chunk[0].id, str(exc))
                    return
                # One bad message must not hold back the rest: try them one by one.
                logger.warning("fetch of %d failed (%s); fetching one by one", len(chunk), exc)
                for item in chunk:
                    await self._fetch_chunk([item], out)
                return
            for item in chunk:
                error = result.errors.get(item.id)
                if error is not None or item.id not in result.files:
                    await self._skip_claimed(item.id, error or "the mailbox returned nothing")
                    continue
                try:
                    stored.append(await self._store(item, staging, result.files[item.id]))
                except (AS2GatewayError, OSError) as exc:
                    await self._skip_claimed(item.id, str(exc))
        finally:
            with anyio.CancelScope(shield=True):
                await anyio.to_thread.run_sync(lambda: shutil.rmtree(staging, ignore_errors=True))
        for delivered in stored:
            await out.send(delivered)

    async def _store(
        self, item: WaitingItem, staging: Path, fetched: Sequence[DownloadedFile]
    ) -> Delivered:
        source = staging_path(staging, item.id)
        await anyio.to_thread.run_sync(lambda: source.mkdir(exist_ok=True))
        _verify(item, fetched)
        final = self.dest_dir / source.name
        await anyio.to_thread.run_sync(files.publish_directory, source, final)
        self.stats.bytes += sum(f.size for f in fetched)
        return await self._journal_stored(item, final, adopted=False)

    async def _journal_stored(self, item: WaitingItem, final: Path, *, adopted: bool) -> Delivered:
        record = JournalRecord(
            message_id=item.id, state=STORED, directory=final.name, metadata=item.metadata
        )
        await self._journal.record([record])
        delivered = await self._from_disk(record, redelivered=adopted)
        if delivered is None:  # pragma: no cover - we just put it there
            raise IntegrityError(f"{final} vanished after it was stored")
        logger.info("stored %s: %d file(s) in %s", item.id, len(delivered.files), final)
        if self._progress is not None:
            self._progress(delivered)
        return delivered

    # -- acknowledging and marking read ----------------------------------------------

    async def _ack(self, delivered: Delivered) -> None:
        mid = delivered.message_id
        await self._journal.record([JournalRecord(message_id=mid, state=ACKED)])
        self.stats.delivered += 1
        self._to_mark.append(mid)
        if len(self._to_mark) >= _ACK_IDS and not self._listing:
            await self._flush_marks(full_batches_only=True)

    async def _flush_marks(self, *, full_batches_only: bool = False) -> None:
        """Acknowledge what is pending, ``_ACK_IDS`` at a time; with ``full_batches_only``
        a remainder smaller than that waits for more (or for the end of the pass)."""
        while len(self._to_mark) >= (_ACK_IDS if full_batches_only else 1):
            ids, self._to_mark = self._to_mark[:_ACK_IDS], self._to_mark[_ACK_IDS:]
            try:
                marked = await self._mailbox.acknowledge(ids)
            except AS2GatewayError as exc:
                # Journaled as acked: the next run marks them without downloading again.
                logger.warning("could not mark %d message(s) read: %s", len(ids), exc)
                return
            await self._journal.record(
                [JournalRecord(message_id=mid, state=MARKED) for mid in marked]
            )
            self.stats.marked_read += len(marked)
            for mid in ids:
                if mid not in marked:
                    logger.warning("%s was not marked read; the next run will retry", mid)

    async def _refuse(self, mid: str, size: int) -> None:
        reason = (
            f"{size} bytes, over max_total_size ({self.max_total_size}): not fetched; "
            "raise max_total_size (sync --max-total-size) to take it"
        )
        self._refused[mid] = reason
        await self._skip_claimed(mid, reason)

    async def _skip_claimed(self, mid: str, reason: str) -> None:
        self._skip(mid, reason)
        await self._journal.release([mid])

    def _skip(self, mid: str, reason: str) -> None:
        if mid not in self.skipped:
            self.stats.skipped += 1
        self.skipped[mid] = reason
        logger.warning("skipped %s for this pass: %s", mid, reason)


def _mailbox_of(session_or_mailbox: object, options: Mapping[str, Any]) -> Mailbox:
    """The mailbox itself, or the one its session hands out (the core imports no gateway)."""
    if isinstance(session_or_mailbox, Mailbox):
        if options:
            raise ValueError(
                f"{', '.join(options)}: options of session.mailbox(); pass them there "
                "when giving InboxConsumer a mailbox"
            )
        return session_or_mailbox
    factory = getattr(session_or_mailbox, "mailbox", None)
    if not callable(factory):
        raise TypeError(
            f"InboxConsumer needs a session with a mailbox() or a Mailbox, "
            f"not {type(session_or_mailbox).__name__}"
        )
    mailbox: Mailbox = factory(**options)
    return mailbox


class _Planner:
    """Groups listed messages into fetches, as the listing goes (see `FetchSizes`)."""

    def __init__(self, sizes: FetchSizes) -> None:
        self.sizes = sizes
        self._current: list[WaitingItem] = []
        self._bytes = 0

    def add(self, item: WaitingItem) -> list[list[WaitingItem]]:
        """Take ``item``; return the fetches that are now complete."""
        size = item.size or 0
        if self.sizes.large is not None and size >= self.sizes.large:
            return [[item]]  # on its own: it must not hold back the others
        done = []
        limit = self.sizes.max_bytes if self.sizes.max_bytes is not None else math.inf
        if self._current and (
            len(self._current) >= self.sizes.max_ids or self._bytes + size > limit
        ):
            done = self.flush()
        self._current.append(item)
        self._bytes += size
        return done

    def flush(self) -> list[list[WaitingItem]]:
        """The fetch being filled, if any."""
        done = [self._current] if self._current else []
        self._current, self._bytes = [], 0
        return done


def _verify(item: WaitingItem, fetched: Sequence[DownloadedFile]) -> None:
    """The files fetched match what the listing said the message holds."""
    if not item.files:
        return
    if len(fetched) != len(item.files):
        raise IntegrityError(
            f"{item.id}: expected {len(item.files)} attachment(s), got {len(fetched)}"
        )
    expected = sorted(f.size for f in item.files if f.size is not None)
    got = sorted(f.size for f in fetched)
    if len(expected) == len(got) and expected != got:
        raise IntegrityError(
            f"{item.id}: attachment sizes {got} differ from the listing's {expected}"
        )


def _check_directory(item: WaitingItem, directory: Path) -> str | None:
    """Why ``directory`` cannot be this message's delivery, or None if it can.

    Each announced file must be there (by its safe name, else by its size) with its size;
    more files are allowed (an MDN saved beside them). When the listing does not say what
    the message holds, at least one file must be there.
    """
    found = _files_in(directory)
    if found is None:
        return "it is not a directory"
    on_disk = {f.name: f.size for f in found}
    if any(name.endswith(".part") for name in on_disk):
        return "it holds a partly written file"
    if item.files is not None and not item.files:
        return None  # a message without files: its delivery is an empty directory
    if not on_disk:
        return "it holds no file"
    if not item.files:
        return None
    unmatched = []
    for expected in item.files:
        name = files.safe_filename(expected.name) if expected.name is not None else None
        if name in on_disk and expected.size in (None, on_disk[name]):
            del on_disk[name]
        else:
            unmatched.append(expected)
    for expected in unmatched:  # a renamed repeat ("a (2).txt"): match by size
        same = [n for n, s in on_disk.items() if expected.size in (None, s)]
        if not same:
            shown = expected.name or "a file"
            return f"{shown!r} ({expected.size} bytes) is missing or of another size"
        del on_disk[same[0]]
    return None


def _files_in(directory: Path) -> tuple[DownloadedFile, ...] | None:
    """The regular files in ``directory``, by name; None if it is not a directory."""
    if not directory.is_dir():
        return None
    return tuple(
        DownloadedFile(path=p, name=p.name, size=p.stat().st_size)
        for p in sorted(directory.iterdir())
        if p.is_file()
    )


def _move_aside(directory: Path, aside: Path) -> None:
    """Move a directory out of the way without losing what it holds."""
    aside.parent.mkdir(parents=True, exist_ok=True)
    os.rename(directory, aside)


def _unwrap(exc: BaseException) -> BaseException:
    """The one error inside (nested) exception groups, else the group itself."""
    inner = getattr(exc, "exceptions", None)  # BaseExceptionGroup (3.11+, or the backport)
    while isinstance(inner, tuple) and len(inner) == 1 and isinstance(inner[0], BaseException):
        exc = inner[0]
        inner = getattr(exc, "exceptions", None)
    return exc


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
