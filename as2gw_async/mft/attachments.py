"""Attachments and MDNs: presigned storage links, streamed to disk.

The gateway answers ``/attachments`` and ``/mdn`` with links to an object store (S3),
valid for about 10 minutes. Each link is fetched with `BaseSession.stream_url`: a plain GET
to another host, with **no gateway credentials** (no ``Authorization``, no cookies), the
same retries and typed errors. Every body goes through `AtomicFile` (it appears at its
final path only complete, checked against ``Content-Length``, fsynced) under a name made
safe by `safe_filename`, and memory stays flat whatever the size.

A link that expires or is refused mid-run (403) is fetched afresh from the gateway and the
download resumed where it stopped with ``Range`` (``If-Range`` with the ETag, so a
changed object starts again), or restarted when the store ignores ``Range``. A body that
breaks off is retried by the session, and past its retries resumed the same way.
"""

from __future__ import annotations

import functools
import os
import re
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING

import anyio.to_thread
import httpx

from .._core.bodies import json_body
from ..archives import _unique
from ..atomic import AtomicFile, ProgressCallback, _exists_error
from ..endpoints.downloads import write_body
from ..errors import (
    APIConnectionError,
    DeadlineExceededError,
    IntegrityError,
    MalformedResponseError,
    PermissionDeniedError,
)
from ..filenames import (
    ensure_directory,
    resolve_destination,
    safe_filename,
    safe_message_dirname,
)
from ..models import DownloadedFile
from .models import AttachmentLink, parse

if TYPE_CHECKING:
    from .session import Session

__all__ = ["MAX_LINK_REFRESHES", "MAX_RESUMES", "AttachmentDownloads", "download_link"]

#: Fresh links fetched for one file before a refused link is final.
MAX_LINK_REFRESHES = 3
#: Resumes of one file after its body broke off (beyond the session's own retries).
MAX_RESUMES = 5

StrPath = str | os.PathLike[str]
_CONTENT_RANGE = re.compile(r"bytes (\d+)-(\d+)/(\d+|\*)")


class AttachmentDownloads:
    """``download_attachments``, ``download_mdn`` and the links behind them; mixed into
    the folders, which provide ``_session`` and ``box``."""

    _session: Session
    box: str

    def _path(self, message_id: str) -> str:
        raise NotImplementedError

    async def attachment_links(self, message_id: str) -> list[AttachmentLink]:
        """The message's attachments: names and presigned links (valid ~10 minutes)."""
        response = await self._session.request("GET", self._path(message_id) + "/attachments")
        data = json_body(response)
        items = data.get("attachments") if isinstance(data, dict) else None
        if not isinstance(items, list):
            raise MalformedResponseError(
                "the attachments answer holds no list of links",
                endpoint=f"GET /message/{self.box}/{{id}}/attachments",
                response=response,
            )
        return [parse(item, AttachmentLink, response) for item in items]

    async def mdn_link(self, message_id: str) -> str:
        """The presigned link of the message's MDN (valid ~10 minutes)."""
        response = await self._session.request("GET", self._path(message_id) + "/mdn")
        data = json_body(response)
        url = data.get("url") if isinstance(data, dict) else None
        if not isinstance(url, str) or not url:
            raise MalformedResponseError(
                "the MDN answer holds no link",
                endpoint=f"GET /message/{self.box}/{{id}}/mdn",
                response=response,
            )
        return url

    async def download_attachments(
        self,
        message_id: str,
        dest_dir: StrPath,
        *,
        overwrite: bool = False,
        progress: ProgressCallback | None = None,
    ) -> list[DownloadedFile]:
        """Download every attachment of a message into ``dest_dir``, one file each.

        Names are the gateway's passed through `safe_filename` (a hostile name stays inside
        ``dest_dir``); two attachments whose safe names are equal up to case get `` (2)``,
        `` (3)``... (as a zip's members do). An existing file is never replaced unless
        ``overwrite=True`` (`FileExistsError`).

        >>> for f in await s.inbox.download_attachments(mid, "out/"):  # doctest: +SKIP
        ...     print(f.path, f.size)
        """
        links = await self.attachment_links(message_id)
        directory = Path(dest_dir)
        await anyio.to_thread.run_sync(ensure_directory, directory)
        default = f"{safe_message_dirname(message_id)}.attachment"
        used: set[str] = set()
        files: list[DownloadedFile] = []
        for index, link in enumerate(links):
            path = _unique(
                directory, safe_filename(link.name, default=f"{default}-{index}"), used.__contains__
            )
            used.add(str(path).casefold())

            async def fresh(index: int = index) -> str:
                return (await self.attachment_links(message_id))[index].url

            files.append(
                await download_link(
                    self._session,
                    link.url,
                    path,
                    refresh=fresh,
                    name=path.name,
                    overwrite=overwrite,
                    progress=progress,
                )
            )
        return files

    async def download_mdn(
        self,
        message_id: str,
        dest: StrPath,
        *,
        overwrite: bool = False,
        progress: ProgressCallback | None = None,
    ) -> DownloadedFile:
        """Download the message's MDN to ``dest`` (a directory: ``<id>.mdn`` inside it).

        >>> mdn = await s.outbox.download_mdn(mid, "receipts/")  # doctest: +SKIP
        """
        url = await self.mdn_link(message_id)
        name = f"{safe_message_dirname(message_id)}.mdn"
        path = await anyio.to_thread.run_sync(
            functools.partial(resolve_destination, dest, None, default_name=name)
        )
        return await download_link(
            self._session,
            url,
            path,
            refresh=lambda: self.mdn_link(message_id),
            name=path.name,
            overwrite=overwrite,
            progress=progress,
        )


