"""Attachment, zip and MDN downloads (spec 4.2.1, 4.2.2.1, 4.3), streamed to disk.

`AttachmentDownloads` is mixed into the received and sent folder resources, which provide
``_session`` and ``folder``::

    f = await s.received.download_attachment(msg_id, "out/", index=1)
    fs = await s.sent.download_attachments(msg_id, "out/")

Every body streams in chunks into an `AtomicFile`: it appears at its final path only once
its byte count matches ``Content-Length`` (and, for a zip, every member's CRC checks out),
after an fsync. A short or corrupt body leaves nothing behind; the session then fetches it
again (downloads are idempotent GETs) before giving up with `IntegrityError`.

Overwrite policy: an existing file is never replaced unless ``overwrite=True``; otherwise
`FileExistsError` is raised (before the body is fetched when ``dest`` names the file).

The helpers `save_response` and `fetch_archive` are shared with `batch.py`.
"""

from __future__ import annotations

import errno
import functools
import os
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import anyio
import anyio.lowlevel
import anyio.to_thread
import httpx
from attrs import frozen

from ..archives import DEFAULT_MAX_TOTAL_SIZE, extract_zip, verify_zip
from ..atomic import (
    AtomicFile,
    ProgressCallback,
    sweep_stale_temp_files_once,
)
from ..errors import IntegrityError
from ..filenames import (
    ensure_directory,
    parse_content_disposition,
    remove_created_directories,
    resolve_destination,
    safe_filename,
    safe_message_dirname,
)
from ..models import DownloadedFile, Folder
from ..session import quote_id

if TYPE_CHECKING:
    from ..session import Session

__all__ = [
    "CHUNK_SIZE",
    "SMALL_BODY_MAX",
    "AttachmentDownloads",
    "FetchedArchive",
    "fetch_archive",
    "save_response",
    "write_body",
]

StrPath = str | os.PathLike[str]

#: Kept for compatibility: bodies are no longer re-chunked (see `write_body`); memory use
#: stays at a few transport reads (64 KiB each with httpx) whatever the size.
CHUNK_SIZE = 256 * 1024
#: Bodies whose Content-Length is at most this many bytes are collected in memory and
#: written with one worker-thread call (`AtomicFile.write_bytes`) instead of streamed: with
#: thousands of small files, thread round trips cost more than the bytes. Concurrency times
#: this bounds the extra memory (16 MiB at 64 downloads at once).
SMALL_BODY_MAX = 256 * 1024


