"""Batch download across received messages (spec 4.2.2.2): <=100 ids a request, 206 resumption.

The gateway zips the attachments of up to 100 messages as ``<message-id>/<attachment>``
(``<message-id>/.error`` when it has none to give) and stops after about 10 MB with
``206 Partial Content`` and ``X-Batch-Truncation-Index: (m,i)``, the zero-based index of the
last attachment it added (message ``m`` of the request, attachment ``i`` of that message).
`batch_download` turns any number of ids into as many requests as it takes, resumes after
each truncation without writing an attachment twice, and falls back to single-attachment
downloads for a message that cannot fit in one response.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
from collections.abc import Callable, Iterable, Sequence
from contextlib import AbstractAsyncContextManager
from pathlib import Path
from typing import TYPE_CHECKING

import anyio
import anyio.to_thread
import httpx
from attrs import define, field, frozen

from .._core.bodies import json_body
from ..archives import (
    DEFAULT_MAX_TOTAL_SIZE,
    BatchFolder,
    ExtractedMember,
    ZipGroup,
    extract_zip_groups,
    read_batch_layout,
)
from ..atomic import (
    ProgressCallback,
    scratch_directory,
)
from ..converter import structure
from ..errors import APIStatusError, IntegrityError, NotFoundError
from ..filenames import (
    ensure_directory,
    remove_created_directories,
    safe_filename,
    safe_message_dirname,
)
from ..models import AS2Message, BatchResult, DownloadedFile
from ..session import quote_id
from .downloads import FetchedArchive, fetch_archive

if TYPE_CHECKING:
    from ..session import Session

__all__ = [
    "DEFAULT_CONCURRENCY",
    "MAX_IDS_PER_REQUEST",
    "batch_download",
    "mark_read",
    "parse_truncation_index",
]

logger = logging.getLogger("as2gw_async")

#: The most message ids one batch request may carry (spec 4.2.2.2).
MAX_IDS_PER_REQUEST = 100
#: Batch requests in flight at once, by default.
DEFAULT_CONCURRENCY = 4

_BATCH_PATH = "/message/received/batch/attachments"
_TRUNCATION = re.compile(r"\A\s*\(\s*(\d{1,9})\s*,\s*(-1|\d{1,9})\s*\)\s*\Z")
# How long a failed batch may spend marking messages unread again (see _Job._unmark).
_UNMARK_DEADLINE = 30.0
_UNMARK_CONCURRENCY = 8


def parse_truncation_index(value: str | None) -> tuple[int, int]:
    """Parse ``X-Batch-Truncation-Index: (m,i)`` into ``(m, i)``; spaces are tolerated.

    ``i`` may be ``-1`` (no attachment of message ``m`` was added). Anything else that is
    not two zero-based integers in parentheses raises `IntegrityError`.

    >>> parse_truncation_index("( 1 , 2 )")
    (1, 2)
    """
    match = _TRUNCATION.match(value or "")
    if match is None:
        shown = "missing" if value is None else repr(value)
        raise IntegrityError(
            f"206 Partial Content with a malformed X-Batch-Truncation-Index header ({shown}); "
            "expected '(message,attachment)', e.g. '(1,2)'"
        )
    return int(match.group(1)), int(match.group(2))


async def batch_download(
    session: Session,
    ids: Iterable[str],
    dest_dir: str | os.PathLike[str],
    *,
    mark_as_read: bool = False,
    concurrency: int = DEFAULT_CONCURRENCY,
    overwrite: bool = False,
    max_total_size: int = DEFAULT_MAX_TOTAL_SIZE,
    progress: ProgressCallback | None = None,
) -> BatchResult:
    """Download the attachments of many received messages into ``dest_dir/<message-id>/``.

    Each message's files go to ``dest_dir / safe_message_dirname(id)``; a message the
    gateway cannot serve (a ``.error`` entry) lands in ``BatchResult.errors`` instead.
    Duplicate ids are fetched once. Ids are sent at most `MAX_IDS_PER_REQUEST` a request,
    ``concurrency`` requests at a time. Every id ends up in ``files`` (possibly with an
    empty list: a message without attachments) or in ``errors``. An id the archive leaves
    out (no folder, no ``.error``) is looked up: a message with no attachment is a success
    with no files, one with attachments is an error (marked unread again if
    ``mark_as_read`` may have marked it), and so is one the gateway does not know.

    Truncation (206 at ``(m,i)``): messages before ``m`` are complete; the attachments
    ``0..i`` of message ``m`` are written, and the next request starts at ``m``. The
    gateway sends ``m``'s first attachments again; they are checked against the names
    already written and skipped. A message that opened its request and still did not fit
    (206 at ``(0,i)``) would only come back the same: the rest of it is fetched one
    attachment at a time instead. The attachment count of ``m`` comes from
    ``GET /message/received/<id>`` (one call per truncated message), so a message whose
    last attachment was the last one added counts as complete without being fetched again.

    ``mark_as_read`` sends ``markAsRead=true``: the gateway marks the messages it archived
    completely. A message completed by the client (after a truncation, or one attachment at
    a time) is marked only once all its files are on disk. If the download fails (or is
    cancelled) after the gateway may have marked messages whose files are not all written,
    those are marked unread again, best effort, so that no message is left read without
    its files.

    A failure (or a cancellation) leaves no empty or partial message directory behind: the
    files and directories written for a message not yet complete are removed again, and so
    is ``dest_dir`` if this call made it and it is empty. Complete messages stay.

    Existing files are not overwritten unless ``overwrite``: `FileExistsError` stops the
    batch (complete messages stay). A ``dest_dir`` that is a file raises
    `NotADirectoryDestinationError`. ``max_total_size`` caps the uncompressed bytes
    extracted from one archive (zip bombs). ``progress(bytes_received, None)`` reports the
    bytes received so far over all requests. `BatchResult.requests` counts the calls made
    (a session-level retry of one call is not counted again).

    >>> r = await s.received.batch_download(ids, "inbox/", mark_as_read=True)  # doctest: +SKIP
    >>> r.files[ids[0]][0].path, r.errors, r.requests  # doctest: +SKIP
    (PosixPath('inbox/1.2@as2gateway.com/invoice.xml'), {}, 3)
    """
    if isinstance(ids, (str, bytes)):
        raise TypeError("ids must be an iterable of message ids, not a single string")
    unique = list(dict.fromkeys(ids))
    for message_id in unique:
        if not isinstance(message_id, str) or not message_id:
            raise ValueError(f"a message id is a non-empty string, not {message_id!r}")
    if isinstance(concurrency, bool) or not isinstance(concurrency, int) or concurrency < 1:
        raise ValueError(f"concurrency must be a positive integer, not {concurrency!r}")
    job = _Job(
        session,
        Path(dest_dir),
        mark_as_read=mark_as_read,
        overwrite=overwrite,
        max_total_size=max_total_size,
        progress=progress,
    )
    if unique:
        await anyio.to_thread.run_sync(ensure_directory, job.dest, job.created)
        try:
            await job.run(unique, concurrency)
        except BaseException:
            job.roll_back()
            raise
    return BatchResult(
        files={i: job.files[i] for i in unique if i in job.files},
        errors={i: job.errors[i] for i in unique if i in job.errors},
        requests=job.requests,
    )


async def mark_read(
    session: Session, ids: Iterable[str], *, scratch_dir: str | os.PathLike[str] | None = None
) -> list[str]:
    """Mark received messages read, up to 100 a request; return the ids marked.

    Each request is a batch download with ``markAsRead=true`` whose archive is only checked
    for ``.error`` entries and thrown away: one call marks 100 messages where
    ``get(..., mark_as_read=True)`` takes 100, at the price of fetching their attachments
    once more. That is the right trade under the gateway's 50 requests per 10 s. A message
    too large to fit in one archive is marked with a GET of its own. Ids the gateway does
    not know are left out of the result; one the archive has nothing of (no attachment, or
    left out) is marked with a GET of its own. ``scratch_dir`` holds the archive while it is
    checked, in a private (0600) file; by default the user's scratch directory (see
    `scratch_directory`: never the shared system temporary directory). Archives a crashed
    run left there are removed by the next one.
    """
    if isinstance(ids, (str, bytes)):
        raise TypeError("ids must be an iterable of message ids, not a single string")
    unique = list(dict.fromkeys(ids))
    scratch = await anyio.to_thread.run_sync(scratch_directory, scratch_dir)
    marked: list[str] = []
    for start in range(0, len(unique), MAX_IDS_PER_REQUEST):
        pending = unique[start : start + MAX_IDS_PER_REQUEST]
        while pending:
            async with fetch_archive(
                session,
                "POST",
                _BATCH_PATH,
                scratch / "mark-read.zip",
                params={"markAsRead": "true"},
                json=pending,
            ) as archive:
                truncation = _Job._truncation(archive, pending)
                layout = await read_batch_layout(archive.path, message_ids=pending)
            complete = len(pending) if truncation is None else truncation[0]
            for message_id in pending[:complete]:
                folder = layout.get(message_id)
                if folder is not None and folder.error is not None:
                    continue  # unknown, or nothing to give: not marked
                if folder is None or not folder.attachments:
                    # No folder, no .error: a message without attachments, or one the
                    # gateway left out (and may not have marked). Make sure of it.
                    if await _mark_one(session, message_id):
                        marked.append(message_id)
                    continue
                marked.append(message_id)
            if truncation is None:
                break
            if complete == 0:  # the first message alone overflows an archive
                if await _mark_one(session, pending[0]):
                    marked.append(pending[0])
                complete = 1
            pending = pending[complete:]
    return marked


async def _mark_one(session: Session, message_id: str) -> bool:
    """Mark one received message read with a GET; False if the gateway does not know it."""
    try:
        await session.request("GET", _message_path(message_id), params={"markAsRead": "true"})
    except NotFoundError:
        return False
    return True


@frozen
class _Partial:
    """Message ``ids[0]`` of the next request: the member names of it already on disk."""

    message_id: str
    names: tuple[str, ...]


@define
class _Written:
    """What the job wrote for a message that is not complete yet, to remove if it never is."""

    directories: list[Path] = field(factory=list)
    files: list[Path] = field(factory=list)


@define
class _Job:
    session: Session
    dest: Path
    mark_as_read: bool
    overwrite: bool
    max_total_size: int
    progress: ProgressCallback | None
    files: dict[str, list[DownloadedFile]] = field(factory=dict)
    errors: dict[str, str] = field(factory=dict)
    requests: int = 0
    received: int = 0
    error: BaseException | None = None
    counts: dict[str, int] = field(factory=dict)
    #: messages with files or directories on disk but not all their files yet
    incomplete: dict[str, _Written] = field(factory=dict)
    #: the directories made for ``dest`` itself
    created: list[Path] = field(factory=list)

    async def run(self, ids: list[str], concurrency: int) -> None:
        limiter = anyio.CapacityLimiter(concurrency)
        async with anyio.create_task_group() as tg:
            for start in range(0, len(ids), MAX_IDS_PER_REQUEST):
                chunk = ids[start : start + MAX_IDS_PER_REQUEST]
                tg.start_soon(self._run_chunk, chunk, limiter, tg.cancel_scope)
        if self.error is not None:
            raise self.error

    async def _run_chunk(
        self, ids: list[str], limiter: anyio.CapacityLimiter, scope: anyio.CancelScope
    ) -> None:
        try:
            async with limiter:
                pending: list[str] = ids
                partial: _Partial | None = None
                while pending:
                    pending, partial = await self._step(pending, partial)
        except Exception as exc:  # the first failure stops the whole batch, unwrapped
            if self.error is None:
                self.error = exc
            scope.cancel()

    # -- one request -------------------------------------------------------------------

    async def _step(
        self, ids: list[str], partial: _Partial | None
    ) -> tuple[list[str], _Partial | None]:
        """Make one batch request for ``ids``; return the ids still to fetch and ``_Partial``."""
        # Ids the gateway may have marked read and whose files are not all on disk yet.
        at_risk: dict[str, None] = dict.fromkeys(ids) if self.mark_as_read else {}
        answered = False  # the gateway answered 2xx at least once: it processed the request

        def on_response(_response: httpx.Response) -> None:
            nonlocal answered
            answered = True

        try:
            async with self._fetch(ids, on_response) as archive:
                truncation = self._truncation(archive, ids)
                layout = await read_batch_layout(archive.path, message_ids=ids)
                complete = len(ids) if truncation is None else truncation[0]
                got: tuple[str, ...] = ()  # the members of message m (= complete) it holds
                if truncation is not None:
                    got = _truncated_members(layout, ids, *truncation)
                    # The answer makes sense: the gateway marked none after message m.
                    at_risk = {i: None for i in ids[: complete + 1] if i in at_risk}
                # Every message's members come out of the archive in one pass (opened once);
                # each message is still all-or-nothing, in request order.
                work: list[tuple[str, list[str]]] = []
                omitted: list[str] = []  # no folder, no .error: looked up below
                for position, message_id in enumerate(ids[:complete]):
                    resumed = partial if position == 0 else None
                    folder = layout.get(message_id)
                    self._take_complete(message_id, folder, resumed, work, omitted)
                names: tuple[str, ...] = ()
                if truncation is not None:
                    message_id = ids[complete]
                    before = partial.names if (complete == 0 and partial is not None) else ()
                    names = self._take_members(message_id, got, before, work)
                await self._extract(archive, work, ids[:complete], at_risk, omitted)
            await self._check_omitted(omitted, at_risk)
            if truncation is None:
                return [], None
            m = complete
            # The archive is gone; finish message m with calls of our own.
            if m > 0 and not names:
                return ids[m:], None  # nothing of it yet: it opens the next request
            count = await self._attachment_count(message_id)
            if len(names) >= count:
                logger.debug("batch: %s completed by a truncated response", message_id)
                self.incomplete.pop(message_id, None)
                if self.mark_as_read:
                    await self._mark_read(message_id)
                return ids[m + 1 :], None
            if m == 0:
                # The request opened with this message and still could not hold all of it:
                # asking again would bring back the same attachments. Fetch the rest singly.
                logger.info(
                    "batch: %s does not fit in one response; fetching attachments %d..%d singly",
                    message_id,
                    len(names),
                    count - 1,
                )
                await self._fallback(message_id, len(names), count)
                return ids[1:], None
            return ids[m:], _Partial(message_id, names)
        except BaseException as exc:
            # A 4xx refusal (no retries, so no earlier attempt either) marked nothing.
            refused = isinstance(exc, APIStatusError) and exc.status_code < 500
            if at_risk and (answered or not refused):
                await self._unmark(list(at_risk))
            raise

    def _fetch(
        self, ids: list[str], on_response: Callable[[httpx.Response], None]
    ) -> AbstractAsyncContextManager[FetchedArchive]:
        self.requests += 1
        return fetch_archive(
            self.session,
            "POST",
            _BATCH_PATH,
            self.dest / "batch.zip",
            params={"markAsRead": "true"} if self.mark_as_read else None,
            json=ids,
            progress=self._progress_for_body(),
            max_total_size=self.max_total_size,
            on_response=on_response,
        )

    @staticmethod
    def _truncation(archive: FetchedArchive, ids: Sequence[str]) -> tuple[int, int] | None:
        if archive.status_code == 200:
            return None
        if archive.status_code != 206:
            raise IntegrityError(
                f"batch download answered {archive.status_code}; expected 200 or 206"
            )
        m, i = parse_truncation_index(archive.headers.get("x-batch-truncation-index"))
        if m >= len(ids):
            raise IntegrityError(
                f"X-Batch-Truncation-Index ({m},{i}) names message {m}, but the request "
                f"had {len(ids)}"
            )
        return m, i

    # -- writing files -----------------------------------------------------------------

    def _take_complete(
        self,
        message_id: str,
        folder: BatchFolder | None,
        partial: _Partial | None,
        work: list[tuple[str, list[str]]],
        omitted: list[str],
    ) -> None:
        """Record a message the response holds completely: its error, its members to
        extract (added to ``work``), or, when the archive has nothing of it, ``omitted``."""
        if folder is not None and folder.error is not None:
            self.errors[message_id] = folder.error or "the gateway reported an error"
            self.files.pop(message_id, None)
            self._discard(message_id)
            return
        members = folder.attachments if folder is not None else ()
        if not members:
            # Without a .error the archive says nothing: a message with no attachment, or
            # one the gateway left out (after a truncation, with the files we have of it).
            omitted.append(message_id)
            return
        before = partial.names if partial is not None else ()
        self._take_members(message_id, members, before, work)

    def _take_members(
        self,
        message_id: str,
        members: Sequence[str],
        before: tuple[str, ...],
        work: list[tuple[str, list[str]]],
    ) -> tuple[str, ...]:
        """Plan the extraction of ``members`` of a message, skipping those already on disk.

        The gateway sends a resumed message from its first attachment again: the repeated
        members must be the ones written before. Appends ``(message_id, members to write)``
        to ``work`` (see `_extract`); returns every member name on disk once it has run.
        """
        repeated = min(len(members), len(before))
        if tuple(members[:repeated]) != before[:repeated]:
            raise IntegrityError(
                f"the gateway resent different attachments for {message_id!r} after a "
                f"truncation: {list(members[:repeated])!r} instead of {list(before[:repeated])!r}"
            )
        self.files.setdefault(message_id, [])
        todo = list(members[len(before) :])
        work.append((message_id, todo))
        return before + tuple(todo)

    async def _extract(
        self,
        archive: FetchedArchive,
        work: list[tuple[str, list[str]]],
        complete: Sequence[str],
        at_risk: dict[str, None],
        omitted: Sequence[str],
    ) -> None:
        """Extract every message of ``work`` in one pass, each into its own directory.

        Each message is all or nothing (`extract_zip_groups`); ``complete`` messages leave
        ``at_risk`` (and ``incomplete``) once they and every message before them are on
        disk, even on failure; ``omitted`` ones stay until `_check_omitted` has seen them.
        """
        todo = [(message_id, names) for message_id, names in work if names]
        done: list[list[ExtractedMember]] = []
        try:
            if todo:
                await self._make_directories([message_id for message_id, _ in todo])
                await extract_zip_groups(
                    archive.path,
                    [
                        ZipGroup(
                            self.dest / safe_message_dirname(message_id),
                            members=names,
                            strip_prefix=message_id + "/",
                        )
                        for message_id, names in todo
                    ],
                    overwrite=self.overwrite,
                    max_total_size=self.max_total_size,
                    done=done,
                )
        finally:
            for (message_id, _), extracted in zip(todo, done, strict=False):
                prefix = len(message_id) + 1
                self.files[message_id].extend(
                    DownloadedFile(path=m.path, name=safe_filename(m.name[prefix:]), size=m.size)
                    for m in extracted
                )
                self.incomplete[message_id].files.extend(m.path for m in extracted)
            written = {message_id for (message_id, _), _ in zip(todo, done, strict=False)}
            pending = {message_id for message_id, _ in todo} - written
            for message_id in complete:
                if message_id in pending:
                    break  # this one failed: it and every message after it stay at risk
                if message_id not in omitted:
                    at_risk.pop(message_id, None)
                    self.incomplete.pop(message_id, None)  # all its files are on disk

    async def _make_directories(self, message_ids: Sequence[str]) -> None:
        """Create the messages' directories, noting the ones made (see `roll_back`)."""
        written = [self.incomplete.setdefault(i, _Written()) for i in message_ids]
        paths = [self.dest / safe_message_dirname(i) for i in message_ids]

        def make() -> None:
            for path, record in zip(paths, written, strict=True):
                ensure_directory(path, record.directories)

        await anyio.to_thread.run_sync(make)

    async def _check_omitted(self, message_ids: Sequence[str], at_risk: dict[str, None]) -> None:
        """Tell a message without attachments from one the archive left out (an error).

        The archive has no folder and no ``.error`` for either, so each is looked up (one
        GET, unless its attachment count is known already). A left-out message the gateway
        may have marked read is marked unread again; its files, if a truncated response
        brought some, are removed.
        """
        for message_id in message_ids:
            try:
                count = await self._attachment_count(message_id)
            except NotFoundError:
                count = -1
            if count == 0:
                self.files[message_id] = []  # nothing to download: a success
                self.incomplete.pop(message_id, None)
            else:
                self.errors[message_id] = (
                    "the gateway does not know this message (it left it out of the archive)"
                    if count < 0
                    else f"the gateway left this message out of the archive although it has "
                    f"{count} attachment(s)"
                )
                self.files.pop(message_id, None)
                self._discard(message_id)
                if self.mark_as_read and count > 0:
                    await self._unmark([message_id])
            at_risk.pop(message_id, None)

    def _discard(self, message_id: str) -> None:
        """Remove what was written of a message that will not be complete.

        Synchronous, so that no cancellation can interrupt it. A file is removed unless it
        may have replaced one of the user's (``overwrite`` into a directory we did not make).
        """
        written = self.incomplete.pop(message_id, None)
        if written is None:
            return
        if not self.overwrite or written.directories:
            directory = self.dest / safe_message_dirname(message_id)
            for path in written.files:
                with contextlib.suppress(OSError):
                    os.unlink(path)
                # and the subdirectories the archive's names made, if nothing else is there
                parent = path.parent
                while parent != directory and directory in parent.parents:
                    with contextlib.suppress(OSError):
                        parent.rmdir()
                    parent = parent.parent
        remove_created_directories(written.directories)

    def roll_back(self) -> None:
        """After a failure: remove every incomplete message, then ``dest`` if we made it."""
        for message_id in list(self.incomplete):
            self._discard(message_id)
        remove_created_directories(self.created)

    async def _fallback(self, message_id: str, start: int, count: int) -> None:
        """Fetch attachments ``start..count-1`` one by one, then mark the message read."""
        directory = self.dest / safe_message_dirname(message_id)
        await self._make_directories([message_id])
        written = self.incomplete[message_id]
        files = self.files.setdefault(message_id, [])
        for index in range(start, count):
            self.requests += 1
            file = await self.session.received.download_attachment(
                message_id,
                directory,
                index=index,
                overwrite=self.overwrite,
                progress=self._progress_for_body(),
            )
            files.append(file)
            written.files.append(file.path)
        self.incomplete.pop(message_id, None)
        if self.mark_as_read:
            await self._mark_read(message_id)

    # -- calls about one message -------------------------------------------------------

    async def _attachment_count(self, message_id: str) -> int:
        if message_id not in self.counts:
            self.requests += 1
            response = await self.session.request("GET", _message_path(message_id))
            message = structure(json_body(response), AS2Message)
            self.counts[message_id] = len(message.attachments)
        return self.counts[message_id]

    async def _mark_read(self, message_id: str) -> None:
        """Mark one message read, once all its files are on disk."""
        self.requests += 1
        await self.session.request("GET", _message_path(message_id), params={"markAsRead": "true"})

    async def _unmark(self, message_ids: list[str]) -> None:
        """Best effort: mark unread messages the gateway may have marked without their files.

        Runs even when the batch is being cancelled, for at most ``_UNMARK_DEADLINE`` s,
        `_UNMARK_CONCURRENCY` calls at a time.
        """
        limiter = anyio.CapacityLimiter(_UNMARK_CONCURRENCY)

        async def unmark(message_id: str) -> None:
            async with limiter:
                self.requests += 1
                try:
                    await self.session.request(
                        "POST", _message_path(message_id) + "/markUnread", idempotent=True
                    )
                except Exception as exc:
                    logger.warning(
                        "batch: could not mark %s unread again after a failed download: %s",
                        message_id,
                        exc,
                    )

        with anyio.CancelScope(shield=True), anyio.move_on_after(_UNMARK_DEADLINE):
            async with anyio.create_task_group() as tg:
                for message_id in message_ids:
                    tg.start_soon(unmark, message_id)

    # -- progress ----------------------------------------------------------------------

    def _progress_for_body(self) -> ProgressCallback | None:
        """A per-body callback that adds the body's bytes to the batch total."""
        report = self.progress
        if report is None:
            return None
        last = 0

        def on_write(done: int, _total: int | None) -> None:
            nonlocal last
            self.received += done - last if done >= last else done  # a refetch starts at 0
            last = done
            report(self.received, None)

        return on_write


def _message_path(message_id: str) -> str:
    return f"/message/received/{quote_id(message_id)}"


def _truncated_members(
    layout: dict[str, BatchFolder], ids: Sequence[str], m: int, i: int
) -> tuple[str, ...]:
    """The members ``0..i`` of message ``m``, checked against the truncation header."""
    folder = layout.get(ids[m])
    members = folder.attachments if folder is not None else ()
    if len(members) < i + 1:
        raise IntegrityError(
            f"X-Batch-Truncation-Index ({m},{i}) says {i + 1} attachment(s) of {ids[m]!r} were "
            f"added, but the archive holds {len(members)}"
        )
    if len(members) > i + 1:
        logger.warning(
            "batch: archive holds %d attachments of %s, the truncation index says %d; "
            "ignoring the rest",
            len(members),
            ids[m],
            i + 1,
        )
    return tuple(members[: i + 1])
