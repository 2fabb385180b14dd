"""The four message folders: received, sent, failed, queued (spec 4.4, 4.5, 4.6).

Each folder has ``list()`` (one page), ``iter()`` (every message, page after page) and
``get()`` (one message). The received folder adds read marks, the queued folder stop and
retry. Every query parameter of spec 4.4 is a typed keyword argument, checked before any
request; message ids are percent-encoded into the path, so ``<a/b@c>`` round-trips.

A listed record that does not fit the model (a missing id, ``"signed": "maybe"``) is
handled as ``on_bad_record`` says. The default, ``"skip"``, logs it at WARNING, counts it
in `Page.bad_records` and goes on: the record stays on the gateway untouched (listing
changes nothing, so nothing is lost), and one broken record cannot stop a drain of every
other message behind it, run after run. ``"raise"`` raises `InvalidRecordError` instead,
for callers that would rather stop.

>>> async for m in s.received.iter(unread_only=True):  # doctest: +SKIP
...     await process(m)
...     await s.received.get(m.as2_message_id, mark_as_read=True)
"""

from __future__ import annotations

import builtins
import operator
import os
from collections.abc import AsyncIterator, Callable, Hashable, Iterable, Mapping
from typing import TYPE_CHECKING, Any

from .._core.bodies import json_body
from ..converter import BadRecordPolicy, check_bad_record_policy, structure, structure_page
from ..files import DEFAULT_MAX_TOTAL_SIZE, ProgressCallback
from ..models import AS2Message, BatchResult, Folder, GenericResponse, Page
from ..session import quote_id
from ._paging import DEFAULT_PREFETCH, Fetched, iterate
from ._params import (
    PartnerTypeArg,
    SortColumn,
    SortDirection,
    bool_param,
    check_id,
    check_text,
    page_length_param,
    page_offset_param,
    partner_type_param,
    sort_col_param,
    sort_dir_param,
    with_query,
)
from .batch import DEFAULT_CONCURRENCY, batch_download
from .batch import mark_read as batch_mark_read
from .downloads import AttachmentDownloads

if TYPE_CHECKING:
    import httpx

    from ..session import Session

__all__ = [
    "ITER_PAGE_LENGTH",
    "FailedFolder",
    "FolderResource",
    "QueuedFolder",
    "ReceivedFolder",
    "SentFolder",
]

#: ``iter()`` asks for pages of this many messages (the most the gateway gives).
ITER_PAGE_LENGTH = 100

Params = dict[str, "str | int | None"]


def _sorting(
    sort_col: SortColumn | str | None,
    sort_dir: SortDirection | str | None,
    partner_type: PartnerTypeArg | None,
) -> Params:
    return {
        "sortCol": None if sort_col is None else sort_col_param(sort_col),
        "sortDir": None if sort_dir is None else sort_dir_param(sort_dir),
        "partnerType": (
            None if partner_type is None else partner_type_param(partner_type).query_value
        ),
    }


def _text(name: str, value: str | None) -> str | None:
    return None if value is None else check_text(name, value)


def _filters(
    partner_as2_id: str | None,
    station_as2_id: str | None,
    as2_message_id: str | None,
    subject: str | None,
) -> Params:
    return {
        "partnerAS2Id": _text("partner_as2_id", partner_as2_id),
        "stationAS2Id": _text("station_as2_id", station_as2_id),
        "as2MessageId": _text("as2_message_id", as2_message_id),
        "subject": _text("subject", subject),
    }


def _unread(unread_only: bool | None) -> str | None:
    return None if unread_only is None else bool_param("unread_only", unread_only)


def _paging(page_offset: int | None, page_length: int | None) -> Params:
    return {
        "pageOffset": None if page_offset is None else page_offset_param(page_offset),
        "pageLength": None if page_length is None else page_length_param(page_length),
    }


def _check_prefetch(prefetch: int) -> int:
    if isinstance(prefetch, bool) or not isinstance(prefetch, int) or prefetch < 0:
        raise ValueError(f"prefetch must be an int, 0 or more, not {prefetch!r}")
    return prefetch


