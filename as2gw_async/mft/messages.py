"""The message folders: ``s.inbox`` (received), ``s.outbox`` (sent), ``s.queued``, ``s.failed``.

Listings give ids only, with no total: `iter_ids` pages until a short page (the paging
engine of ``endpoints/_paging.py`` with the MFT stop rule, ``StopRule.SHORT_PAGE``); `iter`
fetches the messages behind the ids concurrently (bounded), never marking them read. Filters the
gateway would silently ignore are refused before any request (`InvalidFilterError`):
with ``partner`` or ``station`` (primary filters) the secondary ``identifier`` and
``subject`` are ignored by the server, and of those two only the first applies.

>>> async for mid in s.inbox.iter_ids(partner="MyPartner"):  # doctest: +SKIP
...     m = await s.inbox.get(mid)            # markAsRead=false: read state kept
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Iterable, Sequence
from typing import TYPE_CHECKING, Literal

import anyio

from .._core.bodies import json_body
from .._core.urls import quote_id
from ..endpoints._paging import Fetched, StopRule, iterate
from ..endpoints._params import (
    bool_param,
    check_id,
    check_text,
    page_length_param,
    page_offset_param,
    sort_dir_param,
)
from ..errors import InvalidFilterError, MalformedResponseError, NotFoundError
from .attachments import AttachmentDownloads
from .models import Message, parse
from .naming import normalise_message

if TYPE_CHECKING:
    from .session import Session

__all__ = [
    "BATCH_DELETE_SIZE",
    "DEFAULT_CONCURRENCY",
    "ITER_PAGE_LENGTH",
    "Folder",
    "Inbox",
    "OutboxFolder",
]

#: ``iter_ids`` asks for pages of this many ids (the most the gateway gives).
ITER_PAGE_LENGTH = 100
#: ``iter`` fetches this many messages at once by default.
DEFAULT_CONCURRENCY = 8
#: A batch delete takes at most this many ids a request.
BATCH_DELETE_SIZE = 100

OutboxKind = Literal["outbox", "queued", "failed"]
_LIST_PATHS = {
    "inbox": "/message/inbox",
    "outbox": "/message/outbox",
    "queued": "/message/outbox/queued",
    "failed": "/message/outbox/failed",
}


def _filters(
    partner: str | None, station: str | None, identifier: str | None, subject: str | None
) -> dict[str, str]:
    """The filter parameters (current names), refusing what the server would ignore."""
    primary = {"partnerIdentifier": partner, "stationIdentifier": station}
    secondary = {"identifier": identifier, "subject": subject}
    for name, value in (*primary.items(), *secondary.items()):
        if value is not None:
            check_text(name, value)
    given_primary = [k for k, v in primary.items() if v is not None]
    given_secondary = [k for k, v in secondary.items() if v is not None]
    if given_primary and given_secondary:
        raise InvalidFilterError(
            f"the gateway ignores {' and '.join(given_secondary)} when "
            f"{' or '.join(given_primary)} is given; filter by one kind, or filter the "
            "results yourself"
        )
    if len(given_secondary) > 1:
        raise InvalidFilterError(
            "the gateway applies only one of identifier and subject (identifier first); "
            "give one of them"
        )
    return {k: v for k, v in {**primary, **secondary}.items() if v is not None}


async def _aiter(ids: Iterable[str] | AsyncIterator[str]) -> AsyncIterator[str]:
    if isinstance(ids, AsyncIterator):
        async for mid in ids:
            yield mid
    else:
        for mid in ids:
            yield mid


class Folder(AttachmentDownloads):
    """What every folder has: ids listed and iterated, messages got and iterated, deletes."""

    #: ``"inbox"`` or ``"outbox"``: the path of one message and of batch deletes.
    box: str
    #: ``"inbox"``, ``"outbox"``, ``"queued"`` or ``"failed"``: the listing.
    kind: str

    def __init__(self, session: Session) -> None:
        self._session = session

    def __repr__(self) -> str:
        return f"<mft {self.kind} folder>"

    # -- listing -----------------------------------------------------------------------------

    def _list_params(
        self,
        *,
        partner: str | None,
        station: str | None,
        identifier: str | None,
        subject: str | None,
        sort_dir: str,
        fetch_all: bool | None,
    ) -> dict[str, str | int]:
        params: dict[str, str | int] = {"service": "as2", "sortDir": sort_dir_param(sort_dir)}
        if fetch_all is None and self.kind == "inbox":
            fetch_all = False  # the gateway's default, sent explicitly
        if fetch_all is not None:
            if self.kind != "inbox":
                raise ValueError("fetch_all is an inbox filter")
            params["fetchAll"] = bool_param("fetch_all", fetch_all)
        params.update(_filters(partner, station, identifier, subject))
        return params

    async def list_ids(
        self,
        *,
        page_offset: int = 0,
        page_length: int = ITER_PAGE_LENGTH,
        partner: str | None = None,
        station: str | None = None,
        identifier: str | None = None,
        subject: str | None = None,
        sort_dir: str = "desc",
        fetch_all: bool | None = None,
    ) -> list[str]:
        """One page of message ids (``page_offset`` is a page number, as in v1);
        ``fetch_all`` only for the inbox (the gateway's default there: false)."""
        params = self._list_params(
            partner=partner,
            station=station,
            identifier=identifier,
            subject=subject,
            sort_dir=sort_dir,
            fetch_all=fetch_all,
        )
        return await self._fetch_ids(params, page_offset_param(page_offset), page_length)

    async def _fetch_ids(
        self, params: dict[str, str | int], page_offset: int, page_length: int
    ) -> list[str]:
        query = {**params, "pageOffset": page_offset, "pageLength": page_length_param(page_length)}
        response = await self._session.request("GET", _LIST_PATHS[self.kind], params=query)
        data = json_body(response)
        ids = data.get("messages") if isinstance(data, dict) else None
        if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
            raise MalformedResponseError(
                f"the listing of {self.kind} holds no list of message ids",
                endpoint=f"GET {_LIST_PATHS[self.kind]}",
                response=response,
            )
        return ids

    async def _iter_ids(
        self, params: dict[str, str | int], page_length: int, prefetch: int
    ) -> AsyncIterator[str]:
        async def fetch(offset: int, length: int) -> Fetched[str]:
            ids = await self._fetch_ids(params, offset, length)
            return Fetched(items=ids, size=len(ids))  # ids only, no total

        async for mid in iterate(
            fetch,
            page_length=page_length_param(page_length),
            prefetch=prefetch,
            key=str,
            endpoint=f"GET {_LIST_PATHS[self.kind]}",
            stop=StopRule.SHORT_PAGE,  # the MFT stop rule: a page shorter than asked is the last
        ):
            yield mid

    def iter_ids(
        self,
        *,
        partner: str | None = None,
        station: str | None = None,
        identifier: str | None = None,
        subject: str | None = None,
        sort_dir: str = "desc",
        page_length: int = ITER_PAGE_LENGTH,
        prefetch: int = 0,
        fetch_all: bool | None = None,
    ) -> AsyncIterator[str]:
        """Every message id of this folder, page after page until a short page.

        Inbox only: ``fetch_all`` (default false, sent explicitly: messages already read
        through the API are left out). Filters are checked before any request
        (`InvalidFilterError`). ``prefetch`` pages are fetched ahead concurrently (0: one
        page at a time).

        The listing has no total, so nothing can correct for it changing: do not mark
        messages read while iterating a ``fetch_all=False`` listing (each one marked
        shifts the next page and one unread message would be skipped). Collect the ids
        first, or use `InboxConsumer`, which does.
        """
        params = self._list_params(
            partner=partner,
            station=station,
            identifier=identifier,
            subject=subject,
            sort_dir=sort_dir,
            fetch_all=fetch_all,
        )
        return self._iter_ids(params, page_length, prefetch)

    def iter(
        self,
        *,
        partner: str | None = None,
        station: str | None = None,
        identifier: str | None = None,
        subject: str | None = None,
        sort_dir: str = "desc",
        page_length: int = ITER_PAGE_LENGTH,
        fetch_all: bool | None = None,
        concurrency: int = DEFAULT_CONCURRENCY,
    ) -> AsyncIterator[Message]:
        """Every message of this folder (``iter_ids`` and its filters), fetched
        ``concurrency`` at a time, never marked read."""
        ids = self.iter_ids(
            partner=partner,
            station=station,
            identifier=identifier,
            subject=subject,
            sort_dir=sort_dir,
            page_length=page_length,
            fetch_all=fetch_all,
        )
        return self.iter_messages(ids, concurrency=concurrency)

    def iter_messages(
        self, ids: Iterable[str] | AsyncIterator[str], *, concurrency: int = DEFAULT_CONCURRENCY
    ) -> AsyncIterator[Message]:
        """The messages behind ``ids`` (never marked read), ``concurrency`` at a time, in
        order; one deleted meanwhile is skipped."""
        if concurrency < 1:
            raise ValueError(f"concurrency must be at least 1, not {concurrency}")
        return self._iter_messages(ids, concurrency)

    async def _iter_messages(
        self, ids: Iterable[str] | AsyncIterator[str], concurrency: int
    ) -> AsyncIterator[Message]:
        """Nothing runs while the caller holds a message."""
        batch: list[str] = []
        async for mid in _aiter(ids):
            batch.append(mid)
            if len(batch) >= concurrency:
                for message in await self._get_many(batch):
                    yield message
                batch = []
        if batch:
            for message in await self._get_many(batch):
                yield message

    async def _get_many(self, ids: Sequence[str]) -> list[Message]:
        found: list[Message | None] = [None] * len(ids)

        async def one(i: int, mid: str) -> None:
            with contextlib.suppress(NotFoundError):  # deleted since it was listed
                found[i] = await self._get(mid, mark_as_read=False)

        async with anyio.create_task_group() as tg:
            for i, mid in enumerate(ids):
                tg.start_soon(one, i, mid)
        return [m for m in found if m is not None]

    # -- one message -----------------------------------------------------------------------

    def _path(self, message_id: str) -> str:
        check_id("message_id", message_id)
        return f"/message/{self.box}/{quote_id(message_id)}"

    async def _get(self, message_id: str, *, mark_as_read: bool | None) -> Message:
        params = (
            {} if mark_as_read is None else {"markAsRead": bool_param("mark_as_read", mark_as_read)}
        )
        response = await self._session.request("GET", self._path(message_id), params=params)
        data = json_body(response)
        body = normalise_message(data) if isinstance(data, dict) else data
        return parse(body, Message, response)

    async def delete(self, message_id: str) -> str:
        """Delete one message; returns the id the gateway deleted."""
        response = await self._session.request("DELETE", self._path(message_id), idempotent=True)
        data = json_body(response)
        deleted = data.get("deleted") if isinstance(data, dict) else None
        return deleted if isinstance(deleted, str) else message_id

    async def delete_many(self, message_ids: Iterable[str]) -> list[str]:
        """Delete any number of messages, 100 a request; returns the ids deleted.

        Ids the gateway did not find are left out of the result (a request that found none
        of its ids is not an error here).
        """
        ids = list(dict.fromkeys(check_id("message_id", m) for m in message_ids))
        deleted: list[str] = []
        for start in range(0, len(ids), BATCH_DELETE_SIZE):
            chunk = ids[start : start + BATCH_DELETE_SIZE]
            try:
                response = await self._session.request(
                    "POST",
                    f"/message/{self.box}/delete",
                    json={"messageIdentifiers": chunk},
                    idempotent=True,  # deleting twice deletes nothing more
                )
            except NotFoundError:
                continue  # "Unable to find messages": none of these exist (any more)
            data = json_body(response)
            done = data.get("deleted") if isinstance(data, dict) else None
            if isinstance(done, list):
                deleted.extend(d for d in done if isinstance(d, str))
        return deleted


class Inbox(Folder):
    """``s.inbox``: received messages. ``get`` never marks a message read unless asked."""

    box = "inbox"
    kind = "inbox"

    async def get(self, message_id: str, *, mark_as_read: bool = False) -> Message:
        """One received message. ``markAsRead`` is always sent (the gateway's default is
        true): false unless ``mark_as_read=True``."""
        return await self._get(message_id, mark_as_read=mark_as_read)

    async def mark_unread(self, message_id: str) -> None:
        """Mark a received message as not read through the API (``fetchAll=false``
        listings show it again)."""
        await self._session.request("POST", self._path(message_id) + "/markUnread", idempotent=True)


class OutboxFolder(Folder):
    """``s.outbox`` (sent), ``s.queued`` and ``s.failed``: listed apart, one message path."""

    box = "outbox"

    def __init__(self, session: Session, kind: OutboxKind) -> None:
        super().__init__(session)
        if kind not in ("outbox", "queued", "failed"):
            raise ValueError(f"unknown outbox folder {kind!r}")
        self.kind = kind

    async def get(self, message_id: str) -> Message:
        """One outbound message (``GET /message/outbox/{id}``: sent, queued or failed)."""
        return await self._get(message_id, mark_as_read=None)