def _refuse_existing(path: Path) -> None:
    """`FileExistsError` before any byte is fetched (the commit checks again, atomically)."""
    if os.path.lexists(path):
        raise _exists_error(path)


async def download_link(
    session: Session,
    url: str,
    path: Path,
    *,
    refresh: Callable[[], Awaitable[str]],
    name: str,
    overwrite: bool = False,
    progress: ProgressCallback | None = None,
) -> DownloadedFile:
    """Stream a presigned link to ``path`` atomically, resuming with fresh links.

    ``refresh()`` asks the gateway for a new link to the same object (after a 403: the link
    expired or was refused). A body that breaks off past the session's retries is resumed
    from the last byte written (``Range``), at most `MAX_RESUMES` times.
    """
    if not overwrite:
        _refuse_existing(path)
    file = AtomicFile(path, overwrite=overwrite, progress=progress)
    state = _Resume()
    refreshes = resumes = 0
    async with file:
        while True:
            headers = state.headers(file.bytes_written)
            try:
                await session.stream_url(url, lambda r: state.consume(r, file), headers=headers)
                break
            except DeadlineExceededError:
                raise  # the time is spent: resuming would only start the clock again
            except PermissionDeniedError:
                refreshes += 1
                if refreshes > MAX_LINK_REFRESHES:
                    raise
                url = await refresh()
            except (APIConnectionError, _Restart):
                resumes += 1
                if resumes > MAX_RESUMES:
                    raise
    return DownloadedFile(
        path=file.path, name=name, size=file.bytes_written, content_type=state.content_type
    )


class _Restart(IntegrityError):
    """The bytes written cannot be continued (the object changed): start again from 0."""

    def __init__(self, message: str) -> None:
        super().__init__(message, retryable=False)  # not the session's retry: ours, at 0


class _Resume:
    """What one file's download knows across requests: total size, ETag, content type."""

    def __init__(self) -> None:
        self.total: int | None = None
        self.etag: str | None = None
        self.content_type: str | None = None

    def headers(self, written: int) -> dict[str, str] | None:
        if written == 0:
            return None
        headers = {"Range": f"bytes={written}-"}
        if self.etag:
            headers["If-Range"] = self.etag
        return headers

    async def consume(self, response: httpx.Response, file: AtomicFile) -> None:
        """Write this response's body at the offset it starts at (0 for a 200)."""
        offset = 0
        total: int | None = None
        if response.status_code == 206:
            match = _CONTENT_RANGE.fullmatch(response.headers.get("content-range", "").strip())
            if match is None:
                raise IntegrityError("a 206 answer without a readable Content-Range")
            offset = int(match.group(1))
            total = None if match.group(3) == "*" else int(match.group(3))
            etag = response.headers.get("etag")
            changed = bool(self.etag and etag and etag != self.etag)
            if changed or offset > file.bytes_written:
                await file.truncate(0)
                self.etag = None
                raise _Restart("the object changed between two links; downloading it again")
        else:
            length = response.headers.get("content-length")
            total = int(length) if length is not None and length.strip().isdigit() else None
        etag = response.headers.get("etag")
        self.etag = etag or self.etag
        self.total = total if total is not None else self.total
        self.content_type = response.headers.get("content-type") or self.content_type
        await file.truncate(offset)  # a restart (200) or a retried range begins again here
        file.expected_size = self.total
        await write_body(response, file)