class FolderResource:
    """Operations common to every folder: ``get`` and the machinery of ``list``/``iter``."""

    folder: Folder

    def __init__(self, session: Session) -> None:
        self._session = session

    def __repr__(self) -> str:
        return f"<{type(self).__name__}>"

    @property
    def _path(self) -> str:
        return f"/message/{self.folder.value}"

    def _message_path(self, as2_message_id: str, suffix: str = "") -> str:
        return f"{self._path}/{quote_id(check_id('as2_message_id', as2_message_id))}{suffix}"

    #: What makes a record unique in this folder's listings (a C-level getter: it runs
    #: twice for every record iterated).
    _key: Callable[[AS2Message], Hashable] = operator.attrgetter("as2_message_id")

    async def get(self, as2_message_id: str) -> AS2Message:
        """One message by its AS2 id; `NotFoundError` if the folder does not hold it."""
        path = self._message_path(as2_message_id)
        response = await self._session.request("GET", path)
        return structure(json_body(response), AS2Message, endpoint=f"GET {self._path}/{{id}}")

    async def _list(
        self, params: Mapping[str, str | int | None], on_bad_record: BadRecordPolicy
    ) -> Page[AS2Message]:
        response = await self._session.request("GET", with_query(self._path, params))
        return structure_page(
            json_body(response),
            AS2Message,
            endpoint=f"GET {self._path}",
            on_bad_record=check_bad_record_policy(on_bad_record),
        )

    def _iter(
        self,
        params: Params,
        page_length: int,
        prefetch: int,
        on_bad_record: BadRecordPolicy,
    ) -> AsyncIterator[AS2Message]:
        page_length_param(page_length)
        _check_prefetch(prefetch)
        check_bad_record_policy(on_bad_record)

        async def fetch(page_offset: int, length: int) -> Fetched[AS2Message]:
            page = await self._list(
                {**params, "pageOffset": page_offset, "pageLength": length}, on_bad_record
            )
            return Fetched(
                page.records, len(page.records) + len(page.bad_records), page.total_records
            )

        return iterate(
            fetch,
            page_length=page_length,
            prefetch=prefetch,
            key=self._key,
            endpoint=f"GET {self._path}",
        )

    async def _action(self, as2_message_id: str, action: str) -> GenericResponse:
        response = await self._session.request(
            "POST", self._message_path(as2_message_id, f"/{action}"), idempotent=True
        )
        return GenericResponse(_message_text(response))


def _message_text(response: httpx.Response) -> str:
    try:
        data: Any = json_body(response)
    except ValueError:
        data = None
    if isinstance(data, dict) and isinstance(data.get("message"), str):
        return str(data["message"])
    return response.text


class _FilteredFolder(FolderResource):
    """A folder listed with the common filters of spec 4.4 (all but queued)."""

    async def list(
        self,
        *,
        sort_col: SortColumn | None = None,
        sort_dir: SortDirection | None = None,
        partner_type: PartnerTypeArg | None = None,
        page_offset: int | None = None,
        page_length: int | None = None,
        partner_as2_id: str | None = None,
        station_as2_id: str | None = None,
        as2_message_id: str | None = None,
        subject: str | None = None,
        on_bad_record: BadRecordPolicy = "skip",
    ) -> Page[AS2Message]:
        """One page of the folder.

        ``page_offset`` is a page *number* (0, 1, 2...), ``page_length`` 1 to 100 (gateway
        default 10). Parameters left as None are not sent, so the gateway's defaults apply:
        newest first by ``persistedTimestamp``, production partners. ``sort_col`` is one
        of ``persistedTimestamp``, ``receiverId``, ``senderId``, ``subject`` (snake_case
        accepted); ``partner_type`` a `PartnerType` or ``"production"``/``"test"``.
        ``subject`` matches part of the subject; the ids match exactly.

        >>> page = await s.sent.list(partner_as2_id="RJ_Partner", page_length=50)
        ... # doctest: +SKIP
        >>> page.total_records, [m.as2_message_id for m in page.records]  # doctest: +SKIP
        """
        return await self._list(
            {
                **_sorting(sort_col, sort_dir, partner_type),
                **_paging(page_offset, page_length),
                **_filters(partner_as2_id, station_as2_id, as2_message_id, subject),
            },
            on_bad_record,
        )

    def iter(
        self,
        *,
        sort_col: SortColumn | None = None,
        sort_dir: SortDirection | None = None,
        partner_type: PartnerTypeArg | None = None,
        partner_as2_id: str | None = None,
        station_as2_id: str | None = None,
        as2_message_id: str | None = None,
        subject: str | None = None,
        page_length: int = ITER_PAGE_LENGTH,
        prefetch: int = DEFAULT_PREFETCH,
        on_bad_record: BadRecordPolicy = "skip",
    ) -> AsyncIterator[AS2Message]:
        """Every message of the folder, fetched page by page as the loop goes.

        Takes the filters and sorting of `list`. Up to ``prefetch`` pages are fetched ahead
        concurrently while the folder is not changing. If it changes underneath (new
        messages arrive at the top of the listing) no message is repeated or skipped; see
        the docs' "Iterating a folder" for the exact guarantee.

        >>> async for m in s.sent.iter(partner_as2_id="RJ_Partner"):  # doctest: +SKIP
        ...     print(m.as2_message_id, m.delivery_status)
        """
        params = {
            **_sorting(sort_col, sort_dir, partner_type),
            **_filters(partner_as2_id, station_as2_id, as2_message_id, subject),
        }
        return self._iter(params, page_length, prefetch, on_bad_record)