class AttachmentDownloads:
    """``download_attachment``, ``download_attachments``, ``download_zip``, ``download_mdn``.

    ``dest`` may be a directory (an existing one, or any path ending with a separator; the
    gateway's file name from ``Content-Disposition`` is then used, sanitised) or a file path.
    ``progress(bytes_done, bytes_total_or_None)`` is called after every chunk received; it
    starts again from zero if the session has to fetch the body again. Bodies of up to
    `SMALL_BODY_MAX` bytes are collected in memory and written once complete (with other
    small files written at the same moment, see `AtomicFile.write_bytes`); bigger ones are
    written chunk by chunk as they arrive.

    Each returns `DownloadedFile`: ``path`` where the file is, ``name`` the gateway's name
    for it passed through `safe_filename` (so never a path), ``size`` in bytes, and
    ``content_type`` as the gateway sent it (None for files extracted from a zip).
    """

    _session: Session
    folder: Folder

    async def download_attachment(
        self,
        as2_message_id: str,
        dest: StrPath,
        index: int | None = None,
        *,
        mark_as_read: bool | None = None,
        overwrite: bool = False,
        progress: ProgressCallback | None = None,
    ) -> DownloadedFile:
        """Download one attachment (the first when ``index`` is None) to ``dest``.

        ``mark_as_read`` is sent as ``markAsRead`` and is only accepted by the received
        folder. The gateway marks the message when it serves the body, before the file is
        on disk: to be sure never to mark a message whose file you do not have, download
        first and then call ``received.get(id, mark_as_read=True)``.

        >>> f = await s.received.download_attachment(msg_id, "out/", index=1)  # doctest: +SKIP
        >>> f.path, f.name, f.size  # doctest: +SKIP
        (PosixPath('out/invoice.xml'), 'invoice.xml', 1024)
        """
        if index is not None and (isinstance(index, bool) or not isinstance(index, int)):
            raise TypeError(f"index must be an int or None, not {index!r}")
        if index is not None and index < 0:
            raise ValueError(f"index is zero-based and cannot be negative: {index}")
        path = self._message_path(as2_message_id) + "/attachments"
        if index is not None:
            path += f"/{index}"
        default = f"{safe_message_dirname(as2_message_id)}.attachment-{index or 0}"
        return await self._download(
            path,
            dest,
            default_name=default,
            params=self._mark_params(mark_as_read),
            overwrite=overwrite,
            progress=progress,
        )

    async def download_zip(
        self,
        as2_message_id: str,
        dest: StrPath,
        *,
        overwrite: bool = False,
        progress: ProgressCallback | None = None,
        max_total_size: int = DEFAULT_MAX_TOTAL_SIZE,
    ) -> DownloadedFile:
        """Download every attachment of a message as the gateway's zip archive, unextracted.

        The archive is checked (structure and every member's CRC, reading at most
        ``max_total_size`` uncompressed bytes) before it is moved into place.

        >>> z = await s.sent.download_zip(msg_id, "out/message.zip")  # doctest: +SKIP
        """
        return await self._download(
            self._message_path(as2_message_id) + "/attachments/all",
            dest,
            default_name=f"{safe_message_dirname(as2_message_id)}.zip",
            overwrite=overwrite,
            progress=progress,
            zip_check_size=max_total_size,
            use_server_name=False,  # the gateway calls every archive attachments.zip
        )

    async def download_attachments(
        self,
        as2_message_id: str,
        dest_dir: StrPath,
        *,
        overwrite: bool = False,
        progress: ProgressCallback | None = None,
        max_total_size: int = DEFAULT_MAX_TOTAL_SIZE,
    ) -> list[DownloadedFile]:
        """Download every attachment of a message (``/attachments/all``) into ``dest_dir``.

        The zip goes to a temporary file in ``dest_dir`` and is extracted with `extract_zip`:
        all or nothing, names sanitised, zip-slip entries, absolute paths and symlinks
        refused, and no more than ``max_total_size`` uncompressed bytes (zip bombs). The
        temporary zip is always removed. ``progress`` reports the zip's bytes.

        >>> for f in await s.received.download_attachments(msg_id, "out/"):  # doctest: +SKIP
        ...     print(f.path, f.size)
        """
        directory = Path(dest_dir)
        async with fetch_archive(
            self._session,
            "GET",
            self._message_path(as2_message_id) + "/attachments/all",
            directory / f"{safe_message_dirname(as2_message_id)}.zip",
            progress=progress,
            max_total_size=max_total_size,
        ) as archive:
            members = await extract_zip(
                archive.path, directory, overwrite=overwrite, max_total_size=max_total_size
            )
        return [
            DownloadedFile(path=m.path, name=safe_filename(m.name), size=m.size) for m in members
        ]

    async def download_mdn(
        self,
        as2_message_id: str,
        dest: StrPath,
        *,
        overwrite: bool = False,
        progress: ProgressCallback | None = None,
    ) -> DownloadedFile:
        """Download the MDN (receipt) of a message to ``dest`` (spec 4.3).

        >>> mdn = await s.sent.download_mdn(msg_id, "receipts/")  # doctest: +SKIP
        """
        return await self._download(
            self._message_path(as2_message_id) + "/mdn",
            dest,
            default_name=f"{safe_message_dirname(as2_message_id)}.mdn",
            overwrite=overwrite,
            progress=progress,
        )

    # -- internals -------------------------------------------------------------------------

    def _message_path(self, as2_message_id: str) -> str:
        if not isinstance(as2_message_id, str) or not as2_message_id:
            raise ValueError(f"an AS2 message id is a non-empty string, not {as2_message_id!r}")
        return f"/message/{Folder(self.folder).value}/{quote_id(as2_message_id)}"

    def _mark_params(self, mark_as_read: bool | None) -> dict[str, str]:
        if mark_as_read is None:
            return {}
        if Folder(self.folder) is not Folder.RECEIVED:
            if mark_as_read:
                raise ValueError("mark_as_read is only accepted for received messages")
            return {}
        return {"markAsRead": "true" if mark_as_read else "false"}

    async def _download(
        self,
        path: str,
        dest: StrPath,
        *,
        default_name: str,
        params: Mapping[str, str] | None = None,
        overwrite: bool,
        progress: ProgressCallback | None,
        zip_check_size: int | None = None,
        use_server_name: bool = True,
    ) -> DownloadedFile:
        if not overwrite:  # when dest names an existing file, refuse before asking
            # Inline: one or two lstat calls cost microseconds, a worker thread ~150 us.
            _refuse_existing_file(dest)
        consume = functools.partial(
            save_response,
            dest=dest,
            default_name=default_name,
            overwrite=overwrite,
            progress=progress,
            zip_check_size=zip_check_size,
            use_server_name=use_server_name,
        )
        return await self._session.stream("GET", path, consume, params=params)