class ReceivedFolder(_FilteredFolder, AttachmentDownloads):
    """``s.received``: the inbox."""

    folder = Folder.RECEIVED

    async def get(self, as2_message_id: str, *, mark_as_read: bool = False) -> AS2Message:
        """One received message; with ``mark_as_read`` it leaves ``unread_only`` listings."""
        path = with_query(
            self._message_path(as2_message_id),
            {"markAsRead": bool_param("mark_as_read", mark_as_read) if mark_as_read else None},
        )
        response = await self._session.request("GET", path)
        return structure(json_body(response), AS2Message, endpoint=f"GET {self._path}/{{id}}")

    async def list(
        self,
        *,
        sort_col: SortColumn | None = None,
        sort_dir: SortDirection | None = None,
        partner_type: PartnerTypeArg | None = None,
        page_offset: int | None = None,
        page_length: int | None = None,
        partner_as2_id: str | None = None,
        station_as2_id: str | None = None,
        as2_message_id: str | None = None,
        subject: str | None = None,
        unread_only: bool | None = None,
        on_bad_record: BadRecordPolicy = "skip",
    ) -> Page[AS2Message]:
        """One page of the inbox; ``unread_only`` leaves out messages marked read.

        The other parameters are those of `SentFolder.list`.

        >>> page = await s.received.list(unread_only=True, page_length=100)  # doctest: +SKIP
        """
        return await self._list(
            {
                **_sorting(sort_col, sort_dir, partner_type),
                **_paging(page_offset, page_length),
                **_filters(partner_as2_id, station_as2_id, as2_message_id, subject),
                "unreadOnly": None
                if unread_only is None
                else bool_param("unread_only", unread_only),
            },
            on_bad_record,
        )

    def iter(
        self,
        *,
        sort_col: SortColumn | None = None,
        sort_dir: SortDirection | None = None,
        partner_type: PartnerTypeArg | None = None,
        partner_as2_id: str | None = None,
        station_as2_id: str | None = None,
        as2_message_id: str | None = None,
        subject: str | None = None,
        unread_only: bool | None = None,
        page_length: int = ITER_PAGE_LENGTH,
        prefetch: int = DEFAULT_PREFETCH,
        on_bad_record: BadRecordPolicy = "skip",
    ) -> AsyncIterator[AS2Message]:
        """Every message of the inbox, fetched page by page as the loop goes.

        Marking messages read while iterating ``unread_only=True`` is safe: they leave the
        listing, and the iterator makes up for the shift, so none is skipped; messages
        arriving meanwhile do not cause repeats. See the docs' "Iterating a folder".

        >>> async for m in s.received.iter(unread_only=True):  # doctest: +SKIP
        ...     await handle(m)
        ...     await s.received.get(m.as2_message_id, mark_as_read=True)
        """
        params = {
            **_sorting(sort_col, sort_dir, partner_type),
            **_filters(partner_as2_id, station_as2_id, as2_message_id, subject),
            "unreadOnly": _unread(unread_only),
        }
        return self._iter(params, page_length, prefetch, on_bad_record)

    async def mark_unread(self, as2_message_id: str) -> GenericResponse:
        """Make a message marked read show up in ``unread_only`` listings again."""
        return await self._action(as2_message_id, "markUnread")

    async def mark_read(
        self, ids: Iterable[str], *, scratch_dir: str | os.PathLike[str] | None = None
    ) -> builtins.list[str]:
        """Mark many messages read, up to 100 a request; return the ids marked.

        Uses the batch endpoint with ``markAsRead`` (see `batch.mark_read`); ids the gateway
        does not know are left out of the result. For one message,
        ``get(id, mark_as_read=True)`` is the plain way.
        """
        return await batch_mark_read(self._session, ids, scratch_dir=scratch_dir)

    async def batch_download(
        self,
        ids: Iterable[str],
        dest_dir: str | os.PathLike[str],
        *,
        mark_as_read: bool = False,
        concurrency: int = DEFAULT_CONCURRENCY,
        overwrite: bool = False,
        max_total_size: int = DEFAULT_MAX_TOTAL_SIZE,
        progress: ProgressCallback | None = None,
    ) -> BatchResult:
        """Download the attachments of many messages into ``dest_dir/<message-id>/``.

        Any number of ids, 100 a request, resuming after 206 truncations; see
        `batch.batch_download` for the whole contract.

        >>> r = await s.received.batch_download(ids, "inbox/", mark_as_read=True)  # doctest: +SKIP
        >>> r.errors  # doctest: +SKIP
        {}
        """
        return await batch_download(
            self._session,
            ids,
            dest_dir,
            mark_as_read=mark_as_read,
            concurrency=concurrency,
            overwrite=overwrite,
            max_total_size=max_total_size,
            progress=progress,
        )