# -- shared with batch.py ------------------------------------------------------------------


def _exists_error(path: Path) -> FileExistsError:
    return FileExistsError(
        errno.EEXIST, "refusing to overwrite an existing file (pass overwrite=True)", str(path)
    )


def _refuse_existing_file(dest: StrPath) -> None:
    if os.path.lexists(dest) and not os.path.isdir(dest):
        raise _exists_error(Path(dest))


def _destination(
    dest: StrPath, server_name: str | None, *, default_name: str, overwrite: bool
) -> Path:
    path = resolve_destination(dest, server_name, default_name=default_name)
    if not overwrite and os.path.lexists(path):
        raise _exists_error(path)  # fail before the body is read; the commit checks again
    return path


def _content_length(response: httpx.Response) -> int | None:
    value = response.headers.get("content-length")
    if value is None:
        return None
    try:
        length = int(value.strip())
    except ValueError:
        raise IntegrityError(f"invalid Content-Length header {value!r}") from None
    if length < 0:
        raise IntegrityError(f"invalid Content-Length header {value!r}")
    return length


def _decoded_length(response: httpx.Response) -> int | None:
    """The body's size on disk when known up front: Content-Length unless it is encoded."""
    encoding = response.headers.get("content-encoding", "identity").strip().lower()
    return _content_length(response) if encoding in ("", "identity") else None


class BodySink(Protocol):
    """Where `write_body` puts the chunks: an open `AtomicFile`, or a `MemoryBody`."""

    async def write(self, chunk: bytes, *, checkpoint: bool = ...) -> None: ...


class MemoryBody:
    """A small body collected in memory, reporting *progress* as chunks arrive."""

    def __init__(self, progress: ProgressCallback | None, total: int | None) -> None:
        self._chunks: list[bytes] = []
        self._size = 0
        self._progress = progress
        self._total = total

    async def write(self, chunk: bytes, *, checkpoint: bool = True) -> None:
        if checkpoint:
            await anyio.lowlevel.checkpoint_if_cancelled()
        self._chunks.append(chunk)
        self._size += len(chunk)
        if self._progress is not None:
            self._progress(self._size, self._total)

    def getvalue(self) -> bytes:
        return self._chunks[0] if len(self._chunks) == 1 else b"".join(self._chunks)


async def write_body(response: httpx.Response, file: BodySink) -> None:
    """Stream ``response``'s body into ``file``, checking it against Content-Length.

    Bytes are decoded if the server used a ``Content-Encoding``; the check is on the bytes
    received, which is what ``Content-Length`` counts. A mismatch raises `IntegrityError`.

    Chunks are written as the transport delivers them (at most 64 KiB with httpx):
    ``aiter_raw()`` for an identity-encoded body (nothing to decode), ``aiter_bytes()``
    without a chunk size otherwise. A chunk size would make httpx copy every piece into a
    re-chunking buffer, which cost ~30% of the client's CPU on large downloads.
    """
    expected = _content_length(response)
    encoding = response.headers.get("content-encoding", "identity").strip().lower()
    chunks = response.aiter_raw() if encoding in ("", "identity") else response.aiter_bytes()
    async for chunk in chunks:
        await file.write(chunk, checkpoint=False)  # the read was a cancellation point
    received = response.num_bytes_downloaded
    if expected is not None and received != expected:
        raise IntegrityError(
            f"incomplete body for {response.request.url.path}: Content-Length is {expected} "
            f"bytes, received {received}"
        )