class SentFolder(_FilteredFolder, AttachmentDownloads):
    """``s.sent``: successfully sent messages."""

    folder = Folder.SENT


class FailedFolder(_FilteredFolder):
    """``s.failed``: failed send attempts.

    The gateway retries a message up to 10 times under the same AS2 id, so the listing may
    hold one id several times: `iter` yields every attempt (told apart by timestamp), and
    `get` returns one of them.
    """

    folder = Folder.FAILED

    _key = operator.attrgetter("as2_message_id", "persisted_timestamp")


class QueuedFolder(FolderResource):
    """``s.queued``: messages waiting to be sent (or retried)."""

    folder = Folder.QUEUED

    async def list(
        self,
        *,
        sort_col: SortColumn | None = None,
        sort_dir: SortDirection | None = None,
        partner_type: PartnerTypeArg | None = None,
        page_offset: int | None = None,
        page_length: int | None = None,
        query: str | None = None,
        on_bad_record: BadRecordPolicy = "skip",
    ) -> Page[AS2Message]:
        """One page of the queue. ``query`` matches a partner, station or message id, or a
        subject (the queue takes it instead of the other folders' four filters).

        Messages being sent at this very moment are missing from the listing (spec 4.4.4).

        >>> page = await s.queued.list(query="<1.2@as2gateway.com>")  # doctest: +SKIP
        """
        return await self._list(
            {
                **_sorting(sort_col, sort_dir, partner_type),
                **_paging(page_offset, page_length),
                "query": _text("query", query),
            },
            on_bad_record,
        )

    def iter(
        self,
        *,
        sort_col: SortColumn | None = None,
        sort_dir: SortDirection | None = None,
        partner_type: PartnerTypeArg | None = None,
        query: str | None = None,
        page_length: int = ITER_PAGE_LENGTH,
        prefetch: int = DEFAULT_PREFETCH,
        on_bad_record: BadRecordPolicy = "skip",
    ) -> AsyncIterator[AS2Message]:
        """Every message of the queue, fetched page by page as the loop goes."""
        params = {**_sorting(sort_col, sort_dir, partner_type), "query": _text("query", query)}
        return self._iter(params, page_length, prefetch, on_bad_record)

    async def stop(self, as2_message_id: str) -> GenericResponse:
        """Stop retrying a queued message (it stays queued until `retry`)."""
        return await self._action(as2_message_id, "stop")

    async def retry(self, as2_message_id: str) -> GenericResponse:
        """Resume retrying a stopped message."""
        return await self._action(as2_message_id, "retry")