async def save_response(
    response: httpx.Response,
    *,
    dest: StrPath,
    default_name: str,
    overwrite: bool = False,
    progress: ProgressCallback | None = None,
    zip_check_size: int | None = None,
    use_server_name: bool = True,
) -> DownloadedFile:
    """Write a streaming download response atomically to ``dest``; a `Session.stream` consumer.

    The file name offered in ``Content-Disposition`` is used (sanitised) when ``dest`` is a
    directory and ``use_server_name`` is true; ``default_name`` when there is none or it is
    not wanted. With ``zip_check_size`` the body must be
    a sound zip archive (checked reading at most that many uncompressed bytes). On any error
    or cancellation the temporary file is removed and nothing appears at the final path.
    """
    server_name = (
        parse_content_disposition(response.headers.get("content-disposition"))
        if use_server_name
        else None
    )
    length = _decoded_length(response)
    if length is not None and length <= SMALL_BODY_MAX and zip_check_size is None:
        body = MemoryBody(progress, length)
        await write_body(response, body)
        # The body is already here, so no early check for an existing file: the commit's
        # link() refuses one atomically anyway.
        file = await AtomicFile.write_bytes(
            functools.partial(resolve_destination, dest, server_name, default_name=default_name),
            body.getvalue(),
            overwrite=overwrite,
            expected_size=length,
        )
    else:
        # Two worker-thread calls: choose the path and open the temporary file, then commit
        # (size check, fsync, rename, directory fsync).
        file = await AtomicFile.create(
            functools.partial(
                _destination, dest, server_name, default_name=default_name, overwrite=overwrite
            ),
            overwrite=overwrite,
            expected_size=length,
            progress=progress,
        )
        async with file:
            await write_body(response, file)
            if zip_check_size is not None:
                await verify_zip(await file.seal(), max_total_size=zip_check_size)
    path = file.path
    return DownloadedFile(
        path=path,
        name=safe_filename(server_name, default=path.name),
        size=file.bytes_written,
        content_type=response.headers.get("content-type"),
    )


@frozen
class FetchedArchive:
    """A verified zip body in a temporary file, with the response's status and headers."""

    path: Path
    status_code: int
    headers: httpx.Headers


@asynccontextmanager
async def fetch_archive(
    session: Session,
    method: str,
    path: str,
    beside: Path,
    *,
    params: Mapping[str, str] | None = None,
    json: Any = None,
    progress: ProgressCallback | None = None,
    max_total_size: int = DEFAULT_MAX_TOTAL_SIZE,
    on_response: Callable[[httpx.Response], None] | None = None,
) -> AsyncIterator[FetchedArchive]:
    """Fetch a zip body into a temporary file next to ``beside``; remove it on exit.

    The body is checked against Content-Length and as a zip archive (every CRC) inside the
    session's consumer, so a short or corrupt archive is fetched again when the call is
    idempotent (the call is made with ``idempotent=True``: both uses, an ``/attachments/all``
    GET and the batch POST, only read). The temporary file is private (mode 0600) and named
    like the ones `AtomicFile` leaves behind on a crash: the first fetch into a directory in
    a process removes those that are stale (`sweep_stale_temp_files_once`).
    ``on_response`` is called with every successful response, before its body is read.
    The directories made for ``beside`` are removed again when the body (or whatever the
    caller does with the archive) fails, so a failure leaves no empty directory behind.
    """
    temps: list[AtomicFile] = []

    async def consume(response: httpx.Response) -> FetchedArchive:
        if on_response is not None:
            on_response(response)
        file = AtomicFile(
            beside,
            expected_size=_decoded_length(response),
            progress=progress,
            fsync=False,
            mode=0o600,  # scratch: nobody else's business, and thrown away
        )
        temps.append(file)
        await file.open()
        try:
            await write_body(response, file)
            temp = await file.seal()
            await verify_zip(temp, max_total_size=max_total_size)
        except BaseException:
            file.abort()
            raise
        return FetchedArchive(temp, response.status_code, response.headers)

    created: list[Path] = []  # directories made here, removed again if the caller fails

    def prepare() -> None:
        ensure_directory(beside.parent, created)
        sweep_stale_temp_files_once(beside.parent)  # what a crashed run left there

    await anyio.to_thread.run_sync(prepare)
    succeeded = False
    try:
        yield await session.stream(method, path, consume, params=params, json=json, idempotent=True)
        succeeded = True
    finally:
        for file in temps:
            file.abort()
        if not succeeded:
            remove_created_directories(created)
